//! A person's mailbox in the Message Center: the messages addressed to them (from senders of
//! any tenant) sorted into folders, the messages they sent, and per message whether they gave
//! its unlock code. An address with no entry for a message sees it in its default folder.

use super::messages::{MessageRow, message_columns};
use super::{PageMark, StoreError};
use crate::db::{Db, now_ms};

/// The folders of the Center.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Folder {
    /// Messages to this address (the default).
    Inbox,
    /// Messages this address sent, from a mail client or from the Center.
    Sent,
    /// Received messages put aside.
    Archive,
}

impl Folder {
    /// The folder's name in URLs and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Folder::Inbox => "inbox",
            Folder::Sent => "sent",
            Folder::Archive => "archive",
        }
    }

    /// A folder from its name.
    pub fn parse(s: &str) -> Option<Folder> {
        [Folder::Inbox, Folder::Sent, Folder::Archive].into_iter().find(|f| f.as_str() == s)
    }
}

/// Most messages a folder page lists.
pub const PAGE: i64 = 50;

/// A page of at most `limit` messages in `email`'s `folder`, newest first: those after
/// `before` (the previous page's last), if given.
pub async fn list(
    db: &Db,
    email: &str,
    folder: Folder,
    before: Option<&PageMark>,
    limit: i64,
) -> Result<Vec<MessageRow>, StoreError> {
    let (at, id) = before.map_or((i64::MAX, ""), |m| (m.created_at, m.id.as_str()));
    match folder {
        Folder::Sent => {
            let sql = concat!(
                "SELECT ",
                message_columns!(),
                " FROM messages WHERE sender_email = $1 AND state = 'final' \
                 AND (created_at, id) < ($2, $3) ORDER BY created_at DESC, id DESC LIMIT $4"
            );
            db.fetch_all(sql, &[email.into(), at.into(), id.into(), limit.into()]).await
        }
        Folder::Inbox | Folder::Archive => {
            let sql = concat!(
                "SELECT ",
                message_columns!(),
                " FROM messages m JOIN message_recipients r ON r.message_id = m.id \
                 LEFT JOIN mailbox_entries e ON e.message_id = m.id AND e.email = r.email \
                 WHERE r.email = $1 AND m.state = 'final' AND COALESCE(e.folder, 'inbox') = $2 \
                 AND (m.created_at, m.id) < ($3, $4) ORDER BY m.created_at DESC, m.id DESC LIMIT $5"
            );
            let args = [email.into(), folder.as_str().into(), at.into(), id.into(), limit.into()];
            db.fetch_all(sql, &args).await
        }
    }
}

/// Files message `id` in `email`'s folder `folder` (`"inbox"`, `"archive"` or `"deleted"`).
pub async fn file(db: &Db, id: &str, email: &str, folder: &str) -> Result<(), StoreError> {
    let sql = "INSERT INTO mailbox_entries (message_id, email, folder, updated_at) \
               VALUES ($1, $2, $3, $4) ON CONFLICT (message_id, email) \
               DO UPDATE SET folder = excluded.folder, updated_at = excluded.updated_at";
    db.execute(sql, &[id.into(), email.into(), folder.into(), now_ms().into()]).await?;
    Ok(())
}

/// Whether `email` gave message `id`'s unlock code.
pub async fn unlocked(db: &Db, id: &str, email: &str) -> Result<bool, StoreError> {
    let sql = "SELECT unlocked_at FROM mailbox_entries WHERE message_id = $1 AND email = $2";
    let row: Option<(Option<i64>,)> = db.fetch_optional(sql, &[id.into(), email.into()]).await?;
    Ok(row.and_then(|(at,)| at).is_some())
}

/// Records that `email` gave message `id`'s unlock code (wrong ones are counted in
/// `store::lockouts`).
pub async fn mark_unlocked(db: &Db, id: &str, email: &str) -> Result<(), StoreError> {
    let now = now_ms();
    let sql = "INSERT INTO mailbox_entries (message_id, email, unlocked_at, updated_at) \
               VALUES ($1, $2, $3, $4) ON CONFLICT (message_id, email) DO UPDATE SET \
               unlocked_at = excluded.unlocked_at, updated_at = excluded.updated_at";
    db.execute(sql, &[id.into(), email.into(), now.into(), now.into()]).await?;
    Ok(())
}

/// The folder `email` filed message `id` in, if they filed it.
pub async fn folder_of(db: &Db, id: &str, email: &str) -> Result<Option<String>, StoreError> {
    let sql = "SELECT folder FROM mailbox_entries WHERE message_id = $1 AND email = $2";
    let row: Option<(String,)> = db.fetch_optional(sql, &[id.into(), email.into()]).await?;
    Ok(row.map(|(f,)| f))
}
