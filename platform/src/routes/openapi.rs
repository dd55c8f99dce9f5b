//! The OpenAPI document, generated from the handlers' annotations as the router is built
//! (`utoipa-axum` collects each route's path item when it is registered), and served at
//! `/api/v1/openapi.json`.

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

/// Every error body: `{"error": {"code", "message", …}}`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ErrorBody {
    /// The error.
    error: ErrorDetail,
}

/// The inside of an error body.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ErrorDetail {
    /// Stable machine-readable code (`offset_mismatch`, `slip_mismatch`, …).
    code: String,
    /// For a person to read.
    message: String,
}

/// The document's root; paths are added by the router.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Sealpost platform API",
        version = "1",
        description = "Senders' and the helper's API: sign-in, keys, secure messages (create, \
                       resumable envelope upload, finalise), tracking, recall, policy. See docs/api.md."
    ),
    components(schemas(ErrorBody, ErrorDetail)),
    modifiers(&DeviceToken),
    tags(
        (name = "account", description = "Signing in, device tokens, two-factor sign-in"),
        (name = "keys", description = "The platform key, users' own keys, key lookup"),
        (name = "messages", description = "Secure messages: delivery slips, envelopes, tracking"),
        (name = "policy", description = "The tenant's send policy and its decision for a message"),
        (name = "operations", description = "Health and metrics"),
    )
)]
pub struct ApiDoc;

/// Declares the bearer scheme authenticated routes use.
struct DeviceToken;

impl Modify for DeviceToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "device_token",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}
