//! Group commit for SQLite: one `fdatasync` of the write-ahead log makes every commit before
//! it durable, so concurrent committers share it instead of each paying for their own.
//!
//! SQLite in WAL mode with `synchronous = FULL` syncs the log inside every commit, while the
//! single writer holds the database lock: measured at 16 concurrent senders, that sync was
//! half of each write transaction's time holding the lock, and the lock is what ingest
//! queues on. With `synchronous = NORMAL` a commit only writes its frames to the log (safe
//! against a crash of the process: the frames are in the kernel), and [`GroupSync::durable`]
//! adds the power-loss guarantee back before anyone is told "done": the first caller syncs
//! the log for everyone who committed before it started; those who committed meanwhile are
//! covered by the next sync. SQLite syncs the log itself before each checkpoint and the
//! database after it, so frames a checkpoint moved out of the log are durable too.
//!
//! Written here because neither sqlx nor SQLite offer it: SQLite's own durability is per
//! commit, and sqlx exposes no hook after a commit has written its frames.

use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

/// Shares log syncs between concurrent commits to one SQLite database.
#[derive(Debug)]
pub struct GroupSync {
    /// The database's write-ahead log (`<database>-wal`).
    log: PathBuf,
    /// Commits that have returned (their frames are in the kernel's page cache).
    committed: AtomicU64,
    /// Commits known to be on disk.
    synced: AtomicU64,
    /// One sync at a time: whoever waits here is covered by the next one.
    turn: tokio::sync::Mutex<()>,
}

impl GroupSync {
    /// Syncs `log`, the write-ahead log of the database file it belongs to.
    pub fn new(log: PathBuf) -> GroupSync {
        GroupSync {
            log,
            committed: AtomicU64::new(0),
            synced: AtomicU64::new(0),
            turn: tokio::sync::Mutex::new(()),
        }
    }

    /// Returns once a commit that has just returned is on disk.
    pub async fn durable(&self) -> io::Result<()> {
        let mine = self.committed.fetch_add(1, Ordering::SeqCst) + 1;
        let _turn = self.turn.lock().await;
        if self.synced.load(Ordering::SeqCst) >= mine {
            return Ok(()); // a sync that began after this commit has finished
        }
        // Every commit counted so far wrote its frames before it was counted.
        let upto = self.committed.load(Ordering::SeqCst);
        let log = self.log.clone();
        tokio::task::spawn_blocking(move || sync_log(&log)).await.map_err(io::Error::other)??;
        self.synced.fetch_max(upto, Ordering::SeqCst);
        Ok(())
    }
}

/// Syncs the log by name rather than through a kept handle: SQLite removes the log when its
/// last connection closes (after checkpointing it into the database, which it syncs) and
/// creates a new file later, which an old handle would not reach.
fn sync_log(log: &std::path::Path) -> io::Result<()> {
    match std::fs::File::open(log) {
        Ok(f) => f.sync_data(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[tokio::test]
    async fn concurrent_commits_share_syncs_and_each_waits_for_one() {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = dir.path().join("db-wal");
        std::fs::write(&log, b"frames").expect("log");
        let sync = Arc::new(GroupSync::new(log));
        let waiters: Vec<_> = (0..64)
            .map(|_| {
                let sync = sync.clone();
                tokio::spawn(async move { sync.durable().await })
            })
            .collect();
        for w in waiters {
            w.await.expect("join").expect("durable");
        }
        // Everyone's commit is covered by a sync that finished.
        assert_eq!(sync.synced.load(Ordering::SeqCst), 64);
    }

    #[tokio::test]
    async fn a_missing_log_has_nothing_to_sync_and_an_unreadable_one_is_an_error() {
        let dir = tempfile::tempdir().expect("temp dir");
        GroupSync::new(dir.path().join("gone-wal")).durable().await.expect("nothing to sync");
        // A folder where the log should be: opening works, syncing a directory read-only
        // works on Linux too, so use a path under a file instead.
        std::fs::write(dir.path().join("file"), b"x").expect("file");
        let e = GroupSync::new(dir.path().join("file/db-wal")).durable().await;
        assert!(e.is_err(), "a log that cannot be opened must fail the commit's answer");
    }
}
