//! Sign-in attempts per client address, one row per address: when its window began and how
//! many attempts it holds. The rule they serve (how many, for how long) is `ratelimit`'s; this
//! module only counts, in one statement per attempt, so that nodes sharing the database count
//! together.

use super::StoreError;
use crate::db::{Db, one_row};

/// One more attempt from `address` at `now` (ms), in a window of `window_ms`: a window that
/// ended before `now` is begun again. Returns the attempts in the window, this one included,
/// and when the window began.
///
/// One upsert, on the address's primary key: it locks that one row for the statement (so
/// attempts arriving at several nodes at once are each counted) and, on PostgreSQL, updates
/// no indexed column, so the row's old version is pruned in place rather than left for vacuum.
pub async fn count(
    db: &Db,
    address: &str,
    now: i64,
    window_ms: i64,
) -> Result<(i64, i64), StoreError> {
    let sql = "INSERT INTO sign_in_attempts (address, window_start, attempts) \
               VALUES ($1, $2, 1) ON CONFLICT (address) DO UPDATE SET \
               attempts = CASE WHEN sign_in_attempts.window_start <= $3 THEN 1 \
                          ELSE sign_in_attempts.attempts + 1 END, \
               window_start = CASE WHEN sign_in_attempts.window_start <= $3 \
                              THEN excluded.window_start ELSE sign_in_attempts.window_start END \
               RETURNING attempts, window_start";
    let args = [address.into(), now.into(), (now - window_ms).into()];
    one_row(db.write_returning(sql, &args).await?)
}

/// Forgets windows that began before `before` (ms): the sweeper passes a time at least a
/// window ago, so no window still running is forgotten.
pub async fn forget_before(db: &Db, before: i64) -> Result<u64, StoreError> {
    db.execute("DELETE FROM sign_in_attempts WHERE window_start < $1", &[before.into()]).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_window_counts_until_it_ends_then_begins_again() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("a.db").display());
        let db = Db::connect(&url).await.expect("connect");
        let minute = 60_000;
        assert_eq!(count(&db, "192.0.2.1", 1_000, minute).await.expect("count"), (1, 1_000));
        assert_eq!(count(&db, "192.0.2.1", 30_000, minute).await.expect("count"), (2, 1_000));
        assert_eq!(count(&db, "192.0.2.2", 30_000, minute).await.expect("count"), (1, 30_000));
        // The first window is over a minute after its first attempt.
        assert_eq!(count(&db, "192.0.2.1", 61_000, minute).await.expect("count"), (1, 61_000));
        assert_eq!(forget_before(&db, 30_001).await.expect("forget"), 1, "192.0.2.2's window");
        assert_eq!(count(&db, "192.0.2.1", 62_000, minute).await.expect("count"), (2, 61_000));
    }
}
