//! The Outlook add-in, served by the platform so that IT deploys one URL:
//! `/outlook/manifest.xml` (the manifest with this platform's origin filled in), the add-in's
//! pages, scripts and icons under `/outlook/` (built by `outlook-addin/build.mjs` into
//! `outlook-addin/dist/` and embedded here, so running the platform needs no Node.js), and
//! `/.well-known/microsoft-officeaddins-allowed.json`, which classic Outlook's JavaScript-only
//! runtime checks before its requests may reach this origin.
//!
//! Outlook frames the add-in's pages, so they carry `frame-ancestors` with the configured
//! Outlook origins instead of the `DENY` every other response has.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

use crate::state::AppState;

/// One file of the built add-in.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

macro_rules! asset {
    ($name:literal, $type:literal) => {
        Asset {
            name: $name,
            content_type: $type,
            bytes: include_bytes!(concat!("../../outlook-addin/dist/", $name)),
        }
    };
}

const ASSETS: &[Asset] = &[
    asset!("commands.html", "text/html; charset=utf-8"),
    asset!("commands.js", "text/javascript; charset=utf-8"),
    asset!("taskpane.html", "text/html; charset=utf-8"),
    asset!("taskpane.js", "text/javascript; charset=utf-8"),
    asset!("taskpane.css", "text/css; charset=utf-8"),
    asset!("icon-16.png", "image/png"),
    asset!("icon-32.png", "image/png"),
    asset!("icon-64.png", "image/png"),
    asset!("icon-80.png", "image/png"),
    asset!("icon-128.png", "image/png"),
];

/// The manifest as written, with `{{ORIGIN}}` where this platform's origin goes.
const MANIFEST_TEMPLATE: &str = include_str!("../../outlook-addin/manifest.xml");

/// The scripts classic Outlook's JavaScript-only runtime may run against this origin.
const RUNTIME_SCRIPTS: &[&str] = &["commands.js"];

/// The add-in's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/outlook/manifest.xml", get(manifest))
        .route("/outlook/{file}", get(asset))
        .route("/.well-known/microsoft-officeaddins-allowed.json", get(allowed_scripts))
}

/// This platform's origin as people reach it (`public_url` without a trailing slash).
fn origin(state: &AppState) -> &str {
    state.public_url.trim_end_matches('/')
}

async fn manifest(State(state): State<AppState>) -> Response {
    let xml = MANIFEST_TEMPLATE.replace("{{ORIGIN}}", &xml_escape(origin(&state)));
    let mut r = ([(header::CONTENT_TYPE, "application/xml; charset=utf-8")], xml).into_response();
    crate::harden::headers(r.headers_mut());
    r
}

async fn asset(State(state): State<AppState>, Path(file): Path<String>) -> Response {
    let Some(a) = ASSETS.iter().find(|a| a.name == file) else {
        let mut r = (StatusCode::NOT_FOUND, "no such file").into_response();
        crate::harden::headers(r.headers_mut());
        return r;
    };
    let mut r = ([(header::CONTENT_TYPE, a.content_type)], a.bytes).into_response();
    let h = r.headers_mut();
    crate::harden::framable_headers(h);
    // Never served without its policy: the sources were checked at start-up (config::check).
    let csp = HeaderValue::from_str(&page_policy(&state.settings.outlook_frame_ancestors))
        .expect("outlook_frame_ancestors holds only https origins");
    h.insert(header::CONTENT_SECURITY_POLICY, csp);
    r
}

/// The add-in's pages run only their own scripts and Office.js (which Office add-ins must load
/// from Microsoft's CDN), talk only to this origin and to the helper's bridge on this computer,
/// and may be framed only by Outlook (`outlook_frame_ancestors`, checked at start-up to hold
/// nothing but `https://` origins).
fn page_policy(frame_ancestors: &str) -> String {
    format!(
        "default-src 'none'; script-src 'self' https://appsforoffice.microsoft.com; \
         style-src 'self'; img-src 'self'; connect-src 'self' http://127.0.0.1:*; \
         form-action 'none'; base-uri 'none'; frame-ancestors 'self' {frame_ancestors}"
    )
}

/// `{"allowed": [script URLs]}`: the scripts of this origin that classic Outlook's
/// JavaScript-only runtime may run with this origin's permission (CORS).
#[derive(serde::Serialize)]
struct AllowedScripts {
    allowed: Vec<String>,
}

async fn allowed_scripts(State(state): State<AppState>) -> Response {
    let o = origin(&state);
    let allowed = RUNTIME_SCRIPTS.iter().map(|s| format!("{o}/outlook/{s}")).collect();
    let mut r = Json(AllowedScripts { allowed }).into_response();
    crate::harden::headers(r.headers_mut());
    r
}

/// Escapes text for an XML attribute or element.
fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}
