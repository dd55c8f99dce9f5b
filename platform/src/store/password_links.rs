//! Set-password links: an administrator sends one to a member (a new member, or one who
//! forgot their password); the member opens it and chooses a password. A link is good once,
//! for [`LINK_TTL_MS`], and only the newest one of a member works. The link carries 256
//! random bits; only their SHA-256 is kept, so the table gives nobody a usable link.

use base64::Engine as _;
use zeroize::Zeroizing;

use super::StoreError;
use super::accounts::hash_password;
use super::center::{random, sha256};
use crate::db::{Db, now_ms};

/// How long a link is good for.
pub const LINK_TTL_MS: i64 = 24 * 60 * 60 * 1000;

/// A new link's token for member `user_id`; the member's earlier links stop working.
pub async fn create(db: &Db, user_id: i64) -> Result<Zeroizing<String>, StoreError> {
    let token = Zeroizing::new(
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&random::<32>()?[..]),
    );
    let now = now_ms();
    db.execute("DELETE FROM password_links WHERE user_id = $1", &[user_id.into()]).await?;
    let sql = "INSERT INTO password_links (token_hash, user_id, created_at, expires_at) \
               VALUES ($1, $2, $3, $4)";
    let hash = sha256(&[token.as_bytes()]);
    let args = [hash.as_slice().into(), user_id.into(), now.into(), (now + LINK_TTL_MS).into()];
    db.execute(sql, &args).await?;
    Ok(token)
}

/// The member (id, address) a live link `token` is for.
pub async fn member_of(db: &Db, token: &str) -> Result<Option<(i64, String)>, StoreError> {
    if token.is_empty() || token.len() > 64 {
        return Ok(None);
    }
    let sql = "SELECT u.id, u.email FROM password_links l JOIN users u ON u.id = l.user_id \
               WHERE l.token_hash = $1 AND l.expires_at > $2 AND u.disabled_at IS NULL";
    let hash = sha256(&[token.as_bytes()]);
    let args = [hash.as_slice().into(), now_ms().into()];
    db.fetch_optional(sql, &args).await
}

/// Uses link `token`: sets its member's password and clears their lockout. Returns the
/// member's id, or `None` when the link is not (or no longer) good — also when another
/// request used it a moment before.
pub async fn use_link(
    db: &Db,
    token: &str,
    password: Zeroizing<String>,
) -> Result<Option<i64>, StoreError> {
    let Some((user_id, _)) = member_of(db, token).await? else { return Ok(None) };
    let password_hash = hash_password(password).await?;
    // Deleting the link is what spends it: only the request that deleted it goes on.
    let sql = "DELETE FROM password_links WHERE token_hash = $1 AND expires_at > $2";
    let hash = sha256(&[token.as_bytes()]);
    let args = [hash.as_slice().into(), now_ms().into()];
    if db.execute(sql, &args).await? != 1 {
        return Ok(None);
    }
    let sql = "UPDATE users SET password_hash = $1, failed_logins = 0, locked_until = 0 \
               WHERE id = $2";
    db.execute(sql, &[password_hash.as_str().into(), user_id.into()]).await?;
    Ok(Some(user_id))
}

/// Forgets links that ended before `before` (the sweep).
pub async fn forget_ended_before(db: &Db, before: i64) -> Result<u64, StoreError> {
    db.execute("DELETE FROM password_links WHERE expires_at < $1", &[before.into()]).await
}
