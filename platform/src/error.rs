//! API errors: every failure a client sees is JSON `{"error": {"code", "message", …}}` with
//! the right status, a stable code and a message a person can act on. Internal failures are
//! logged here and shown only as "internal error": no SQL, no paths, no message content.

use axum::Json;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::store::StoreError;

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    extra: Map<String, Value>,
}

impl ApiError {
    /// Any status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into(), extra: Map::new() }
    }

    /// Adds a field next to `code` and `message` (for example the current upload offset).
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> ApiError {
        self.extra.insert(key.into(), value.into());
        self
    }

    /// The stable code clients act on.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// 400: the request itself is malformed.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 401: no valid credentials.
    pub fn unauthorized() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "sign in again: the device token is missing, unknown or revoked",
        )
    }

    /// 403: signed in, but not allowed.
    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 404, also for things that exist but belong to someone else.
    pub fn not_found(what: &str) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("no such {what}"))
    }

    /// 409.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, code, message)
    }

    /// 410: the message was recalled or has expired.
    pub fn gone(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::GONE, code, message)
    }

    /// 413.
    pub fn too_large(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", message)
    }

    /// 422 with a specific code.
    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    /// 507: the disk (or quota) under the database or the envelope store is full; nothing of
    /// the request was kept. Logged, since an operator must act.
    pub fn storage_full(cause: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %cause, "storage is full");
        metrics::counter!("sealpost_storage_full_total").increment(1);
        ApiError::new(
            StatusCode::INSUFFICIENT_STORAGE,
            "storage_full",
            "the platform's storage is full, so nothing was kept; try again later, and tell \
             your administrator if it persists (the platform's disk or database needs space)",
        )
    }

    /// A file or object store operation failed: 507 when the disk is full, else 500.
    pub fn io(e: std::io::Error) -> ApiError {
        if crate::store::is_storage_full(&e) {
            ApiError::storage_full(e)
        } else {
            ApiError::internal(e)
        }
    }

    /// 500; logs the cause.
    pub fn internal(cause: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %cause, "internal error");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; it has been logged",
        )
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl std::error::Error for ApiError {}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = Map::new();
        body.insert("code".into(), self.code.into());
        body.insert("message".into(), self.message.into());
        body.extend(self.extra);
        (self.status, Json(json!({ "error": body }))).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        if e.is_storage_full() { ApiError::storage_full(e) } else { ApiError::internal(e) }
    }
}

impl From<sealpost_envelope::Error> for ApiError {
    fn from(e: sealpost_envelope::Error) -> ApiError {
        let status = match &e {
            sealpost_envelope::Error::LimitExceeded { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            sealpost_envelope::Error::Io(_) => return ApiError::internal(e),
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        };
        ApiError::new(status, e.code(), format!("envelope rejected: {e}"))
    }
}

/// `Json<T>` whose rejections are [`ApiError`]s (400 with what was wrong).
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    Json<T>: FromRequest<S, Rejection = axum::extract::rejection::JsonRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        Json::<T>::from_request(req, state)
            .await
            .map(|Json(v)| ApiJson(v))
            .map_err(|e| ApiError::bad_request(e.body_text()))
    }
}
