//! Signing in (device tokens for the helper), the caller's identity and tokens.

use axum::Json;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::db::now_ms;
use crate::domain::{EmailAddress, Role};
use crate::error::{ApiError, ApiJson};
use crate::ratelimit::Allowance;
use crate::state::AppState;
use crate::store::accounts::{self, AuthUser, LoginRefused};
use crate::store::audit;
use crate::store::totp::{self, Owner};

/// Body of `POST /api/v1/auth/sign-in`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    /// The user's address.
    pub email: String,
    /// Password (never logged; zeroized after use).
    #[schema(value_type = String, format = Password)]
    pub password: Zeroizing<String>,
    /// Name of the device the token is for, shown in the token list.
    #[serde(default)]
    pub device: Option<String>,
    /// The current TOTP code, for users who enabled the second factor.
    #[serde(default)]
    pub totp: Option<String>,
}

/// Longest password accepted, in bytes.
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// Longest device name, in characters.
pub const MAX_DEVICE_NAME_CHARS: usize = 100;

/// Who is signed in.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Identity {
    /// The user's address.
    pub email: String,
    /// Sender or admin.
    pub role: Role,
}

/// A device signed in: its token, shown this once.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SignedIn {
    /// The device token: `Authorization: Bearer <token>` from now on.
    pub token: String,
    /// The token's id (to revoke it, `DELETE /api/v1/tokens/{id}`).
    pub token_id: i64,
    /// Who signed in.
    pub user: Identity,
}

/// `POST /api/v1/auth/sign-in`: password sign-in; answers with a device token (shown once).
/// `POST /api/v1/auth/login` is the same, kept for helpers installed before the rename.
#[utoipa::path(post, path = "/api/v1/auth/sign-in", tag = "account", request_body = SignIn,
    responses(
        (status = 201, description = "Signed in; the device token is shown once", body = SignedIn),
        (status = 401, description = "bad_credentials or totp_required", body = crate::routes::openapi::ErrorBody),
        (status = 429, description = "locked (too many failures for the account) or rate_limited (too many attempts from the address)", body = crate::routes::openapi::ErrorBody),
    ))]
pub async fn sign_in(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: axum::http::HeaderMap,
    ApiJson(req): ApiJson<SignIn>,
) -> Result<(StatusCode, Json<SignedIn>), ApiError> {
    let client = crate::ratelimit::client_of(peer.ip(), &headers, &state.settings.trusted_proxies);
    let per_minute = state.settings.sign_in_attempts_per_minute;
    if let Allowance::Exceeded { retry_after_secs: wait } =
        crate::ratelimit::sign_in_attempt(&state.db, client, per_minute).await?
    {
        metrics::counter!("sealpost_logins_total", "result" => "rate_limited").increment(1);
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many sign-in attempts from this address; wait a minute",
        )
        .with("retry_after_seconds", wait));
    }
    if req.password.len() > MAX_PASSWORD_BYTES {
        return Err(ApiError::bad_request(format!(
            "the password is longer than {MAX_PASSWORD_BYTES} bytes"
        )));
    }
    let device = req.device.unwrap_or_else(|| "device".into());
    if device.chars().count() > MAX_DEVICE_NAME_CHARS {
        return Err(ApiError::bad_request(format!(
            "the device name is longer than {MAX_DEVICE_NAME_CHARS} characters"
        )));
    }
    let bad = || {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "bad_credentials",
            "wrong email address or password",
        )
    };
    let email = EmailAddress::parse(&req.email).map_err(|_| bad())?;
    let refused =
        accounts::verify_login(&state.db, &state.master, &email, req.password, req.totp.as_deref());
    match refused.await? {
        Ok(user) => {
            let (id, token) =
                accounts::create_device_token(&state.db, user.user_id, &device).await?;
            let detail = format!("token {id} for device {device:?}");
            audit::append(
                &state.db,
                Some(user.tenant_id),
                &user.email,
                "sign_in.succeeded",
                &detail,
            )
            .await?;
            metrics::counter!("sealpost_logins_total", "result" => "succeeded").increment(1);
            let user = Identity { email: user.email, role: user.role };
            Ok((
                StatusCode::CREATED,
                Json(SignedIn { token: token.to_string(), token_id: id, user }),
            ))
        }
        Err(LoginRefused::BadCredentials) => {
            audit::append(&state.db, None, email.as_str(), "sign_in.failed", "bad credentials")
                .await?;
            metrics::counter!("sealpost_logins_total", "result" => "failed").increment(1);
            Err(bad())
        }
        Err(LoginRefused::TotpRequired) => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "totp_required",
            "enter the 6-digit code from your authenticator app",
        )),
        Err(LoginRefused::Locked { until }) => {
            audit::append(&state.db, None, email.as_str(), "sign_in.refused", "account locked")
                .await?;
            metrics::counter!("sealpost_logins_total", "result" => "locked").increment(1);
            Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "locked",
                "too many failed sign-ins; the account is locked for a while",
            )
            .with("retry_after_seconds", ((until - now_ms()) / 1000).max(1)))
        }
    }
}

/// `GET /api/v1/me`
#[utoipa::path(get, path = "/api/v1/me", tag = "account", security(("device_token" = [])),
    responses((status = 200, description = "Who the token belongs to", body = Me), (status = 401, description = "Missing, unknown or revoked device token", body = crate::routes::openapi::ErrorBody)))]
pub async fn me(user: AuthUser) -> Json<Me> {
    Json(Me { identity: Identity { email: user.email, role: user.role }, token_id: user.token_id })
}

/// The caller, as `GET /api/v1/me` shows them.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Me {
    /// Who.
    #[serde(flatten)]
    pub identity: Identity,
    /// The device token in use.
    pub token_id: Option<i64>,
}

/// The caller's device tokens.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenList {
    /// Every token, revoked ones too, oldest first (never the token itself).
    pub tokens: Vec<accounts::TokenInfo>,
}

/// `GET /api/v1/tokens`: the caller's device tokens.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "account", security(("device_token" = [])),
    responses((status = 200, description = "The caller's device tokens", body = TokenList), (status = 401, description = "Missing, unknown or revoked device token", body = crate::routes::openapi::ErrorBody)))]
pub async fn tokens(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<Json<TokenList>, ApiError> {
    Ok(Json(TokenList { tokens: accounts::list_tokens(&state.db, user.user_id).await? }))
}

/// `DELETE /api/v1/tokens/{id}`: revoke one of the caller's tokens (`current` for the one in
/// use, which is how the helper signs out).
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "account", security(("device_token" = [])),
    params(("id" = String, Path, description = "Token id, or `current` for the token in use")),
    responses((status = 204, description = "Revoked"), (status = 401, description = "Missing, unknown or revoked device token", body = crate::routes::openapi::ErrorBody), (status = 404, description = "No such thing (or not yours)", body = crate::routes::openapi::ErrorBody)))]
pub async fn revoke(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let token_id = match id.as_str() {
        "current" => user.token_id.ok_or_else(|| ApiError::not_found("token"))?,
        other => other.parse().map_err(|_| ApiError::not_found("token"))?,
    };
    if accounts::revoke_token(&state.db, user.user_id, token_id).await? {
        let detail = format!("token {token_id}");
        audit::append(&state.db, Some(user.tenant_id), &user.email, "token.revoked", &detail)
            .await?;
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("token"))
    }
}

/// `POST /api/v1/me/totp`: start enrolling the TOTP second factor; answers with the secret
/// and an `otpauth://` URL for the authenticator. Not required at sign-in until confirmed.
#[utoipa::path(post, path = "/api/v1/me/totp", tag = "account", security(("device_token" = [])),
    responses((status = 200, description = "Secret and otpauth URL", body = crate::store::totp::Enrolment), (status = 409, description = "Conflicts with the current state", body = crate::routes::openapi::ErrorBody)))]
pub async fn totp_begin(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<Json<totp::Enrolment>, ApiError> {
    match totp::begin(&state.db, &state.master, Owner::User(user.user_id), &user.email).await? {
        Some(e) => Ok(Json(e)),
        None => Err(ApiError::conflict(
            "totp_enabled",
            "two-factor sign-in is already on; turn it off first",
        )),
    }
}

/// Body with a TOTP code.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TotpCode {
    /// The current 6-digit code.
    pub code: String,
}

/// `POST /api/v1/me/totp/confirm`: a correct code turns the second factor on.
#[utoipa::path(post, path = "/api/v1/me/totp/confirm", tag = "account", security(("device_token" = [])), request_body = TotpCode,
    responses((status = 200, description = "Two-factor sign-in is on", body = TotpState), (status = 422, description = "Refused (see the error code)", body = crate::routes::openapi::ErrorBody)))]
pub async fn totp_confirm(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(req): ApiJson<TotpCode>,
) -> Result<Json<TotpState>, ApiError> {
    if !totp::check(&state.db, &state.master, Owner::User(user.user_id), &req.code).await? {
        return Err(ApiError::unprocessable(
            "bad_code",
            "that code is not right; check the authenticator's clock",
        ));
    }
    totp::set_enabled(&state.db, Owner::User(user.user_id), true).await?;
    audit::append(&state.db, Some(user.tenant_id), &user.email, "totp.enabled", "").await?;
    Ok(Json(TotpState { totp: TotpSwitch::Enabled }))
}

/// Whether two-factor sign-in is on.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TotpState {
    /// Its state.
    pub totp: TotpSwitch,
}

/// On or off.
#[derive(Clone, Copy, Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TotpSwitch {
    /// A code is asked at every sign-in.
    Enabled,
}

/// `DELETE /api/v1/me/totp` with a current code: turns the second factor off.
#[utoipa::path(delete, path = "/api/v1/me/totp", tag = "account", security(("device_token" = [])), request_body = TotpCode,
    responses((status = 204, description = "Two-factor sign-in is off"), (status = 404, description = "No such thing (or not yours)", body = crate::routes::openapi::ErrorBody), (status = 422, description = "Refused (see the error code)", body = crate::routes::openapi::ErrorBody)))]
pub async fn totp_disable(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(req): ApiJson<TotpCode>,
) -> Result<StatusCode, ApiError> {
    if !totp::enabled(&state.db, Owner::User(user.user_id)).await? {
        return Err(ApiError::not_found("second factor"));
    }
    if !totp::check(&state.db, &state.master, Owner::User(user.user_id), &req.code).await? {
        return Err(ApiError::unprocessable("bad_code", "that code is not right"));
    }
    totp::set_enabled(&state.db, Owner::User(user.user_id), false).await?;
    // A console session stands on the factor: it ends with it.
    crate::store::console_sessions::end_all_of(&state.db, user.user_id).await?;
    audit::append(&state.db, Some(user.tenant_id), &user.email, "totp.disabled", "").await?;
    Ok(StatusCode::NO_CONTENT)
}
