//! Persistence, one module per group of tables. Every function takes the pool (or a
//! transaction) and speaks in domain types; SQL stays in here.

pub mod accounts;
pub mod audit;
pub mod center;
pub mod drafts;
pub mod mailbox;
pub mod messages;
pub mod notifications;
pub mod platform_keys;
pub mod relays;
pub mod totp;
pub mod user_keys;

/// A storage failure. Database errors are logged where they happen and shown to clients as a
/// generic 500; they never carry message content.
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
}
