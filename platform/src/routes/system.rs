//! Health and the platform's public key.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::state::AppState;

/// `GET /healthz`: 200 when the database answers, 503 otherwise.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "The database answers", body = Object), (status = 503, description = "Database unavailable", body = Object)))]
pub async fn healthz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    match state.db.fetch_one::<(i64,)>("SELECT 1", &[]).await {
        Ok(_) => (StatusCode::OK, Json(json!({ "status": "ok" }))),
        Err(e) => {
            tracing::warn!(error = %e, "health check: database unavailable");
            (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "status": "database unavailable" })))
        }
    }
}

/// `GET /api/v1/keys/platform`: the key every envelope must be wrapped for.
#[utoipa::path(get, path = "/api/v1/keys/platform", tag = "keys",
    responses((status = 200, description = "The key every envelope must be wrapped for", body = Object)))]
pub async fn platform_key(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let keys = state.keys.read().await;
    let key = keys.active().public_key();
    Ok(Json(json!({
        "key_id": key.key_id().to_hex(),
        "algorithm": "RSA-OAEP-SHA256",
        "bits": key.wrapped_len() * 8,
        "public_key_pem": key.to_pem().map_err(ApiError::internal)?,
    })))
}
