//! Persistence, one module per group of tables. Every function takes the pool (or a
//! transaction) and speaks in domain types; SQL stays in here.

pub mod accounts;
pub mod audit;
pub mod branding;
pub mod center;
pub mod console_sessions;
pub mod drafts;
pub mod lockouts;
pub mod mailbox;
pub mod members;
pub mod messages;
pub mod notifications;
pub mod password_links;
pub mod platform_keys;
pub mod relays;
pub mod reply_uploads;
pub mod reports;
pub mod sign_in_attempts;
pub mod totp;
pub mod user_keys;

/// Where a page of a list of messages (newest first) ends: the last message's creation time
/// and id. The next page holds the messages that sort after it — created earlier, or in the
/// same millisecond with a smaller id, i.e. `(created_at, id) < (mark)` — so messages that
/// share a millisecond at a page's edge are neither skipped nor shown twice. Written `MS.ID` (e.g. `1763892000123.6f1c…`); a bare
/// `MS` (the form before ids were part of it) means "created before MS".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageMark {
    /// The last listed message's creation time, ms.
    pub created_at: i64,
    /// Its id; empty for a bare time, which no id sorts below.
    pub id: String,
}

impl PageMark {
    /// The mark after `m`, the last message of a page.
    pub fn after(m: &messages::MessageRow) -> PageMark {
        PageMark { created_at: m.created_at, id: m.id.clone() }
    }
}

impl std::fmt::Display for PageMark {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.id.as_str() {
            "" => write!(f, "{}", self.created_at),
            id => write!(f, "{}.{id}", self.created_at),
        }
    }
}

impl std::str::FromStr for PageMark {
    type Err = &'static str;

    /// Parses `MS.ID` or `MS`; the id must be a message id (a UUID, in canonical form).
    fn from_str(s: &str) -> Result<PageMark, Self::Err> {
        const WHAT: &str = "a page mark is the `next` of the page before";
        let (ms, id) = match s.split_once('.') {
            None => (s, String::new()),
            Some((ms, id)) => {
                (ms, id.parse::<sealpost_envelope::MessageId>().map_err(|_| WHAT)?.to_string())
            }
        };
        Ok(PageMark { created_at: ms.parse().map_err(|_| WHAT)?, id })
    }
}

/// A storage failure. Database errors are logged where they happen and shown to clients as a
/// generic 500 (or 507 `storage_full` when the database is out of space, see
/// [`StoreError::is_storage_full`]); they never carry message content.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed.
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    /// The database failed (SQLite, on the path that bypasses sqlx: see `db::lite`).
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A database task did not finish (it panicked, or the runtime is shutting down).
    #[error("database task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// A stored secret does not open.
    #[error(transparent)]
    Secret(#[from] crate::secrets::SecretError),
    /// Something stored is not what it should be.
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
    /// The change breaks a rule of the data (the message says which, for a person).
    #[error("{0}")]
    Refused(String),
}

impl StoreError {
    /// Whether the database failed because its disk (or quota) is full: SQLite's `SQLITE_FULL`,
    /// PostgreSQL's `disk_full` (53100), or a file write that met ENOSPC/EDQUOT.
    pub fn is_storage_full(&self) -> bool {
        match self {
            StoreError::Db(sqlx::Error::Database(e)) => {
                // sqlx gives SQLite's (extended) result code and PostgreSQL's SQLSTATE.
                matches!(e.code().as_deref(), Some("13" | "53100"))
            }
            StoreError::Db(sqlx::Error::Io(e)) => is_storage_full(e),
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => {
                e.code == rusqlite::ErrorCode::DiskFull
            }
            _ => false,
        }
    }
}

/// Whether a file operation failed because the disk or the user's quota is full.
pub fn is_storage_full(e: &std::io::Error) -> bool {
    matches!(e.kind(), std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded)
}
