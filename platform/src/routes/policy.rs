//! The caller's tenant policy: the document (`GET /api/v1/policy`, which the helper caches and
//! decides from) and its decision for one message (`POST /api/v1/classify`, for clients that
//! must not decide themselves, such as the Outlook add-in's direct mode). The rules belong to
//! the crate `sealpost-policy`; this file only reads the tenant's policy and bounds the input.

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use sealpost_policy::{Candidate, Decision, MAX_SCANNED_BODY, Policy};
use serde::Deserialize;

use crate::error::ApiError;
use crate::messages::slip::MAX_RECIPIENTS;
use crate::state::AppState;
use crate::store::accounts::{self, AuthUser};

/// Largest `POST /api/v1/classify` body: 9 MiB. Each of the two bodies is scanned up to
/// [`MAX_SCANNED_BODY`] (4 MiB) and the rest is never looked at, so a client clips each body
/// to that plus one byte (the answer is the same: `dlp_truncated`) and stays under this cap
/// with 1 MiB to spare for recipients, subject and JSON escaping.
pub const MAX_CLASSIFY_BODY: usize = 2 * MAX_SCANNED_BODY + (1 << 20);

/// `GET /api/v1/policy`: the caller's tenant policy (the helper caches it).
#[utoipa::path(get, path = "/api/v1/policy", tag = "policy", security(("device_token" = [])),
    responses((status = 200, description = "The caller's tenant policy", body = Policy), (status = 401, description = "Missing, unknown or revoked device token", body = crate::routes::openapi::ErrorBody)))]
pub async fn policy(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<Json<Policy>, ApiError> {
    Ok(Json(accounts::policy(&state.db, user.tenant_id).await?))
}

/// Body of `POST /api/v1/classify`: the same question the helper answers over native
/// messaging (`classify`).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClassifyRequest {
    /// The message as the policy sees it. At most 500 recipients (as many as one message
    /// may have); text and HTML are scanned up to 4 MiB each.
    pub candidate: Candidate,
    /// The user's "Send secure" toggle: `true` secures any message; `false` or `null` leaves
    /// it to policy, which the user cannot switch off.
    #[serde(default)]
    pub toggle: Option<bool>,
}

/// `POST /api/v1/classify`: whether the caller's tenant policy requires securing a message,
/// and why.
#[utoipa::path(post, path = "/api/v1/classify", tag = "policy", security(("device_token" = [])), request_body = ClassifyRequest,
    responses(
        (status = 200, description = "The decision for the caller's tenant policy", body = Decision),
        (status = 400, description = "The request is malformed, or lists more than 500 recipients", body = crate::routes::openapi::ErrorBody),
        (status = 401, description = "Missing, unknown or revoked device token", body = crate::routes::openapi::ErrorBody),
        (status = 413, description = "The body is over 9 MiB: send at most 4 MiB (and one byte) of each of text and HTML", body = crate::routes::openapi::ErrorBody),
    ))]
pub async fn classify(
    State(state): State<AppState>,
    user: AuthUser,
    request: Result<Json<ClassifyRequest>, JsonRejection>,
) -> Result<Json<Decision>, ApiError> {
    let Json(request) = request.map_err(|e| match e.status() {
        // A body over the cap is the client's to clip: say how, with the status that means it.
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::too_large(format!(
            "a classify request is at most {} MiB; send at most {} bytes of each of text \
             and HTML (the rest is never scanned)",
            MAX_CLASSIFY_BODY >> 20,
            MAX_SCANNED_BODY + 1
        )),
        _ => ApiError::bad_request(e.body_text()),
    })?;
    if request.candidate.recipients.len() > MAX_RECIPIENTS {
        return Err(ApiError::bad_request(format!("at most {MAX_RECIPIENTS} recipients")));
    }
    let policy = accounts::policy(&state.db, user.tenant_id).await?;
    // Up to 8 MiB of regular-expression scanning: off the threads that serve requests.
    let decision = tokio::task::spawn_blocking(move || {
        sealpost_policy::classify(&policy, &request.candidate, request.toggle)
    })
    .await
    .map_err(ApiError::internal)?;
    Ok(Json(decision))
}
