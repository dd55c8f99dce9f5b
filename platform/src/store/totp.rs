//! The optional TOTP second factor (RFC 6238: SHA-1, 6 digits, 30-second steps, one step of
//! clock skew either way — what every authenticator app speaks).
//!
//! The secret is sealed under the master key, bound to its user. Enrolment is two steps
//! (begin, then confirm with a code) so nobody locks themselves out with an authenticator
//! that never worked. A code is accepted once: its time step must be newer than the last
//! accepted one.

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use totp_rs::{Algorithm, Builder, Secret, Totp};

use super::StoreError;
use crate::db::{Db, now_ms};
use crate::secrets::{SealingKey, SecretError};

const STEP: u64 = 30;

fn purpose(user_id: i64) -> String {
    format!("totp secret:{user_id}")
}

fn totp(secret: &[u8], account: &str) -> Result<Totp, StoreError> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(STEP)
        .with_secret(Secret::new(secret.to_vec().into_boxed_slice()))
        .with_issuer(Some("Sealpost"))
        .with_account_name(if account.is_empty() { "sealpost" } else { account })
        .build()
        .map_err(|e| StoreError::Corrupt(format!("TOTP: {e}")))
}

/// A secret being enrolled: what the user types or scans into their authenticator.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Enrolment {
    /// The secret, base32.
    pub secret_base32: String,
    /// `otpauth://` URL for a QR code.
    pub otpauth_url: String,
}

/// Starts (or restarts) enrolment: a new secret, not yet required at sign-in.
pub async fn begin(
    db: &Db,
    master: &SealingKey,
    user_id: i64,
    email: &str,
) -> Result<Option<Enrolment>, StoreError> {
    let (enabled,): (i64,) = sqlx::query_as("SELECT totp_enabled FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_one(&db.pool)
        .await?;
    if enabled == 1 {
        return Ok(None);
    }
    let mut raw = zeroize::Zeroizing::new([0u8; 20]);
    SystemRandom::new().fill(&mut raw[..]).map_err(|_| SecretError::Random)?;
    let t = totp(&raw[..], email)?;
    let sealed = master.seal(&purpose(user_id), &raw[..])?;
    sqlx::query(
        "UPDATE users SET totp_secret_enc = $1, totp_enabled = 0, totp_last_step = 0 WHERE id = $2",
    )
    .bind(sealed)
    .bind(user_id)
    .execute(&db.pool)
    .await?;
    let otpauth_url = t.to_url().map_err(|e| StoreError::Corrupt(format!("TOTP: {e}")))?;
    Ok(Some(Enrolment { secret_base32: t.secret().to_base32(), otpauth_url }))
}

/// Checks `code` for the user and, if it is right and not replayed, records its step.
/// Returns whether it was accepted.
pub async fn check(
    db: &Db,
    master: &SealingKey,
    user_id: i64,
    code: &str,
) -> Result<bool, StoreError> {
    let (sealed, last_step): (Option<Vec<u8>>, i64) =
        sqlx::query_as("SELECT totp_secret_enc, totp_last_step FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_one(&db.pool)
            .await?;
    let Some(sealed) = sealed else { return Ok(false) };
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(false);
    }
    let raw = master.open(&purpose(user_id), &sealed)?;
    let Some(step) = totp(&raw[..], "")?.check(code, (now_ms() / 1000) as u64) else {
        return Ok(false);
    };
    let step = step as i64;
    if step <= last_step {
        return Ok(false); // a code already used (replayed), or older than one that was
    }
    // Only one request may spend this step.
    let r =
        sqlx::query("UPDATE users SET totp_last_step = $1 WHERE id = $2 AND totp_last_step < $3")
            .bind(step)
            .bind(user_id)
            .bind(step)
            .execute(&db.pool)
            .await?;
    Ok(r.rows_affected() == 1)
}

/// Turns the factor on (after a confirmed code) or off.
pub async fn set_enabled(db: &Db, user_id: i64, enabled: bool) -> Result<(), StoreError> {
    let sql = if enabled {
        "UPDATE users SET totp_enabled = 1 WHERE id = $1"
    } else {
        "UPDATE users SET totp_enabled = 0, totp_secret_enc = NULL, totp_last_step = 0 WHERE id = $1"
    };
    sqlx::query(sql).bind(user_id).execute(&db.pool).await?;
    Ok(())
}

/// Whether sign-in needs a code for this user.
pub async fn enabled(db: &Db, user_id: i64) -> Result<bool, StoreError> {
    let (e,): (i64,) = sqlx::query_as("SELECT totp_enabled FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_one(&db.pool)
        .await?;
    Ok(e == 1)
}

/// The code for a base32 secret, `offset_secs` from now (for tests and tools).
pub fn code_at(secret_base32: &str, offset_secs: i64) -> Result<String, StoreError> {
    let secret = Secret::try_from_base32(secret_base32)
        .map_err(|e| StoreError::Corrupt(format!("TOTP secret: {e:?}")))?;
    let time = (now_ms() / 1000 + offset_secs).max(0) as u64;
    Ok(totp(secret.as_ref(), "")?.generate(time).to_string())
}
