//! The HTTP API, one module per resource, and the router that joins them.

pub mod account;
pub mod keys;
pub mod messages;
pub mod system;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post};

use crate::state::AppState;

/// Largest JSON request body (slips, logins): 1 MiB.
pub const MAX_JSON_BODY: usize = 1 << 20;

/// All routes.
pub fn router(state: AppState) -> Router {
    crate::telemetry::handle();
    let segment_limit = usize::try_from(state.settings.max_segment_bytes).unwrap_or(usize::MAX);
    let uploads = Router::new()
        .route(
            "/api/v1/messages/{id}/envelope",
            get(messages::upload_offset).patch(messages::upload),
        )
        .layer(DefaultBodyLimit::max(segment_limit));
    Router::new()
        .route("/healthz", get(system::healthz))
        .route("/metrics", get(crate::telemetry::render))
        .route("/api/v1/keys/platform", get(system::platform_key))
        .route("/api/v1/keys/mine", get(keys::mine).put(keys::register))
        .route("/api/v1/keys/lookup", get(keys::lookup))
        .route("/api/v1/auth/login", post(account::login))
        .route("/api/v1/me", get(account::me))
        .route("/api/v1/me/totp", post(account::totp_begin).delete(account::totp_disable))
        .route("/api/v1/me/totp/confirm", post(account::totp_confirm))
        .route("/api/v1/tokens", get(account::tokens))
        .route("/api/v1/tokens/{id}", delete(account::revoke))
        .route("/api/v1/policy", get(account::policy))
        .route("/api/v1/messages", post(messages::create).get(messages::list))
        .route("/api/v1/messages/{id}", get(messages::get).patch(messages::change))
        .route("/api/v1/messages/{id}/finalise", post(messages::finalise))
        .route("/api/v1/messages/{id}/recall", post(messages::recall))
        .layer(DefaultBodyLimit::max(MAX_JSON_BODY))
        .merge(uploads)
        .route_layer(axum::middleware::from_fn(crate::telemetry::track))
        .with_state(state)
}
