//! Housekeeping: uploads that were never finished — a mail client that crashed, a send the
//! user cancelled, a helper that gave up — are removed once they are older than
//! `abandoned_upload_hours`: their envelope segments, slip, recipients and events. They never
//! had a link, so nobody could have opened them; each removal is an audit-log row.

use std::time::Duration;

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

/// Runs [`abandoned_uploads`] every ten minutes for as long as the server runs.
pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let older_than = Duration::from_secs(state.settings.abandoned_upload_hours * 3600);
        let mut tick = tokio::time::interval(EVERY);
        loop {
            tick.tick().await;
            if let Err(e) = abandoned_uploads(&state, older_than).await {
                tracing::warn!(error = %e, "sweeping abandoned uploads failed");
            }
        }
    })
}
