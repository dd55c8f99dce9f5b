//! Health, readiness and the platform's public key.
//!
//! - `GET /healthz`: can this node take work? It writes a little to the database and the
//!   envelope store to prove it (a full disk, a database refusing writes, an unreachable
//!   bucket answer 503 with what is wrong), at most once per [`PROBE_EVERY`], so frequent
//!   checks stay cheap. Clients read it too (the Outlook add-in's task pane shows it), so it
//!   keeps this meaning.
//! - `GET /readyz`: should a load balancer send this node new requests? The same verdict,
//!   and 503 `shutting down` from the moment the node is told to stop (SIGTERM or SIGINT):
//!   it keeps serving for `drain_secs` so the balancer sees that and sends new requests
//!   elsewhere, then stops accepting and finishes the requests in flight
//!   (`startup::Running::drain_and_stop`). Point the balancer's check here.
//!
//! What they remember is this node's own — the last probe's verdict and whether it is
//! stopping — and is meant to be: each node answers for itself.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;

use crate::error::ApiError;
use crate::state::AppState;

/// How long one write probe's verdict is reused.
pub const PROBE_EVERY: Duration = Duration::from_secs(5);

/// This node's health: the last write probe (when, and what failed — `None`: all could
/// write) and whether it is shutting down.
#[derive(Debug, Default)]
pub struct NodeHealth {
    probe: tokio::sync::Mutex<Option<(Instant, Option<&'static str>)>>,
    draining: AtomicBool,
}

impl NodeHealth {
    /// From now on `/readyz` answers 503 `shutting down`.
    pub fn begin_drain(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    /// Whether the node is shutting down.
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    /// The write probe's verdict, probing again when the last one is older than
    /// [`PROBE_EVERY`]. One probe at a time; the others wait for its verdict.
    async fn verdict(&self, state: &AppState) -> Option<&'static str> {
        let mut last = self.probe.lock().await;
        match *last {
            Some((at, verdict)) if at.elapsed() < PROBE_EVERY => verdict,
            _ => {
                let verdict = probe(state).await;
                *last = Some((Instant::now(), verdict));
                verdict
            }
        }
    }
}

/// Whether the platform can take work.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok`, or what is wrong: `storage full`, `database unavailable`, `envelope store
    /// cannot write`, and (`/readyz` only) `shutting down`.
    pub status: &'static str,
}

fn answer(problem: Option<&'static str>) -> (StatusCode, Json<Health>) {
    match problem {
        None => (StatusCode::OK, Json(Health { status: "ok" })),
        Some(problem) => (StatusCode::SERVICE_UNAVAILABLE, Json(Health { status: problem })),
    }
}

/// `GET /healthz`: 200 when the database answers and it and the envelope store can write,
/// 503 with what is wrong otherwise.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "The database and the envelope store can write", body = Health), (status = 503, description = "Cannot take work: `status` says what cannot write (storage full, database unavailable, envelope store cannot write)", body = Health)))]
pub async fn healthz(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    answer(state.health.verdict(&state).await)
}

/// `GET /readyz`: 200 while this node should be sent new requests; 503 while it cannot
/// write to its database or envelope store, and from the start of its shutdown on.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, description = "Ready: the database and the envelope store can write, and the node is not shutting down", body = Health), (status = 503, description = "Not ready: `status` is `shutting down` (the node finishes the requests it has and stops; send new ones elsewhere) or what cannot write, as for `/healthz`", body = Health)))]
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    if state.health.is_draining() {
        return answer(Some("shutting down"));
    }
    answer(state.health.verdict(&state).await)
}

/// The platform's public key.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PlatformKey {
    /// Hex SHA-256 of the key's SubjectPublicKeyInfo.
    pub key_id: String,
    /// Always `RSA-OAEP-SHA256`.
    pub algorithm: &'static str,
    /// The modulus size.
    pub bits: usize,
    /// SubjectPublicKeyInfo PEM.
    pub public_key_pem: String,
}

/// Writes a little to the database and the envelope store; what failed, if anything.
async fn probe(state: &AppState) -> Option<&'static str> {
    // A committed write: rewrites the newest migration's row with itself.
    let db = state
        .db
        .execute(
            "UPDATE schema_migrations SET version = version \
             WHERE version = (SELECT MAX(version) FROM schema_migrations)",
            &[],
        )
        .await;
    if let Err(e) = db {
        tracing::warn!(error = %e, "health check: the database cannot write");
        return Some(if e.is_storage_full() { "storage full" } else { "database unavailable" });
    }
    if let Err(e) = state.blobs.probe().await {
        tracing::warn!(error = %e, "health check: the envelope store cannot write");
        let full = crate::store::is_storage_full(&e);
        return Some(if full { "storage full" } else { "envelope store cannot write" });
    }
    None
}

/// `GET /api/v1/keys/platform`: the key every envelope must be wrapped for.
#[utoipa::path(get, path = "/api/v1/keys/platform", tag = "keys",
    responses((status = 200, description = "The key every envelope must be wrapped for", body = PlatformKey)))]
pub async fn platform_key(State(state): State<AppState>) -> Result<Json<PlatformKey>, ApiError> {
    let keys = state.keys.read().await;
    let key = keys.active().public_key();
    Ok(Json(PlatformKey {
        key_id: key.key_id().to_hex(),
        algorithm: "RSA-OAEP-SHA256",
        bits: key.wrapped_len() * 8,
        public_key_pem: key.to_pem().map_err(ApiError::internal)?,
    }))
}
