//! Wrong answers and lockouts, per purpose and address: a few wrong passwords, authenticator
//! codes or unlock codes lock the address out for a while, and each lockout in a row lasts
//! twice as long as the one before (15 minutes, 30, 1 hour … at most a day), so a patient
//! guesser gets about 35 guesses in the first day and 5 a day after, not ~480. A right
//! answer ends the run.
//!
//! Rows are kept for every address asked about, whether or not it has an account, so a
//! lockout reads the same for both and tells no one which addresses exist.

use super::StoreError;
use crate::db::{Db, now_ms};

/// Wrong answers before a lockout.
pub const MAX_FAILURES: i64 = 5;
/// The first lockout's length; each one in a row doubles it …
pub const FIRST_LOCK_MS: i64 = 15 * 60 * 1000;
/// … up to this.
pub const LONGEST_LOCK_MS: i64 = 24 * 60 * 60 * 1000;

/// What the answers are counted for.
#[derive(Clone, Copy, Debug)]
pub enum Scope<'a> {
    /// Signing in to the Message Center: the password and the authenticator code, in every
    /// flow that asks for either.
    CenterSignIn,
    /// Giving the unlock code of this message (its id).
    Unlock(&'a str),
}

impl Scope<'_> {
    fn key(self) -> String {
        match self {
            Scope::CenterSignIn => "center-sign-in".into(),
            Scope::Unlock(id) => format!("unlock:{id}"),
        }
    }
}

/// The length of the `n`-th lockout in a row (0-based).
pub fn lock_length(n: i64) -> i64 {
    FIRST_LOCK_MS.saturating_mul(1 << n.clamp(0, 16)).min(LONGEST_LOCK_MS)
}

/// Until when `subject` is locked out of `scope` (ms), if it is now.
pub async fn locked_until(
    db: &Db,
    scope: Scope<'_>,
    subject: &str,
) -> Result<Option<i64>, StoreError> {
    let sql = "SELECT locked_until FROM lockouts WHERE scope = $1 AND subject = $2";
    let key = scope.key();
    let row: Option<(i64,)> =
        db.fetch_optional(sql, &[key.as_str().into(), subject.into()]).await?;
    let now = now_ms();
    Ok(row.map(|(t,)| t).filter(|t| *t > now))
}

/// Counts a wrong answer from `subject`; the time it is now locked out until, when this one
/// used up the tries.
pub async fn failed(db: &Db, scope: Scope<'_>, subject: &str) -> Result<Option<i64>, StoreError> {
    let (key, subject) = (scope.key(), subject.to_owned());
    db.write(move |mut tx| {
        Box::pin(async move {
            let now = now_ms();
            let sql = "INSERT INTO lockouts (scope, subject, failures, updated_at) \
                       VALUES ($1, $2, 1, $3) ON CONFLICT (scope, subject) DO UPDATE SET \
                       failures = lockouts.failures + 1, updated_at = excluded.updated_at \
                       RETURNING failures, lockouts";
            let args = [key.as_str().into(), subject.as_str().into(), now.into()];
            let row: Option<(i64, i64)> = tx.fetch_optional(sql, &args).await?;
            let (failures, lockouts) = crate::db::one_row(row)?;
            if failures < MAX_FAILURES {
                return Ok(None);
            }
            let until = now + lock_length(lockouts);
            let sql = "UPDATE lockouts SET failures = 0, lockouts = lockouts + 1, \
                       locked_until = $1 WHERE scope = $2 AND subject = $3";
            tx.execute(sql, &[until.into(), key.as_str().into(), subject.as_str().into()]).await?;
            Ok(Some(until))
        })
    })
    .await
}

/// Forgets runs whose last wrong answer and lockout both ended before `before` (ms): the
/// next wrong answer starts a new run, with the shortest lockout.
pub async fn forget_before(db: &Db, before: i64) -> Result<(), StoreError> {
    let sql = "DELETE FROM lockouts WHERE updated_at < $1 AND locked_until < $1";
    db.execute(sql, &[before.into()]).await?;
    Ok(())
}

/// A right answer from `subject`: the run of wrong ones and lockouts is over.
pub async fn succeeded(db: &Db, scope: Scope<'_>, subject: &str) -> Result<(), StoreError> {
    let sql = "DELETE FROM lockouts WHERE scope = $1 AND subject = $2";
    let key = scope.key();
    db.execute(sql, &[key.as_str().into(), subject.into()]).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_lockout_in_a_row_lasts_twice_as_long_up_to_a_day() {
        assert_eq!(lock_length(0), 15 * 60 * 1000);
        assert_eq!(lock_length(1), 30 * 60 * 1000);
        assert_eq!(lock_length(6), 16 * 60 * 60 * 1000);
        assert_eq!(lock_length(7), LONGEST_LOCK_MS);
        assert_eq!(lock_length(1000), LONGEST_LOCK_MS);
        // Guesses in the first day: five per lockout that starts within it.
        let (mut t, mut guesses) = (0, 0);
        for n in 0.. {
            if t >= 24 * 60 * 60 * 1000 {
                break;
            }
            guesses += MAX_FAILURES;
            t += lock_length(n);
        }
        assert!(guesses <= 40, "{guesses}");
    }

    #[tokio::test]
    async fn a_lockout_that_ran_out_is_followed_by_a_longer_one_and_a_right_answer_ends_the_run() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("l.db").display());
        let db = Db::connect(&url).await.expect("connect");
        let scope = Scope::Unlock("m1");
        let lock_after_five = || async {
            for _ in 0..MAX_FAILURES - 1 {
                assert_eq!(failed(&db, scope, "bob@x.example").await.expect("count"), None);
            }
            let until = failed(&db, scope, "bob@x.example").await.expect("count").expect("locked");
            assert_eq!(locked_until(&db, scope, "bob@x.example").await.expect("q"), Some(until));
            // The lock runs out (as if its time had passed).
            let sql = "UPDATE lockouts SET locked_until = 1";
            db.execute(sql, &[]).await.expect("expire");
            until - now_ms()
        };
        let first = lock_after_five().await;
        assert!((FIRST_LOCK_MS - 60_000..=FIRST_LOCK_MS).contains(&first), "{first}");
        let second = lock_after_five().await;
        assert!((2 * FIRST_LOCK_MS - 60_000..=2 * FIRST_LOCK_MS).contains(&second), "{second}");
        // Another purpose or address is not affected; a right answer starts afresh.
        assert_eq!(locked_until(&db, Scope::CenterSignIn, "bob@x.example").await.expect("q"), None);
        succeeded(&db, scope, "bob@x.example").await.expect("reset");
        let third = lock_after_five().await;
        assert!((FIRST_LOCK_MS - 60_000..=FIRST_LOCK_MS).contains(&third), "{third}");
        // A run that ended long ago is forgotten; one still going is not.
        lock_after_five().await;
        forget_before(&db, now_ms() - 1000).await.expect("forget");
        assert_eq!(failed(&db, scope, "bob@x.example").await.expect("count"), None);
        let rows: Vec<(i64,)> =
            db.fetch_all("SELECT lockouts FROM lockouts", &[]).await.expect("q");
        assert_eq!(rows, vec![(2,)], "the run that goes on is kept");
        forget_before(&db, now_ms() + 1000).await.expect("forget");
        let rows: Vec<(i64,)> =
            db.fetch_all("SELECT lockouts FROM lockouts", &[]).await.expect("q");
        assert!(rows.is_empty());
    }
}
