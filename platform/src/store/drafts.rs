//! Drafts of replies in the Message Center: what was typed (subject, text, reply-all), sealed
//! under the data key of the tenant whose message it answers, bound to its writer and that
//! message. Attachments are chosen when sending; a draft does not keep them.

use super::StoreError;
use crate::db::{Db, now_ms};

/// A stored draft, with what is needed to open it and to link to its reply form.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct DraftRow {
    /// Id.
    pub id: i64,
    /// The message it answers.
    pub in_reply_to: String,
    /// That message's tenant (whose data key seals the draft).
    pub tenant_id: i64,
    /// That message's link token.
    pub link_token: Option<String>,
    /// That message's sender (whom the reply goes to).
    pub original_sender: String,
    /// The sealed content.
    pub sealed: Vec<u8>,
    /// Last saved, ms.
    pub updated_at: i64,
}

/// Purpose string binding a sealed draft to its writer and the message it answers.
pub fn purpose(email: &str, in_reply_to: &str) -> String {
    format!("draft:{email}:{in_reply_to}")
}

const SELECT: &str = "SELECT d.id, d.in_reply_to, m.tenant_id, m.link_token, \
     m.sender_email AS original_sender, d.sealed, d.updated_at \
     FROM drafts d JOIN messages m ON m.id = d.in_reply_to";

/// Saves a draft: a new one (`id` None) or `email`'s draft `id` again. Returns its id, or
/// `None` when `id` is not theirs.
pub async fn save(
    db: &Db,
    id: Option<i64>,
    email: &str,
    in_reply_to: &str,
    sealed: &[u8],
) -> Result<Option<i64>, StoreError> {
    let now = now_ms();
    match id {
        Some(id) => {
            let r = db.durably(sqlx::query(
                "UPDATE drafts SET sealed = $1, updated_at = $2 WHERE id = $3 AND email = $4 AND in_reply_to = $5",
            )
            .bind(sealed)
            .bind(now)
            .bind(id)
            .bind(email)
            .bind(in_reply_to)
            .execute(&db.writer)).await?;
            Ok((r.rows_affected() == 1).then_some(id))
        }
        None => {
            let (id,): (i64,) = db.durably(sqlx::query_as(
                "INSERT INTO drafts (email, in_reply_to, sealed, updated_at) VALUES ($1, $2, $3, $4) RETURNING id",
            )
            .bind(email)
            .bind(in_reply_to)
            .bind(sealed)
            .bind(now)
            .fetch_one(&db.writer)).await?;
            Ok(Some(id))
        }
    }
}

/// `email`'s drafts, newest first.
pub async fn list(db: &Db, email: &str) -> Result<Vec<DraftRow>, StoreError> {
    let sql = format!("{SELECT} WHERE d.email = $1 ORDER BY d.updated_at DESC LIMIT 200");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(email).fetch_all(&db.pool).await?)
}

/// `email`'s draft `id`.
pub async fn get(db: &Db, id: i64, email: &str) -> Result<Option<DraftRow>, StoreError> {
    let sql = format!("{SELECT} WHERE d.id = $1 AND d.email = $2");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(email)
        .fetch_optional(&db.pool)
        .await?)
}

/// Deletes `email`'s draft `id` (nothing when it is not theirs).
pub async fn delete(db: &Db, id: i64, email: &str) -> Result<(), StoreError> {
    db.durably(
        sqlx::query("DELETE FROM drafts WHERE id = $1 AND email = $2")
            .bind(id)
            .bind(email)
            .execute(&db.writer),
    )
    .await?;
    Ok(())
}
