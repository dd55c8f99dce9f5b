//! The headers every response of the platform carries, API and Message Center alike (one
//! owner, so neither front imports the other for them).

use axum::http::{HeaderMap, HeaderValue, header};

/// What every response of the platform carries, API and Message Center alike: never cached
/// (a slip lists Bcc recipients), never sniffed into another type, never framed, no referrer,
/// HTTPS only from now on.
pub(crate) fn headers(h: &mut HeaderMap) {
    framable_headers(h);
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

/// [`headers`] and the page's Content-Security-Policy `csp`: the Message Center's and the
/// admin console's pages.
pub(crate) fn page_headers(h: &mut HeaderMap, csp: &'static str) {
    headers(h);
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(csp));
}

/// [`headers`] but for the framing: for the Outlook add-in's pages, which Outlook frames and
/// which say who may frame them with `frame-ancestors` (`crate::outlook`).
pub(crate) fn framable_headers(h: &mut HeaderMap) {
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000"));
}
