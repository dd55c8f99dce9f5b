//! Health and the platform's public key.
//!
//! The health check is a readiness check: a node that cannot write (its disk full, its
//! database refusing writes) answers 503, so a load balancer sends senders elsewhere instead
//! of to a node that would fail every upload. It writes a little to prove it, at most once
//! per [`PROBE_EVERY`], so frequent checks stay cheap.

use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;

use crate::blob::BlobStore;
use crate::error::ApiError;
use crate::state::AppState;

/// How long one write probe's verdict is reused.
pub const PROBE_EVERY: Duration = Duration::from_secs(5);

/// The last write probe: when, and what failed (`None`: all could write).
#[derive(Debug, Default)]
pub struct WriteProbe(tokio::sync::Mutex<Option<(Instant, Option<&'static str>)>>);

/// `GET /healthz`: 200 when the database answers and it and the envelope store can write,
/// 503 with what is wrong otherwise.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "The database and the envelope store can write", body = Health), (status = 503, description = "Not ready: `status` says what cannot write (storage full, database unavailable)", body = Health)))]
pub async fn healthz(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    // One probe at a time; the others wait for its verdict.
    let mut last = state.write_probe.0.lock().await;
    let verdict = match *last {
        Some((at, verdict)) if at.elapsed() < PROBE_EVERY => verdict,
        _ => {
            let verdict = probe(&state).await;
            *last = Some((Instant::now(), verdict));
            verdict
        }
    };
    match verdict {
        None => (StatusCode::OK, Json(Health { status: "ok" })),
        Some(problem) => (StatusCode::SERVICE_UNAVAILABLE, Json(Health { status: problem })),
    }
}

/// Whether the platform can take work.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok`, or what cannot write: `storage full`, `database unavailable`, `envelope store
    /// cannot write`.
    pub status: &'static str,
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
    if let BlobStore::Local { root } = &state.blobs {
        // S3 has no disk to fill; a local store proves it can still create and sync a file.
        let path = root.join(format!(".probe-{}", crate::secrets::random_id()));
        let wrote = tokio::task::spawn_blocking(move || {
            let tried = std::fs::create_dir_all(path.parent().expect("a parent"))
                .and_then(|()| std::fs::write(&path, b"probe"))
                .and_then(|()| std::fs::File::open(&path)?.sync_all());
            let _ = std::fs::remove_file(&path);
            tried
        })
        .await
        .unwrap_or_else(|e| Err(std::io::Error::other(e)));
        if let Err(e) = wrote {
            tracing::warn!(error = %e, "health check: the envelope store cannot write");
            let full = crate::store::is_storage_full(&e);
            return Some(if full { "storage full" } else { "envelope store cannot write" });
        }
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
