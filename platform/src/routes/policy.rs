//! The caller's tenant policy (`GET /api/v1/policy`, which the helper caches and decides
//! from). The type and the rules belong to the crate `sealpost-policy`.

use axum::Json;
use axum::extract::State;
use sealpost_policy::Policy;

use crate::error::ApiError;
use crate::state::AppState;
use crate::store::accounts::{self, AuthUser};

/// `GET /api/v1/policy`: the caller's tenant policy (the helper caches it).
#[utoipa::path(get, path = "/api/v1/policy", tag = "policy", security(("device_token" = [])),
    responses((status = 200, description = "The caller's tenant policy", body = Policy), (status = 401, description = "Missing, unknown or revoked device token", body = crate::routes::openapi::ErrorBody)))]
pub async fn policy(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<Json<Policy>, ApiError> {
    Ok(Json(accounts::policy(&state.db, user.tenant_id).await?))
}
