//! Drafts of replies in the Message Center: what was typed (subject, text, reply-all), sealed
//! under the data key of the tenant whose message it answers, bound to its writer and that
//! message. Attachments are chosen when sending; a draft does not keep them.

use super::StoreError;
use crate::db::{Db, lite_row, now_ms, one_row};

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

lite_row!(DraftRow { id, in_reply_to, tenant_id, link_token, original_sender, sealed, updated_at });

/// Purpose string binding a sealed draft to its writer and the message it answers.
pub fn purpose(email: &str, in_reply_to: &str) -> String {
    format!("draft:{email}:{in_reply_to}")
}

/// The query for [`DraftRow`]s, as a literal so queries stay `&'static str`.
macro_rules! select {
    () => {
        "SELECT d.id, d.in_reply_to, m.tenant_id, m.link_token, \
         m.sender_email AS original_sender, d.sealed, d.updated_at \
         FROM drafts d JOIN messages m ON m.id = d.in_reply_to"
    };
}

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
            let sql = "UPDATE drafts SET sealed = $1, updated_at = $2 \
                       WHERE id = $3 AND email = $4 AND in_reply_to = $5";
            let args = [sealed.into(), now.into(), id.into(), email.into(), in_reply_to.into()];
            Ok((db.execute(sql, &args).await? == 1).then_some(id))
        }
        None => {
            let sql = "INSERT INTO drafts (email, in_reply_to, sealed, updated_at) \
                       VALUES ($1, $2, $3, $4) RETURNING id";
            let args = [email.into(), in_reply_to.into(), sealed.into(), now.into()];
            let (id,): (i64,) = one_row(db.write_returning(sql, &args).await?)?;
            Ok(Some(id))
        }
    }
}

/// `email`'s drafts, newest first.
pub async fn list(db: &Db, email: &str) -> Result<Vec<DraftRow>, StoreError> {
    let sql = concat!(select!(), " WHERE d.email = $1 ORDER BY d.updated_at DESC LIMIT 200");
    db.fetch_all(sql, &[email.into()]).await
}

/// `email`'s draft `id`.
pub async fn get(db: &Db, id: i64, email: &str) -> Result<Option<DraftRow>, StoreError> {
    let sql = concat!(select!(), " WHERE d.id = $1 AND d.email = $2");
    db.fetch_optional(sql, &[id.into(), email.into()]).await
}

/// Deletes `email`'s draft `id` (nothing when it is not theirs).
pub async fn delete(db: &Db, id: i64, email: &str) -> Result<(), StoreError> {
    db.execute("DELETE FROM drafts WHERE id = $1 AND email = $2", &[id.into(), email.into()])
        .await?;
    Ok(())
}
