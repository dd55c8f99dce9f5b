//! SQLite without a trip to another thread per statement.
//!
//! sqlx's SQLite driver runs every connection on a thread of its own and hands each statement,
//! `BEGIN` and `COMMIT` to it over channels: ~0.1 ms of wall time and several context switches
//! per statement on the benchmark VM, which made thread switching, not SQLite, most of the
//! platform's cost per ingested message (`docs/PERFORMANCE.md`). SQLite is a library; a
//! statement on an indexed table takes microseconds on the thread that asks. So the statements
//! the [`Db`](super::Db) query methods run on SQLite come here instead:
//!
//! - **Reads** run on the calling thread, on a connection taken from a small pool. In WAL mode
//!   a reader never waits for the writer.
//! - **Write transactions** run whole, `BEGIN IMMEDIATE` to `COMMIT`, in one trip to a blocking
//!   thread, on the one writing connection, which writers queue for in order (so they do not
//!   meet at SQLite's lock, where the busy handler would make them sleep). A blocking thread,
//!   not the caller's, because taking the lock can wait: another process (an `admin` command)
//!   or a sqlx connection of this one may hold it.
//!
//! The connections are set up as sqlx's are in [`Db::connect`](super::Db::connect): WAL (the
//! database file keeps it), foreign keys on, `synchronous = NORMAL` with the group commit
//! making commits durable.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

/// Idle read connections kept for reuse; more are opened when more readers run at once.
const IDLE_READERS: usize = 8;

/// The connections to one SQLite database file.
pub(crate) struct Lite {
    path: PathBuf,
    readers: Mutex<Vec<Connection>>,
    /// The writing connection; `None` when it must be opened again (a write panicked with it).
    writer: Arc<tokio::sync::Mutex<Option<Connection>>>,
}

impl std::fmt::Debug for Lite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lite").field("path", &self.path).finish_non_exhaustive()
    }
}

/// Opens a connection set up as the platform's connections are.
fn open(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    Ok(conn)
}

impl Lite {
    /// Connects to the database file at `path`, which exists.
    pub(crate) fn open(path: &Path) -> rusqlite::Result<Lite> {
        let writer = open(path)?;
        Ok(Lite {
            path: path.to_path_buf(),
            readers: Mutex::new(Vec::new()),
            writer: Arc::new(tokio::sync::Mutex::new(Some(writer))),
        })
    }

    /// The folder that holds the database file.
    pub(crate) fn folder(&self) -> PathBuf {
        match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }

    /// Runs `read` on a read connection, on this thread.
    pub(crate) fn read<T>(
        &self,
        read: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        let idle = self.readers.lock().map(|mut idle| idle.pop()).unwrap_or(None);
        let conn = match idle {
            Some(conn) => conn,
            None => open(&self.path)?,
        };
        let result = read(&conn);
        if let Ok(mut idle) = self.readers.lock()
            && idle.len() < IDLE_READERS
        {
            idle.push(conn);
        }
        result
    }

    /// Runs `write` on the writing connection inside `BEGIN IMMEDIATE … COMMIT`, on a blocking
    /// thread, after the writers queued before it. The transaction commits when `write`
    /// returns `Ok` and rolls back otherwise. (Durability is the caller's: see `Db::durable`.)
    pub(crate) async fn write<T, E>(
        &self,
        write: impl FnOnce(&mut Connection) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<rusqlite::Error> + From<tokio::task::JoinError> + Send + 'static,
    {
        let mut slot = self.writer.clone().lock_owned().await;
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = match slot.take() {
                Some(conn) => conn,
                None => open(&path)?,
            };
            let result = conn.execute_batch("BEGIN IMMEDIATE").map_err(E::from).and_then(|()| {
                let done = write(&mut conn)?;
                conn.execute_batch("COMMIT")?;
                Ok(done)
            });
            if !conn.is_autocommit() {
                // `write` failed, or COMMIT did: leave nothing half done. (If even that fails,
                // the connection is dropped, which rolls back, and the next write opens one.)
                conn.execute_batch("ROLLBACK")?;
            }
            *slot = Some(conn);
            result
        })
        .await?
    }
}
