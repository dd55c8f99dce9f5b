//! The HTTP API, one module per resource, and the router that joins them. The router also
//! collects the OpenAPI document from the handlers' annotations (see `openapi`).

pub mod account;
pub mod keys;
pub mod messages;
pub mod openapi;
pub mod policy;
pub mod system;

use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use axum::{Json, Router};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// Largest JSON request body (slips, sign-ins): 1 MiB.
pub const MAX_JSON_BODY: usize = 1 << 20;

/// The API routes, with what the API answers besides them (its OpenAPI document, the
/// metrics) and its headers; `startup::app` joins it with the Message Center.
pub fn with_document(segment_limit: usize) -> Router<AppState> {
    let (api, doc) = api(segment_limit);
    api.route("/api/v1/openapi.json", get(move || async move { Json(doc) }))
        .route("/metrics", get(crate::telemetry::render))
        .layer(axum::middleware::from_fn(api_headers))
}

async fn api_headers(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let mut response = next.run(request).await;
    crate::harden::headers(response.headers_mut());
    response
}

/// The API routes and the OpenAPI document describing them (also printed by
/// `sealpost-platform openapi`).
pub fn api(segment_limit: usize) -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let uploads = OpenApiRouter::new()
        .routes(routes!(messages::upload_offset, messages::upload))
        .layer(DefaultBodyLimit::max(segment_limit));
    let classify = OpenApiRouter::new()
        .routes(routes!(policy::classify))
        .layer(DefaultBodyLimit::max(policy::MAX_CLASSIFY_BODY));
    let (router, doc) = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(system::healthz))
        .routes(routes!(system::readyz))
        .routes(routes!(system::platform_key))
        .routes(routes!(keys::mine, keys::register))
        .routes(routes!(keys::lookup))
        .routes(routes!(account::sign_in))
        .routes(routes!(account::me))
        .routes(routes!(account::totp_begin, account::totp_disable))
        .routes(routes!(account::totp_confirm))
        .routes(routes!(account::tokens))
        .routes(routes!(account::revoke))
        .routes(routes!(policy::policy))
        .routes(routes!(messages::create, messages::list))
        .routes(routes!(messages::get, messages::change))
        .routes(routes!(messages::finalise))
        .routes(routes!(messages::recall))
        .routes(routes!(messages::set_unlock_code))
        .routes(routes!(messages::sent))
        .layer(DefaultBodyLimit::max(MAX_JSON_BODY))
        .merge(uploads)
        .merge(classify)
        .split_for_parts();
    // The path helpers signed in at before "sign-in" became the one name; not in the document.
    let legacy = axum::routing::post(account::sign_in).layer(DefaultBodyLimit::max(MAX_JSON_BODY));
    (router.route("/api/v1/auth/login", legacy), doc)
}
