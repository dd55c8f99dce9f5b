//! Housekeeping: uploads that were never finished — a mail client that crashed, a send the
//! user cancelled, a helper that gave up — are removed once they are older than
//! `abandoned_upload_hours`: their envelope segments, slip, recipients and events. They never
//! had a link, so nobody could have opened them; each removal is an audit-log row.
//!
//! It also tidies the envelope store while the server runs: half-written segments no process
//! is writing (a crash's leftovers) and complete segments that no segment row names once they
//! are older than `orphan_segment_minutes` (written, then the request failed before the
//! segment was recorded). Only the serving process sweeps: an `admin` command beside a live
//! server never tidies anything.
//!
//! And it forgets what only mattered for a while: runs of wrong answers and lockouts that
//! ended a day ago (`store::lockouts`, kept for any address a stranger typed), one-time
//! codes a day after they expired, and sign-in windows (`ratelimit`) once they are over.
//!
//! Every node runs it; each job is safe to run on several at once. An upload is removed in a
//! transaction that finds it still unfinished (the second node to try finds nothing); a
//! complete segment is deleted only when no row names it and it is older than the grace
//! period, which no upload in flight is; a `.partial` only while no process holds its lock
//! (local store, one machine); and forgetting is a `DELETE` by age.

use std::time::{Duration, SystemTime};

use crate::db::now_ms;
use crate::state::AppState;
use crate::store::StoreError;
use crate::store::audit::Entry;
use crate::store::messages;

/// Messages removed per round (the next round takes the rest).
const BATCH: i64 = 500;
/// How often the sweeper runs.
const EVERY: Duration = Duration::from_secs(10 * 60);

/// Removes unfinished uploads created more than `older_than` ago; returns how many.
pub async fn abandoned_uploads(
    state: &AppState,
    older_than: Duration,
) -> Result<usize, StoreError> {
    let before = now_ms() - older_than.as_millis() as i64;
    let mut removed = 0;
    for (id, tenant) in messages::abandoned_uploads(&state.db, before, BATCH).await? {
        let detail = format!("{{\"message\":\"{id}\"}}");
        let entry = Entry {
            tenant: Some(tenant),
            actor: "sweeper",
            action: "message.abandoned",
            detail: &detail,
        };
        let Some(blobs) = messages::delete_upload(&state.db, &id, &entry).await? else { continue };
        for blob in blobs {
            // A blob left behind is only unreachable ciphertext; say so and carry on.
            if let Err(e) = state.blobs.delete(&blob).await {
                tracing::warn!(message = %id, error = %e, "could not delete an abandoned segment");
            }
        }
        removed += 1;
    }
    if removed > 0 {
        tracing::info!(removed, "removed abandoned uploads");
    }
    Ok(removed)
}

/// Tidying the envelope store failed.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// The store could not be listed or changed.
    #[error("envelope store: {0}")]
    Io(#[from] std::io::Error),
    /// The database could not be asked.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Removes half-written segments no process is writing, and complete segments last written
/// between `written_after` and `written_before` that no segment row names. Returns how many
/// files (or objects) were removed.
pub async fn stray_segments(
    state: &AppState,
    written_after: SystemTime,
    written_before: SystemTime,
) -> Result<usize, SweepError> {
    let strays = state.blobs.strays(written_after, written_before).await?;
    let mut removed = strays.partials_removed;
    for name in strays.complete {
        if !messages::blob_is_named(&state.db, &name).await? {
            state.blobs.delete(&name).await?;
            removed += 1;
        }
    }
    if removed > 0 {
        metrics::counter!("sealpost_stray_segments_removed_total").increment(removed as u64);
        tracing::info!(removed, "removed envelope segments no upload will ever use");
    }
    Ok(removed)
}

/// Forgets runs of wrong answers and lockouts that ended a day ago, one-time codes a day
/// after they expired, sign-in windows (`ratelimit`), console sessions and set-password links that are over.
pub async fn forget(state: &AppState) -> Result<(), StoreError> {
    let now = now_ms();
    let day_ago = now - 86_400_000;
    crate::store::lockouts::forget_before(&state.db, day_ago).await?;
    crate::store::center::forget_codes_expired_before(&state.db, day_ago).await?;
    crate::ratelimit::forget_ended(&state.db, now).await?;
    crate::store::console_sessions::forget_ended_before(&state.db, now).await?;
    crate::store::password_links::forget_ended_before(&state.db, now).await?;
    Ok(())
}

/// Runs [`abandoned_uploads`] and [`stray_segments`] now and then every ten minutes, for as
/// long as the server runs. Each round looks at the segments written since the window of the
/// round before, so a store of any size costs one listing and a lookup per new segment.
pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let older_than = Duration::from_secs(state.settings.abandoned_upload_hours * 3600);
        let grace = Duration::from_secs(state.settings.orphan_segment_minutes * 60);
        let mut checked_up_to = SystemTime::UNIX_EPOCH;
        let mut tick = tokio::time::interval(EVERY);
        loop {
            tick.tick().await;
            if let Err(e) = abandoned_uploads(&state, older_than).await {
                tracing::warn!(error = %e, "sweeping abandoned uploads failed");
            }
            let before = SystemTime::now() - grace;
            match stray_segments(&state, checked_up_to, before).await {
                Ok(_) => checked_up_to = before,
                Err(e) => tracing::warn!(error = %e, "tidying the envelope store failed"),
            }
            if let Err(e) = forget(&state).await {
                tracing::warn!(error = %e, "forgetting old lockouts, codes and sign-in counts failed");
            }
        }
    })
}
