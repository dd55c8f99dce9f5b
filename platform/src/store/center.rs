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
use super::accounts::{DUMMY_HASH, hash_password, verify_password};
use super::notifications::{self, Outgoing};
use crate::db::{Db, now_ms};
use crate::secrets::{SealingKey, SecretError};

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

pub(super) fn sha256(parts: &[&[u8]]) -> Vec<u8> {
    let mut ctx = digest::Context::new(&digest::SHA256);
    for p in parts {
        ctx.update(p);
    }
    ctx.finish().as_ref().to_vec()
}

pub(super) fn random<const N: usize>() -> Result<Zeroizing<[u8; N]>, SecretError> {
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

/// Asks for a new code for `email` in `scope`: false when too many were asked for in the
/// last hour. With `mail`, the code goes out in the mail it makes, queued in the same
/// transaction; without, no mail goes out (the address did not receive the message, or has
/// no account) but the request is counted and stored exactly the same, so answers, limits
/// and time tell no one which addresses are real.
pub async fn new_code(
    db: &Db,
    master: &SealingKey,
    scope: CodeScope<'_>,
    email: &str,
    mail: Option<&(dyn Fn(&str) -> Outgoing + Sync)>,
) -> Result<bool, StoreError> {
    // Uniform over 000000..999999: reject the top of the u32 range that would bias it.
    let code = loop {
        let r = u32::from_be_bytes(*random::<4>()?);
        if r < 4_294_000_000 {
            break Zeroizing::new(format!("{:06}", r % 1_000_000));
        }
    };
    let salt = random::<16>()?;
    let hash = sha256(&[&salt[..], code.as_bytes()]);
    let mail = mail.map(|make| notifications::seal(master, &make(code.as_str()))).transpose()?;
    let (key, email) = (scope.key(), email.to_owned());
    db.write(move |mut tx| {
        Box::pin(async move {
            let now = now_ms();
            let sql = "SELECT COUNT(*) FROM one_time_codes \
                       WHERE scope = $1 AND email = $2 AND created_at > $3";
            let args = [key.as_str().into(), email.as_str().into(), (now - 3_600_000).into()];
            let (recent,): (i64,) = crate::db::one_row(tx.fetch_optional(sql, &args).await?)?;
            if recent >= CODES_PER_HOUR {
                return Ok(false);
            }
            let sql = "INSERT INTO one_time_codes \
                       (scope, email, code_hash, salt, expires_at, created_at) \
                       VALUES ($1, $2, $3, $4, $5, $6)";
            let args = [
                key.as_str().into(),
                email.as_str().into(),
                hash.as_slice().into(),
                salt[..].into(),
                (now + CODE_TTL_MS).into(),
                now.into(),
            ];
            tx.execute(sql, &args).await?;
            if let Some(mail) = &mail {
                notifications::enqueue_in(&mut tx, mail).await?;
            }
            Ok(true)
        })
    })
    .await
}

/// Forgets one-time codes that expired before `before` (ms).
pub async fn forget_codes_expired_before(db: &Db, before: i64) -> Result<(), StoreError> {
    db.execute("DELETE FROM one_time_codes WHERE expires_at < $1", &[before.into()]).await?;
    Ok(())
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

/// How a session's holder proved who they are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proof {
    /// A one-time code mailed to the address.
    Code,
    /// The password (and authenticator code, where turned on).
    Password,
}

impl Proof {
    fn as_str(self) -> &'static str {
        match self {
            Proof::Code => "code",
            Proof::Password => "password",
        }
    }
}

/// A live session.
#[derive(Clone, Debug)]
pub struct Session {
    /// Whose it is.
    pub email: String,
    /// How it began.
    pub proof: Proof,
    /// When it began, ms.
    pub created_at: i64,
}

impl Session {
    /// Whether a mailed code began it within the last [`CODE_TTL_MS`]: fresh proof of the
    /// mailbox, which may choose a first password.
    pub fn freshly_proved_by_code(&self) -> bool {
        self.proof == Proof::Code && now_ms() - self.created_at <= CODE_TTL_MS
    }
}

/// Starts a session for `email`, proved by `proof`; returns the cookie's token (256 random
/// bits, base64url).
pub async fn new_session(
    db: &Db,
    email: &str,
    proof: Proof,
) -> Result<Zeroizing<String>, StoreError> {
    let token = Zeroizing::new(
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&random::<32>()?[..]),
    );
    let now = now_ms();
    let sql = "INSERT INTO web_sessions \
               (token_hash, email, created_at, last_seen_at, expires_at, proof) \
               VALUES ($1, $2, $3, $4, $5, $6)";
    let hash = sha256(&[token.as_bytes()]);
    let args = [
        hash.as_slice().into(),
        email.into(),
        now.into(),
        now.into(),
        (now + SESSION_TTL_MS).into(),
        proof.as_str().into(),
    ];
    db.execute(sql, &args).await?;
    Ok(token)
}

/// The live session of `token` (and keeps it alive), or `None`.
pub async fn session(db: &Db, token: &str) -> Result<Option<Session>, StoreError> {
    if token.is_empty() || token.len() > 64 {
        return Ok(None);
    }
    let now = now_ms();
    // A member their organisation disabled has no Message Center either (their address is
    // the organisation's).
    let sql = "SELECT id, email, proof, created_at FROM web_sessions \
               WHERE token_hash = $1 AND expires_at > $2 AND last_seen_at > $3 \
               AND NOT EXISTS (SELECT 1 FROM users u \
                   WHERE u.email = web_sessions.email AND u.disabled_at IS NOT NULL)";
    let hash = sha256(&[token.as_bytes()]);
    let args = [hash.as_slice().into(), now.into(), (now - SESSION_IDLE_MS).into()];
    let row: Option<(i64, String, String, i64)> = db.fetch_optional(sql, &args).await?;
    let Some((id, email, proof, created_at)) = row else {
        return Ok(None);
    };
    db.execute("UPDATE web_sessions SET last_seen_at = $1 WHERE id = $2", &[now.into(), id.into()])
        .await?;
    let proof = if proof == "code" { Proof::Code } else { Proof::Password };
    Ok(Some(Session { email, proof, created_at }))
}

/// Ends a session.
pub async fn end_session(db: &Db, token: &str) -> Result<(), StoreError> {
    let hash = sha256(&[token.as_bytes()]);
    db.execute("DELETE FROM web_sessions WHERE token_hash = $1", &[hash.as_slice().into()]).await?;
    Ok(())
}

/// Ends every session of `email` but the one of token `keep`, if given (after a password
/// reset or change, or a second factor turned on or off).
pub async fn end_sessions_of(db: &Db, email: &str, keep: Option<&str>) -> Result<(), StoreError> {
    let keep = keep.map(|t| sha256(&[t.as_bytes()])).unwrap_or_default();
    let sql = "DELETE FROM web_sessions WHERE email = $1 AND token_hash <> $2";
    db.execute(sql, &[email.into(), keep.as_slice().into()]).await?;
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
               password_hash = excluded.password_hash, \
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

/// Whether `password` is the recipient `email`'s; unknown addresses take the same time as
/// known ones. Failures are counted by the caller (`store::lockouts`), for every address.
pub async fn check_password(
    db: &Db,
    email: &str,
    password: Zeroizing<String>,
) -> Result<bool, StoreError> {
    let sql = "SELECT password_hash FROM recipient_accounts WHERE email = $1";
    let row: Option<(String,)> = db.fetch_optional(sql, &[email.into()]).await?;
    let Some((hash,)) = row else {
        let _ = verify_password(DUMMY_HASH.to_string(), password).await;
        return Ok(false);
    };
    Ok(verify_password(hash, password).await)
}

/// The time zone (IANA name) account `email` reads dates in, if it chose one.
pub async fn time_zone(db: &Db, email: &str) -> Result<Option<String>, StoreError> {
    let sql = "SELECT time_zone FROM recipient_accounts WHERE email = $1";
    let row: Option<(Option<String>,)> = db.fetch_optional(sql, &[email.into()]).await?;
    Ok(row.and_then(|(z,)| z))
}

/// The language (its code) account `email` chose for its pages, if it chose one.
pub async fn language(db: &Db, email: &str) -> Result<Option<String>, StoreError> {
    let sql = "SELECT language FROM recipient_accounts WHERE email = $1";
    let row: Option<(Option<String>,)> = db.fetch_optional(sql, &[email.into()]).await?;
    Ok(row.and_then(|(l,)| l))
}

/// Keeps `language` (a code the caller checked) as account `email`'s choice; false when the
/// address has no account (no password yet).
pub async fn set_language(
    db: &Db,
    email: &str,
    language: Option<&str>,
) -> Result<bool, StoreError> {
    let sql = "UPDATE recipient_accounts SET language = $1 WHERE email = $2";
    Ok(db.execute(sql, &[language.into(), email.into()]).await? == 1)
}

/// Sets the time zone account `email` reads dates in (checked by the caller); false when
/// the address has no account (no password yet).
pub async fn set_time_zone(db: &Db, email: &str, zone: Option<&str>) -> Result<bool, StoreError> {
    let sql = "UPDATE recipient_accounts SET time_zone = $1 WHERE email = $2";
    Ok(db.execute(sql, &[zone.into(), email.into()]).await? == 1)
}
