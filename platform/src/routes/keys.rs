//! `/api/v1/keys/…`: the caller's own public keys, and the lookup a sender's helper does
//! before sealing (recipients' registered keys, the tenant's compliance key).

use axum::Json;
use axum::extract::{Query, State};
use sealpost_envelope::PublicKey;
use serde::{Deserialize, Serialize};

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
    responses((status = 200, description = "Registered; now the active key", body = KeyId), (status = 422, description = "Refused (see the error code)", body = crate::routes::openapi::ErrorBody)))]
pub async fn register(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(req): ApiJson<RegisterKey>,
) -> Result<Json<KeyId>, ApiError> {
    if req.public_key_pem.len() > MAX_KEY_PEM_BYTES {
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
    Ok(Json(KeyId { key_id: key.key_id().to_hex() }))
}

/// Largest public key PEM accepted, in bytes.
pub const MAX_KEY_PEM_BYTES: usize = 16 * 1024;

/// A key's id.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct KeyId {
    /// Hex SHA-256 of the key's SubjectPublicKeyInfo.
    pub key_id: String,
}

/// The caller's keys.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct KeyList {
    /// The active one first.
    pub keys: Vec<user_keys::RegisteredKey>,
}

/// A public key found for an address.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FoundKey {
    /// The address.
    #[schema(value_type = String)]
    pub email: EmailAddress,
    /// Hex SHA-256 of the SPKI.
    pub key_id: String,
    /// SubjectPublicKeyInfo PEM.
    pub public_key_pem: String,
}

/// The tenant's compliance key.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ComplianceKey {
    /// Hex SHA-256 of the SPKI.
    pub key_id: String,
    /// SubjectPublicKeyInfo PEM.
    pub public_key_pem: String,
}

/// What a key lookup found.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Lookup {
    /// The registered keys of those addresses that have one.
    pub keys: Vec<FoundKey>,
    /// The compliance key, when the tenant's policy asks for a compliance copy.
    pub compliance: Option<ComplianceKey>,
}

/// `GET /api/v1/keys/mine`: the caller's keys, the active one first.
#[utoipa::path(get, path = "/api/v1/keys/mine", tag = "keys", security(("device_token" = [])),
    responses((status = 200, description = "The caller's keys, active first", body = KeyList)))]
pub async fn mine(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<Json<KeyList>, ApiError> {
    Ok(Json(KeyList { keys: user_keys::list(&state.db, user.user_id).await? }))
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
    responses((status = 200, description = "Registered keys and the compliance key", body = Lookup), (status = 400, description = "The request is malformed", body = crate::routes::openapi::ErrorBody)))]
pub async fn lookup(
    State(state): State<AppState>,
    user: AuthUser,
    Query(q): Query<LookupQuery>,
) -> Result<Json<Lookup>, ApiError> {
    let parts: Vec<&str> = q.email.split(',').filter(|s| !s.trim().is_empty()).collect();
    if parts.len() > MAX_LOOKUP {
        return Err(ApiError::bad_request(format!("at most {MAX_LOOKUP} addresses per lookup")));
    }
    let mut keys = Vec::new();
    for part in parts {
        let e = EmailAddress::parse(part).map_err(ApiError::bad_request)?;
        if let Some(k) = user_keys::active_for(&state.db, e.as_str()).await? {
            keys.push(FoundKey { email: e, key_id: k.key_id, public_key_pem: k.public_key_pem });
        }
    }
    let policy = accounts::policy(&state.db, user.tenant_id).await?;
    let compliance = if policy.compliance_copy {
        user_keys::compliance_key(&state.db, user.tenant_id)
            .await?
            .map(|k| ComplianceKey { key_id: k.key_id, public_key_pem: k.public_key_pem })
    } else {
        None
    };
    Ok(Json(Lookup { keys, compliance }))
}
