//! What the Secure Message Center keeps: one-time codes that prove a recipient's mailbox,
//! recipients' browser sessions, and the passwords recipients set for later visits. None is
//! stored in a usable form: codes and session tokens as SHA-256 hashes compared in constant
//! time, passwords as argon2id hashes.

use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::digest;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine as _;
use zeroize::Zeroizing;

use super::StoreError;
use super::accounts::{DUMMY_HASH, LOCKOUT_MS, MAX_FAILED_LOGINS, hash_password, verify_password};
use crate::db::{Db, now_ms};
use crate::secrets::SecretError;

/// How long a one-time code is valid.
pub const CODE_TTL_MS: i64 = 10 * 60 * 1000;
/// Wrong entries a code survives before it is used up.
pub const CODE_TRIES: i64 = 5;
/// Codes that may be requested per message and address per hour.
pub const CODES_PER_HOUR: i64 = 5;
/// A session ends this long after it started …
pub const SESSION_TTL_MS: i64 = 8 * 60 * 60 * 1000;
/// … or after this long without a request.
pub const SESSION_IDLE_MS: i64 = 30 * 60 * 1000;

fn sha256(parts: &[&[u8]]) -> Vec<u8> {
    let mut ctx = digest::Context::new(&digest::SHA256);
    for p in parts {
        ctx.update(p);
    }
    ctx.finish().as_ref().to_vec()
}

fn random<const N: usize>() -> Result<Zeroizing<[u8; N]>, SecretError> {
    let mut b = Zeroizing::new([0u8; N]);
    SystemRandom::new().fill(&mut b[..]).map_err(|_| SecretError::Random)?;
    Ok(b)
}

/// What a one-time code proves the mailbox for.
#[derive(Clone, Debug)]
pub enum CodeScope<'a> {
    /// Opening this message.
    Message(&'a str),
    /// Choosing a new password.
    PasswordReset,
}

impl CodeScope<'_> {
    fn key(&self) -> String {
        match self {
            CodeScope::Message(id) => format!("message:{id}"),
            CodeScope::PasswordReset => "password-reset".into(),
        }
    }
}

/// A new code for `email` in `scope`, or `None` when too many were asked for in the last
/// hour. The code is returned once, to be mailed.
pub async fn new_code(
    db: &Db,
    scope: CodeScope<'_>,
    email: &str,
) -> Result<Option<Zeroizing<String>>, StoreError> {
    let now = now_ms();
    let key = scope.key();
    let sql =
        "SELECT COUNT(*) FROM one_time_codes WHERE scope = $1 AND email = $2 AND created_at > $3";
    let (recent,): (i64,) =
        db.fetch_one(sql, &[key.as_str().into(), email.into(), (now - 3_600_000).into()]).await?;
    if recent >= CODES_PER_HOUR {
        return Ok(None);
    }
    // Uniform over 000000..999999: reject the top of the u32 range that would bias it.
    let code = loop {
        let r = u32::from_be_bytes(*random::<4>()?);
        if r < 4_294_000_000 {
            break Zeroizing::new(format!("{:06}", r % 1_000_000));
        }
    };
    let salt = random::<16>()?;
    let sql = "INSERT INTO one_time_codes (scope, email, code_hash, salt, expires_at, created_at) \
               VALUES ($1, $2, $3, $4, $5, $6)";
    let hash = sha256(&[&salt[..], code.as_bytes()]);
    let args = [
        key.as_str().into(),
        email.into(),
        hash.as_slice().into(),
        salt[..].into(),
        (now + CODE_TTL_MS).into(),
        now.into(),
    ];
    db.execute(sql, &args).await?;
    Ok(Some(code))
}

/// Whether `code` is the latest unexpired, unused code for `email` in `scope`; a match uses
/// it up, a miss counts against it.
pub async fn check_code(
    db: &Db,
    scope: CodeScope<'_>,
    email: &str,
    code: &str,
) -> Result<bool, StoreError> {
    let now = now_ms();
    let sql = "SELECT id, code_hash, salt, attempts FROM one_time_codes \
               WHERE scope = $1 AND email = $2 AND used_at IS NULL AND expires_at > $3 \
               ORDER BY id DESC LIMIT 1";
    let key = scope.key();
    let row: Option<(i64, Vec<u8>, Vec<u8>, i64)> =
        db.fetch_optional(sql, &[key.as_str().into(), email.into(), now.into()]).await?;
    let Some((id, hash, salt, attempts)) = row else {
        return Ok(false);
    };
    if attempts >= CODE_TRIES {
        return Ok(false);
    }
    let given = sha256(&[&salt, code.trim().as_bytes()]);
    if verify_slices_are_equal(&given, &hash).is_ok() {
        let sql = "UPDATE one_time_codes SET used_at = $1 \
                   WHERE id = $2 AND used_at IS NULL AND attempts < $3";
        return Ok(db.execute(sql, &[now.into(), id.into(), CODE_TRIES.into()]).await? == 1);
    }
    let sql = "UPDATE one_time_codes SET attempts = attempts + 1 WHERE id = $1";
    db.execute(sql, &[id.into()]).await?;
    Ok(false)
}

/// Starts a session for `email`; returns the cookie's token (256 random bits, base64url).
pub async fn new_session(db: &Db, email: &str) -> Result<Zeroizing<String>, StoreError> {
    let token = Zeroizing::new(
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&random::<32>()?[..]),
    );
    let now = now_ms();
    let sql = "INSERT INTO web_sessions (token_hash, email, created_at, last_seen_at, expires_at) \
               VALUES ($1, $2, $3, $4, $5)";
    let hash = sha256(&[token.as_bytes()]);
    let args = [
        hash.as_slice().into(),
        email.into(),
        now.into(),
        now.into(),
        (now + SESSION_TTL_MS).into(),
    ];
    db.execute(sql, &args).await?;
    Ok(token)
}

/// The address a live session belongs to (and keeps it alive), or `None`.
pub async fn session(db: &Db, token: &str) -> Result<Option<String>, StoreError> {
    if token.is_empty() || token.len() > 64 {
        return Ok(None);
    }
    let now = now_ms();
    let sql = "SELECT id, email FROM web_sessions \
               WHERE token_hash = $1 AND expires_at > $2 AND last_seen_at > $3";
    let hash = sha256(&[token.as_bytes()]);
    let args = [hash.as_slice().into(), now.into(), (now - SESSION_IDLE_MS).into()];
    let row: Option<(i64, String)> = db.fetch_optional(sql, &args).await?;
    let Some((id, email)) = row else {
        return Ok(None);
    };
    db.execute("UPDATE web_sessions SET last_seen_at = $1 WHERE id = $2", &[now.into(), id.into()])
        .await?;
    Ok(Some(email))
}

/// Ends a session.
pub async fn end_session(db: &Db, token: &str) -> Result<(), StoreError> {
    let hash = sha256(&[token.as_bytes()]);
    db.execute("DELETE FROM web_sessions WHERE token_hash = $1", &[hash.as_slice().into()]).await?;
    Ok(())
}

/// Ends every session of `email` (after a password reset).
pub async fn end_sessions_of(db: &Db, email: &str) -> Result<(), StoreError> {
    db.execute("DELETE FROM web_sessions WHERE email = $1", &[email.into()]).await?;
    Ok(())
}

/// Sets (or replaces) the password of the recipient `email`.
pub async fn set_password(
    db: &Db,
    email: &str,
    password: Zeroizing<String>,
) -> Result<(), StoreError> {
    let hash = hash_password(password).await?;
    let now = now_ms();
    let sql = "INSERT INTO recipient_accounts (email, password_hash, created_at, updated_at) \
               VALUES ($1, $2, $3, $4) ON CONFLICT (email) DO UPDATE SET \
               password_hash = excluded.password_hash, failed_logins = 0, locked_until = 0, \
               updated_at = excluded.updated_at";
    db.execute(sql, &[email.into(), hash.as_str().into(), now.into(), now.into()]).await?;
    Ok(())
}

/// Whether the recipient `email` has set a password.
pub async fn has_password(db: &Db, email: &str) -> Result<bool, StoreError> {
    let sql = "SELECT id FROM recipient_accounts WHERE email = $1";
    let row: Option<(i64,)> = db.fetch_optional(sql, &[email.into()]).await?;
    Ok(row.is_some())
}

/// Why a recipient's password sign-in was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum SignInRefused {
    /// Wrong address or password (deliberately not saying which).
    BadCredentials,
    /// Too many failures; locked until this time (ms).
    Locked(i64),
}

/// Checks a recipient's password, counting failures and locking the account after
/// `MAX_FAILED_LOGINS`; unknown addresses take the same time as known ones.
pub async fn check_password(
    db: &Db,
    email: &str,
    password: Zeroizing<String>,
) -> Result<Result<(), SignInRefused>, StoreError> {
    let sql = "SELECT id, password_hash, failed_logins, locked_until \
               FROM recipient_accounts WHERE email = $1";
    let row: Option<(i64, String, i64, i64)> = db.fetch_optional(sql, &[email.into()]).await?;
    let Some((id, hash, failed, locked_until)) = row else {
        let _ = verify_password(DUMMY_HASH.to_string(), password).await;
        return Ok(Err(SignInRefused::BadCredentials));
    };
    let now = now_ms();
    if locked_until > now {
        return Ok(Err(SignInRefused::Locked(locked_until)));
    }
    if verify_password(hash, password).await {
        let sql = "UPDATE recipient_accounts SET failed_logins = 0, locked_until = 0 WHERE id = $1";
        db.execute(sql, &[id.into()]).await?;
        return Ok(Ok(()));
    }
    let failed = failed + 1;
    let lock = if failed >= MAX_FAILED_LOGINS { now + LOCKOUT_MS } else { 0 };
    let sql = "UPDATE recipient_accounts SET failed_logins = $1, locked_until = $2 WHERE id = $3";
    let failures = if lock > 0 { 0 } else { failed };
    db.execute(sql, &[failures.into(), lock.into(), id.into()]).await?;
    Ok(Err(if lock > 0 { SignInRefused::Locked(lock) } else { SignInRefused::BadCredentials }))
}
