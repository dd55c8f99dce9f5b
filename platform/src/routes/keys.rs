//! `/api/v1/keys/…`: the caller's own public keys, and the lookup a sender's helper does
//! before sealing (recipients' registered keys, the tenant's compliance key).

use axum::Json;
use axum::extract::{Query, State};
use sealpost_envelope::PublicKey;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::domain::EmailAddress;
use crate::error::{ApiError, ApiJson};
use crate::state::AppState;
use crate::store::accounts::{self, AuthUser};
use crate::store::{audit, user_keys};

/// Most addresses in one lookup.
pub const MAX_LOOKUP: usize = 100;

/// Body of `PUT /api/v1/keys/mine`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterKey {
    /// SubjectPublicKeyInfo PEM of an RSA key of 3072 to 8192 bits.
    pub public_key_pem: String,
}

/// `PUT /api/v1/keys/mine`: register or rotate the caller's public key.
#[utoipa::path(put, path = "/api/v1/keys/mine", tag = "keys", security(("device_token" = [])), request_body = RegisterKey,
    responses((status = 200, description = "Registered; now the active key", body = Object), (status = 422, description = "Refused (see the error code)", body = crate::routes::openapi::ErrorBody)))]
pub async fn register(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(req): ApiJson<RegisterKey>,
) -> Result<Json<Value>, ApiError> {
    if req.public_key_pem.len() > 16 * 1024 {
        return Err(ApiError::bad_request("the public key is larger than 16 KiB"));
    }
    let key = PublicKey::parse(req.public_key_pem.as_bytes())
        .map_err(|e| ApiError::unprocessable("bad_key", e.to_string()))?;
    user_keys::register(&state.db, user.user_id, &key).await?;
    audit::append(
        &state.db,
        Some(user.tenant_id),
        &user.email,
        "key.registered",
        &key.key_id().to_hex(),
    )
    .await?;
    Ok(Json(json!({ "key_id": key.key_id().to_hex() })))
}

/// `GET /api/v1/keys/mine`: the caller's keys, the active one first.
#[utoipa::path(get, path = "/api/v1/keys/mine", tag = "keys", security(("device_token" = [])),
    responses((status = 200, description = "The caller's keys, active first", body = Object)))]
pub async fn mine(State(state): State<AppState>, user: AuthUser) -> Result<Json<Value>, ApiError> {
    Ok(Json(json!({ "keys": user_keys::list(&state.db, user.user_id).await? })))
}

/// Query of the key lookup.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct LookupQuery {
    /// Comma-separated addresses (addresses cannot contain commas).
    pub email: String,
}

/// `GET /api/v1/keys/lookup?email=a@x,b@y`: the registered keys of those addresses that have
/// one, and the caller's tenant compliance key when its policy asks for a compliance copy.
#[utoipa::path(get, path = "/api/v1/keys/lookup", tag = "keys", security(("device_token" = [])), params(LookupQuery),
    responses((status = 200, description = "Registered keys and the compliance key", body = Object), (status = 400, description = "The request is malformed", body = crate::routes::openapi::ErrorBody)))]
pub async fn lookup(
    State(state): State<AppState>,
    user: AuthUser,
    Query(q): Query<LookupQuery>,
) -> Result<Json<Value>, ApiError> {
    let parts: Vec<&str> = q.email.split(',').filter(|s| !s.trim().is_empty()).collect();
    if parts.len() > MAX_LOOKUP {
        return Err(ApiError::bad_request(format!("at most {MAX_LOOKUP} addresses per lookup")));
    }
    let mut keys = Vec::new();
    for part in parts {
        let e = EmailAddress::parse(part).map_err(ApiError::bad_request)?;
        if let Some(k) = user_keys::active_for(&state.db, e.as_str()).await? {
            keys.push(
                json!({ "email": e, "key_id": k.key_id, "public_key_pem": k.public_key_pem }),
            );
        }
    }
    let policy = accounts::policy(&state.db, user.tenant_id).await?;
    let compliance = if policy.compliance_copy {
        user_keys::compliance_key(&state.db, user.tenant_id)
            .await?
            .map(|k| json!({ "key_id": k.key_id, "public_key_pem": k.public_key_pem }))
    } else {
        None
    };
    Ok(Json(json!({ "keys": keys, "compliance": compliance })))
}
