//! Browser sessions of the admin console: a member with the administrator or compliance role
//! signed in with password and second factor. Kept apart from the Message Center's sessions
//! (another cookie, another table, shorter lives): a recipient's session never opens the
//! console, and ending one never ends the other.
//!
//! A session begun by someone without a second factor is *not enrolled*: it may only set the
//! factor up (`console::sign_in`), and becomes enrolled when the first code is confirmed. The
//! cookie carries 256 random bits; only their SHA-256 is kept.

use base64::Engine as _;
use zeroize::Zeroizing;

use super::StoreError;
use super::center::{random, sha256};
use crate::db::{Db, now_ms};
use crate::domain::Role;

/// A session ends this long after it started …
pub const SESSION_TTL_MS: i64 = 8 * 60 * 60 * 1000;
/// … or after this long without a request.
pub const SESSION_IDLE_MS: i64 = 20 * 60 * 1000;

/// A live console session, with its member as they are now (role and tenant read on every
/// request, so a changed role or a disabled member takes effect at once).
#[derive(Clone, Debug)]
pub struct ConsoleSession {
    /// The member.
    pub user_id: i64,
    /// Their tenant.
    pub tenant_id: i64,
    /// Their address.
    pub email: String,
    /// Their role now.
    pub role: Role,
    /// Whether the second factor is set up (else the session may only set it up).
    pub enrolled: bool,
    /// Whether the member is one of the platform's operators.
    pub operator: bool,
}

/// Starts a session for member `user_id`; returns the cookie's token.
pub async fn start(db: &Db, user_id: i64, enrolled: bool) -> Result<Zeroizing<String>, StoreError> {
    let token = Zeroizing::new(
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&random::<32>()?[..]),
    );
    let now = now_ms();
    let sql = "INSERT INTO console_sessions \
               (token_hash, user_id, enrolled, created_at, last_seen_at, expires_at) \
               VALUES ($1, $2, $3, $4, $5, $6)";
    let hash = sha256(&[token.as_bytes()]);
    let args = [
        hash.as_slice().into(),
        user_id.into(),
        i64::from(enrolled).into(),
        now.into(),
        now.into(),
        (now + SESSION_TTL_MS).into(),
    ];
    db.execute(sql, &args).await?;
    Ok(token)
}

/// The live session of `token` (kept alive), or `None` — also when its member has been
/// disabled since.
pub async fn get(db: &Db, token: &str) -> Result<Option<ConsoleSession>, StoreError> {
    if token.is_empty() || token.len() > 64 {
        return Ok(None);
    }
    let now = now_ms();
    let sql = "SELECT s.id, u.id, u.tenant_id, u.email, u.role, s.enrolled, u.operator \
               FROM console_sessions s JOIN users u ON u.id = s.user_id \
               WHERE s.token_hash = $1 AND s.expires_at > $2 AND s.last_seen_at > $3 \
               AND u.disabled_at IS NULL";
    let hash = sha256(&[token.as_bytes()]);
    let args = [hash.as_slice().into(), now.into(), (now - SESSION_IDLE_MS).into()];
    type Row = (i64, i64, i64, String, String, i64, i64);
    let row: Option<Row> = db.fetch_optional(sql, &args).await?;
    let Some((id, user_id, tenant_id, email, role, enrolled, operator)) = row else {
        return Ok(None);
    };
    let sql = "UPDATE console_sessions SET last_seen_at = $1 WHERE id = $2";
    db.execute(sql, &[now.into(), id.into()]).await?;
    let role = Role::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("role {role}")))?;
    Ok(Some(ConsoleSession {
        user_id,
        tenant_id,
        email,
        role,
        enrolled: enrolled == 1,
        operator: operator == 1,
    }))
}

/// Marks the session of `token` enrolled (its member just confirmed their second factor).
pub async fn mark_enrolled(db: &Db, token: &str) -> Result<(), StoreError> {
    let sql = "UPDATE console_sessions SET enrolled = 1 WHERE token_hash = $1";
    db.execute(sql, &[sha256(&[token.as_bytes()]).as_slice().into()]).await?;
    Ok(())
}

/// Ends the session of `token`.
pub async fn end(db: &Db, token: &str) -> Result<(), StoreError> {
    let sql = "DELETE FROM console_sessions WHERE token_hash = $1";
    db.execute(sql, &[sha256(&[token.as_bytes()]).as_slice().into()]).await?;
    Ok(())
}

/// Ends every console session of member `user_id` (disabled, role or second factor changed).
pub async fn end_all_of(db: &Db, user_id: i64) -> Result<(), StoreError> {
    db.execute("DELETE FROM console_sessions WHERE user_id = $1", &[user_id.into()]).await?;
    Ok(())
}

/// Forgets sessions that ended before `before` (the sweep).
pub async fn forget_ended_before(db: &Db, before: i64) -> Result<u64, StoreError> {
    let sql = "DELETE FROM console_sessions WHERE expires_at < $1 OR last_seen_at < $2";
    db.execute(sql, &[before.into(), (before - SESSION_IDLE_MS).into()]).await
}
