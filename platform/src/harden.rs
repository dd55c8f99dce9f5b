//! The headers every response of the platform carries, API and Message Center alike (one
//! owner, so neither front imports the other for them).

/// What every response of the platform carries, API and Message Center alike: never cached
/// (a slip lists Bcc recipients), never sniffed into another type, never framed, no referrer,
/// HTTPS only from now on.
pub(crate) fn headers(h: &mut axum::http::HeaderMap) {
    use axum::http::{HeaderValue, header};
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000"));
}
