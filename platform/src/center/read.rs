//! Reading a message: opened for its signed-in sender or recipient (after the unlock code,
//! where the sender set one), shown decrypted and sanitised, with the sender's delivery slip;
//! attachments streamed and decrypted, by byte range; inline images from the envelope.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;
use zeroize::Zeroizing;

use sealpost_envelope::Manifest;

use super::{
    csrf_token, internal, is_recipient, linked, not_found, page, require_session, signed_in,
    signed_in_post, unreadable, when,
};
use crate::db::now_ms;
use crate::reading::StoredMessage;
use crate::state::AppState;
use crate::store::audit;
use crate::store::mailbox as mailbox_store;
use crate::store::messages::{self, MessageRow};

struct AttachmentLine {
    name: String,
    size: String,
    href: String,
}

#[derive(Template)]
#[template(path = "center/read.html")]
struct Read {
    link: String,
    csrf: String,
    is_recipient: bool,
    can_reply_all: bool,
    archived: bool,
    is_sender: bool,
    recalled: bool,
    slip: Vec<SlipLine>,
    subject: String,
    from: String,
    to: String,
    cc: String,
    date: String,
    body_html: Option<String>,
    body_text: String,
    attachments: Vec<AttachmentLine>,
}

/// A linked message opened for the signed-in person allowed to read it.
pub(super) struct Reading {
    /// The message.
    pub m: MessageRow,
    /// Who reads it.
    pub email: String,
    /// Whether they received it (or only sent it).
    pub is_recipient: bool,
    /// Its envelope, opened.
    pub stored: StoredMessage,
    /// Its manifest.
    pub manifest: Manifest,
}

/// The linked message, opened for its signed-in sender or recipient — or the page to show
/// instead (sign in first, the unlock code first, not yours, recalled, expired).
pub(super) async fn for_reader(
    state: &AppState,
    jar: &CookieJar,
    link: &str,
) -> Result<Reading, Response> {
    let m = linked(state, link).await?;
    let Some(email) = signed_in(state, jar).await? else {
        return Err(Redirect::to(&format!("/c/open/{link}")).into_response());
    };
    let is_recipient = is_recipient(state, &m, &email).await?;
    let is_sender = m.sender_email.eq_ignore_ascii_case(&email);
    if !is_recipient && !is_sender {
        return Err(not_found());
    }
    if m.unlock_hash.is_some()
        && !is_sender
        && !mailbox_store::unlocked(&state.db, &m.id, &email).await.map_err(internal)?
    {
        return Err(Redirect::to(&format!("/c/unlock/{link}")).into_response());
    }
    let stored = StoredMessage::open(state, &m).await.map_err(unreadable)?;
    let manifest = stored.manifest(state).await.map_err(unreadable)?;
    Ok(Reading { m, email, is_recipient, stored, manifest })
}

#[derive(Template)]
#[template(path = "center/unlock.html")]
struct AskUnlockCode<'a> {
    link: &'a str,
    csrf: &'a str,
    problem: Option<&'a str>,
}

pub(super) async fn ask_unlock_code(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(link): Path<String>,
) -> Response {
    if let Err(r) = require_session(&state, &jar).await {
        return r;
    }
    let (jar, csrf) = csrf_token(jar);
    (jar, page(StatusCode::OK, &AskUnlockCode { link: &link, csrf: &csrf, problem: None }))
        .into_response()
}

#[derive(Deserialize)]
pub(super) struct UnlockRequest {
    csrf: String,
    code: String,
}

/// Checks the unlock code a signed-in recipient gives (argon2id; a few wrong ones lock them
/// out for a while).
pub(super) async fn unlock(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(link): Path<String>,
    Form(req): Form<UnlockRequest>,
) -> Response {
    let email = match signed_in_post(&state, &jar, &req.csrf).await {
        Ok(e) => e,
        Err(r) => return r,
    };
    let m = match linked(&state, &link).await {
        Ok(m) => m,
        Err(r) => return r,
    };
    let Some(hash) = m.unlock_hash.clone() else {
        return Redirect::to(&format!("/c/read/{link}")).into_response();
    };
    match is_recipient(&state, &m, &email).await {
        Ok(true) => {}
        Ok(false) => return not_found(),
        Err(r) => return r,
    }
    let refuse = |problem: &str| {
        page(
            StatusCode::UNAUTHORIZED,
            &AskUnlockCode { link: &link, csrf: &req.csrf, problem: Some(problem) },
        )
    };
    match mailbox_store::unlock_locked_until(&state.db, &m.id, &email).await {
        Ok(t) if t > now_ms() => {
            return refuse("Too many wrong unlock codes. Try again in 15 minutes.");
        }
        Ok(_) => {}
        Err(e) => return internal(e),
    }
    let code = req.code.trim();
    let right = code.len() <= 256
        && crate::store::accounts::verify_password(hash, Zeroizing::new(code.to_string())).await;
    if let Err(e) = mailbox_store::record_unlock(&state.db, &m.id, &email, right).await {
        return internal(e);
    }
    let action = if right { "message.unlocked" } else { "message.unlock_refused" };
    let _ = audit::append(&state.db, Some(m.tenant_id), &email, action, &m.id).await;
    if !right {
        return refuse("That unlock code is wrong. Ask the sender for it.");
    }
    Redirect::to(&format!("/c/read/{link}")).into_response()
}

/// One recipient's line on the delivery slip.
struct SlipLine {
    email: String,
    kind: String,
    events: String,
}

async fn slip(state: &AppState, m: &MessageRow) -> Result<Vec<SlipLine>, Response> {
    let recipients = messages::recipients(&state.db, &m.id).await.map_err(internal)?;
    let events = messages::events(&state.db, &m.id).await.map_err(internal)?;
    Ok(recipients
        .into_iter()
        .map(|(email, kind)| {
            let events = events
                .iter()
                .filter(|e| e.recipient.as_deref() == Some(email.as_str()))
                .map(|e| format!("{} {}", e.kind, when(e.at)))
                .collect::<Vec<_>>()
                .join(", ");
            SlipLine { email, kind, events }
        })
        .collect())
}

pub(super) async fn read(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(link): Path<String>,
) -> Response {
    let Reading { m, email, is_recipient, manifest, .. } =
        match for_reader(&state, &jar, &link).await {
            Ok(v) => v,
            Err(r) => return r,
        };
    if is_recipient {
        let _ = messages::add_event(&state.db, &m.id, Some(&email), "opened").await;
    }
    let _ = audit::append(&state.db, Some(m.tenant_id), &email, "message.opened", &m.id).await;
    let is_sender = m.sender_email.eq_ignore_ascii_case(&email);
    let slip = if is_sender {
        match slip(&state, &m).await {
            Ok(s) => s,
            Err(r) => return r,
        }
    } else {
        Vec::new()
    };
    let archived = is_recipient
        && matches!(
            mailbox_store::folder_of(&state.db, &m.id, &email).await,
            Ok(Some(ref f)) if f == "archive"
        );
    let meta = &manifest.metadata;
    let images = inline_images(&manifest, &link);
    let body_html = manifest.body.html.as_deref().map(|html| sanitise(html, images));
    let (jar, csrf) = csrf_token(jar);
    let page = page(
        StatusCode::OK,
        &Read {
            link: link.clone(),
            csrf,
            subject: meta.subject.clone(),
            from: meta.from.clone(),
            to: meta.to.join(", "),
            cc: meta.cc.join(", "),
            date: meta.date.clone(),
            body_text: manifest.body.text.clone().unwrap_or_default(),
            body_html,
            attachments: manifest
                .attachments
                .iter()
                .map(|a| AttachmentLine {
                    name: a.name.clone(),
                    size: human_size(a.size),
                    href: format!("/c/read/{link}/attachments/{}", a.part),
                })
                .collect(),
            is_recipient,
            can_reply_all: meta.to.len() + meta.cc.len() > 1,
            archived,
            is_sender,
            recalled: m.recalled_at.is_some(),
            slip,
        },
    );
    (jar, page).into_response()
}

/// One attachment, decrypted as it streams; a single byte range (`Range: bytes=…`) is served
/// as 206. Always `application/octet-stream` and `attachment`: the browser saves it and never
/// renders it in the Center's origin.
pub(super) async fn download(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    Path((link, part)): Path<(String, u32)>,
) -> Response {
    let Reading { m, email, stored, manifest, .. } = match for_reader(&state, &jar, &link).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(attachment) = manifest.attachments.iter().find(|a| a.part == part) else {
        return not_found();
    };
    let len = attachment.size;
    let wanted = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    let range = match wanted.map(|r| parse_range(r, len)) {
        None => None,
        Some(Some(r)) => Some(r),
        Some(None) => {
            return (
                StatusCode::RANGE_NOT_SATISFIABLE,
                [(header::CONTENT_RANGE, format!("bytes */{len}"))],
            )
                .into_response();
        }
    };
    if range.as_ref().is_none_or(|r| r.start == 0) {
        let _ = messages::add_event(&state.db, &m.id, Some(&email), "downloaded").await;
        let _ = audit::append(
            &state.db,
            Some(m.tenant_id),
            &email,
            "attachment.downloaded",
            &format!("{} part {part}", m.id),
        )
        .await;
    }
    let (status, span) = match range {
        Some(r) => (StatusCode::PARTIAL_CONTENT, r),
        None => (StatusCode::OK, 0..len),
    };
    let mut response =
        match stream_part(&state, stored, part, span.clone(), "application/octet-stream").await {
            Ok(r) => r,
            Err(r) => return r,
        };
    *response.status_mut() = status;
    let h = response.headers_mut();
    if status == StatusCode::PARTIAL_CONTENT {
        let value = format!("bytes {}-{}/{len}", span.start, span.end.saturating_sub(1));
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(header::CONTENT_RANGE, v);
        }
    }
    if let Ok(v) = HeaderValue::from_str(&content_disposition(&attachment.name)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    response
}

/// Plaintext bytes `span` of part `part`, decrypted as they stream, as `content_type`; or
/// the page to show instead when its first bytes cannot be read.
async fn stream_part(
    state: &AppState,
    stored: StoredMessage,
    part: u32,
    span: std::ops::Range<u64>,
    content_type: &'static str,
) -> Result<Response, Response> {
    let len = span.end - span.start;
    let body = crate::reading::stream_range(std::sync::Arc::new(stored), state.clone(), part, span)
        .await
        .map_err(unreadable)?;
    let mut response = axum::body::Body::from_stream(body).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    Ok(response)
}

/// Image types shown inline in a message: raster formats only (never SVG, which can carry
/// script).
const INLINE_IMAGE_TYPES: [&str; 4] = ["image/png", "image/jpeg", "image/gif", "image/webp"];

/// The attachment's type if it may be shown inline: an image referenced by Content-ID.
fn inline_type(a: &sealpost_envelope::Attachment) -> Option<&'static str> {
    a.content_id.as_ref()?;
    INLINE_IMAGE_TYPES.into_iter().find(|t| t.eq_ignore_ascii_case(a.content_type.trim()))
}

/// Where each inline image of the message is served: Content-ID (without `<>`) → URL.
fn inline_images(manifest: &Manifest, link: &str) -> HashMap<String, String> {
    manifest
        .attachments
        .iter()
        .filter(|a| inline_type(a).is_some())
        .filter_map(|a| {
            let id = a.content_id.as_deref()?.trim().trim_start_matches('<').trim_end_matches('>');
            Some((id.to_string(), format!("/c/read/{link}/inline/{}", a.part)))
        })
        .collect()
}

/// An inline image of the message (`cid:` in its HTML), decrypted from the envelope and
/// served with its image type, for the `<img>` of the read page.
pub(super) async fn inline_image(
    State(state): State<AppState>,
    jar: CookieJar,
    Path((link, part)): Path<(String, u32)>,
) -> Response {
    let Reading { stored, manifest, .. } = match for_reader(&state, &jar, &link).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some((a, content_type)) = manifest
        .attachments
        .iter()
        .find(|a| a.part == part)
        .and_then(|a| Some((a, inline_type(a)?)))
    else {
        return not_found();
    };
    let mut response = match stream_part(&state, stored, part, 0..a.size, content_type).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    response.headers_mut().insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("inline"));
    response
}

/// One byte range of `len` bytes from a `Range` header: `bytes=a-b`, `bytes=a-`, `bytes=-n`.
/// `None` for anything else, several ranges, or a range outside the file.
fn parse_range(header: &str, len: u64) -> Option<std::ops::Range<u64>> {
    let spec = header.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let (start, end) = match (a.trim(), b.trim()) {
        ("", n) => {
            let n: u64 = n.parse().ok()?;
            (len.checked_sub(n.min(len))?, len)
        }
        (a, "") => (a.parse().ok()?, len),
        (a, b) => (a.parse().ok()?, b.parse::<u64>().ok()?.checked_add(1)?.min(len)),
    };
    (start < end && start < len).then_some(start..end)
}

/// `attachment` with the name: an ASCII fallback and the exact name (RFC 6266 / 8187).
fn content_disposition(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || " .-_()".contains(c) { c } else { '_' })
        .collect();
    let mut encoded = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// The message's HTML made safe to show: ammonia's allow-list (no script, no event handlers,
/// no styles that could reach outside), links opened without a referrer, and no remote
/// content — an image only from the message itself: `cid:` sources found in `images`
/// (Content-ID → URL, see [`inline_images`]) point there, every other source is dropped.
pub(super) fn sanitise(html: &str, images: HashMap<String, String>) -> String {
    ammonia::Builder::default()
        .link_rel(Some("noopener noreferrer nofollow"))
        .url_schemes(["https", "http", "mailto", "cid"].into_iter().collect())
        .attribute_filter(move |element, attribute, value| {
            if element == "img" && attribute == "src" {
                let id = value.strip_prefix("cid:")?.trim_start_matches('<').trim_end_matches('>');
                images.get(id).map(|url| url.clone().into())
            } else {
                Some(value.into())
            }
        })
        .clean(html)
        .to_string()
}

pub(super) fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["bytes", "KB", "MB", "GB"];
    let mut size = bytes as f64;
    let mut unit = 0;
    while size >= 1000.0 && unit < UNITS.len() - 1 {
        size /= 1000.0;
        unit += 1;
    }
    if unit == 0 { format!("{bytes} bytes") } else { format!("{size:.1} {}", UNITS[unit]) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitising_removes_script_and_remote_content() {
        let images = HashMap::from([("logo@acme".to_string(), "/c/read/t/inline/2".to_string())]);
        let out = sanitise(
            r#"<p onclick="x()">Hi<script>alert(1)</script><img src="https://track.example/p.gif"><img src="cid:logo@acme"><img src="cid:unknown"><a href="javascript:alert(1)">j</a><iframe src="https://x"></iframe></p>"#,
            images,
        );
        assert!(!out.contains("script") && !out.contains("onclick") && !out.contains("iframe"));
        assert!(!out.contains("track.example"), "{out}");
        assert!(out.contains(r#"<img src="/c/read/t/inline/2">"#), "{out}");
        assert!(!out.contains("cid:"), "an unknown cid is dropped: {out}");
        assert!(!out.contains("javascript:"), "{out}");
    }

    #[test]
    fn only_raster_images_with_a_content_id_are_inline() {
        let mut m = Manifest::default();
        m.attach_hashed("logo.png", "image/PNG", 3, String::new());
        m.attach_hashed("evil.svg", "image/svg+xml", 3, String::new());
        m.attach_hashed("photo.jpg", "image/jpeg", 3, String::new());
        m.attachments[0].content_id = Some("<logo@acme>".into());
        m.attachments[1].content_id = Some("evil@acme".into());
        let images = inline_images(&m, "t");
        assert_eq!(images.len(), 1, "{images:?}");
        assert_eq!(images["logo@acme"], "/c/read/t/inline/1");
    }

    #[test]
    fn one_byte_range_is_understood_and_anything_else_refused() {
        assert_eq!(parse_range("bytes=0-99", 1000), Some(0..100));
        assert_eq!(parse_range("bytes=900-", 1000), Some(900..1000));
        assert_eq!(parse_range("bytes=-100", 1000), Some(900..1000));
        assert_eq!(parse_range("bytes=990-2000", 1000), Some(990..1000));
        assert_eq!(parse_range("bytes=1000-", 1000), None);
        assert_eq!(parse_range("bytes=0-1,5-6", 1000), None);
        assert_eq!(parse_range("items=0-1", 1000), None);
        assert_eq!(parse_range("bytes=5-2", 1000), None);
    }

    #[test]
    fn attachment_names_are_safe_in_the_header_and_kept_exactly() {
        let d = content_disposition("Größe \"x\".pdf");
        assert!(d.starts_with("attachment; filename=\"Gr__e _x_.pdf\""), "{d}");
        assert!(d.ends_with("filename*=UTF-8''Gr%C3%B6%C3%9Fe%20%22x%22.pdf"), "{d}");
    }

    #[test]
    fn sizes_read_like_a_person_would_say_them() {
        assert_eq!(human_size(512), "512 bytes");
        assert_eq!(human_size(20_971_520), "21.0 MB");
    }
}
