//! The optional TOTP second factor (RFC 6238: SHA-1, 6 digits, 30-second steps, one step of
//! clock skew either way — what every authenticator app speaks).
//!
//! The same factor serves platform users (by id) and Message Center accounts (by address):
//! see [`Owner`]. The secret is sealed under the master key, bound to its owner. Enrolment is two steps
//! (begin, then confirm with a code) so nobody locks themselves out with an authenticator
//! that never worked. A code is accepted once: its time step must be newer than the last
//! accepted one.

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use totp_rs::{Algorithm, Builder, Secret, Totp};

use super::StoreError;
use crate::db::{Arg, Db, now_ms};
use crate::secrets::{SealingKey, SecretError};

const STEP: u64 = 30;

/// Whose second factor it is.
#[derive(Clone, Copy, Debug)]
pub enum Owner<'a> {
    /// A platform user (sender, admin), by id.
    User(i64),
    /// A Message Center account (recipients, and senders reading there), by address.
    Recipient(&'a str),
}

impl Owner<'_> {
    fn purpose(self) -> String {
        match self {
            Owner::User(id) => format!("totp secret:{id}"),
            Owner::Recipient(email) => format!("recipient totp secret:{email}"),
        }
    }
}

impl<'a> Owner<'a> {
    /// The value of the owner's key column.
    fn key(self) -> Arg<'a> {
        match self {
            Owner::User(id) => id.into(),
            Owner::Recipient(email) => email.into(),
        }
    }
}

/// The statement `$a TABLE $b KEY $c` for `$owner`'s row: `users`/`id` for platform users,
/// `recipient_accounts`/`email` for Center accounts. Each is a fixed string, one per owner.
macro_rules! owner_sql {
    ($owner:expr, $a:literal, TABLE, $b:literal, KEY, $c:literal) => {
        match $owner {
            Owner::User(_) => concat!($a, "users", $b, "id", $c),
            Owner::Recipient(_) => concat!($a, "recipient_accounts", $b, "email", $c),
        }
    };
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
    owner: Owner<'_>,
    email: &str,
) -> Result<Option<Enrolment>, StoreError> {
    if enabled(db, owner).await? {
        return Ok(None);
    }
    let mut raw = zeroize::Zeroizing::new([0u8; 20]);
    SystemRandom::new().fill(&mut raw[..]).map_err(|_| SecretError::Random)?;
    let t = totp(&raw[..], email)?;
    let sealed = master.seal(&owner.purpose(), &raw[..])?;
    let sql = owner_sql!(
        owner,
        "UPDATE ",
        TABLE,
        " SET totp_secret_enc = $1, totp_enabled = 0, totp_last_step = 0 WHERE ",
        KEY,
        " = $2"
    );
    db.execute(sql, &[sealed[..].into(), owner.key()]).await?;
    let otpauth_url = t.to_url().map_err(|e| StoreError::Corrupt(format!("TOTP: {e}")))?;
    Ok(Some(Enrolment { secret_base32: t.secret().to_base32(), otpauth_url }))
}

/// The enrolment begun and not yet confirmed, if any: the same key again (a mistyped first
/// code must not make the user add a new key).
pub async fn pending(
    db: &Db,
    master: &SealingKey,
    owner: Owner<'_>,
    email: &str,
) -> Result<Option<Enrolment>, StoreError> {
    let sql = owner_sql!(
        owner,
        "SELECT totp_secret_enc, totp_enabled FROM ",
        TABLE,
        " WHERE ",
        KEY,
        " = $1"
    );
    let row: Option<(Option<Vec<u8>>, i64)> = db.fetch_optional(sql, &[owner.key()]).await?;
    let Some((Some(sealed), 0)) = row else { return Ok(None) };
    let raw = master.open(&owner.purpose(), &sealed)?;
    let t = totp(&raw[..], email)?;
    let otpauth_url = t.to_url().map_err(|e| StoreError::Corrupt(format!("TOTP: {e}")))?;
    Ok(Some(Enrolment { secret_base32: t.secret().to_base32(), otpauth_url }))
}

/// Checks `code` for the user and, if it is right and not replayed, records its step.
/// Returns whether it was accepted.
pub async fn check(
    db: &Db,
    master: &SealingKey,
    owner: Owner<'_>,
    code: &str,
) -> Result<bool, StoreError> {
    let sql = owner_sql!(
        owner,
        "SELECT totp_secret_enc, totp_last_step FROM ",
        TABLE,
        " WHERE ",
        KEY,
        " = $1"
    );
    let row: Option<(Option<Vec<u8>>, i64)> = db.fetch_optional(sql, &[owner.key()]).await?;
    let Some((sealed, last_step)) = row else { return Ok(false) };
    let Some(sealed) = sealed else { return Ok(false) };
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(false);
    }
    let raw = master.open(&owner.purpose(), &sealed)?;
    let Some(step) = totp(&raw[..], "")?.check(code, (now_ms() / 1000) as u64) else {
        return Ok(false);
    };
    let step = step as i64;
    if step <= last_step {
        return Ok(false); // a code already used (replayed), or older than one that was
    }
    // Only one request may spend this step.
    let sql = owner_sql!(
        owner,
        "UPDATE ",
        TABLE,
        " SET totp_last_step = $1 WHERE ",
        KEY,
        " = $2 AND totp_last_step < $1"
    );
    Ok(db.execute(sql, &[step.into(), owner.key()]).await? == 1)
}

/// Turns the factor on (after a confirmed code) or off.
pub async fn set_enabled(db: &Db, owner: Owner<'_>, enabled: bool) -> Result<(), StoreError> {
    let sql = if enabled {
        owner_sql!(owner, "UPDATE ", TABLE, " SET totp_enabled = 1 WHERE ", KEY, " = $1")
    } else {
        owner_sql!(
            owner,
            "UPDATE ",
            TABLE,
            " SET totp_enabled = 0, totp_secret_enc = NULL, totp_last_step = 0 WHERE ",
            KEY,
            " = $1"
        )
    };
    db.execute(sql, &[owner.key()]).await?;
    Ok(())
}

/// Whether sign-in needs a code for this owner (false for an unknown one).
pub async fn enabled(db: &Db, owner: Owner<'_>) -> Result<bool, StoreError> {
    let sql = owner_sql!(owner, "SELECT totp_enabled FROM ", TABLE, " WHERE ", KEY, " = $1");
    let row: Option<(i64,)> = db.fetch_optional(sql, &[owner.key()]).await?;
    Ok(row.is_some_and(|(e,)| e == 1))
}

/// The code for a base32 secret, `offset_secs` from now (for tests and tools).
pub fn code_at(secret_base32: &str, offset_secs: i64) -> Result<String, StoreError> {
    let secret = Secret::try_from_base32(secret_base32)
        .map_err(|e| StoreError::Corrupt(format!("TOTP secret: {e:?}")))?;
    let time = (now_ms() / 1000 + offset_secs).max(0) as u64;
    Ok(totp(secret.as_ref(), "")?.generate(time).to_string())
}
