//! Reading a message: opened for its signed-in sender or recipient (after the unlock code,
//! where the sender set one), shown decrypted and sanitised, with the sender's delivery slip;
//! attachments streamed and decrypted, by byte range; inline images from the envelope.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;
use zeroize::Zeroizing;

use sealpost_envelope::Manifest;

use super::display;
use super::error::{CenterError, page};
use super::extract::{Reader, Reading, SignedInForm, csrf_field, linked};
use super::html::SafeBody;
use super::language::{Lang, Phrase, Tr};
use super::{csrf_token, is_recipient};
use crate::reading::StoredMessage;
use crate::state::AppState;
use crate::store::mailbox as mailbox_store;
use crate::store::messages::{self, MessageRow};
use crate::store::{audit, lockouts};

struct AttachmentLine {
    /// What kind of file it is, in words ("PDF document").
    kind: Phrase,
    name: String,
    size: String,
    href: String,
}

#[derive(Template)]
#[template(path = "center/read.html")]
struct Read {
    t: Tr,
    link: String,
    csrf: String,
    is_recipient: bool,
    can_reply_all: bool,
    archived: bool,
    is_sender: bool,
    recalled: bool,
    slip: Vec<DeliverySlipLine>,
    subject: String,
    from: String,
    to: String,
    cc: String,
    date: String,
    body_html: Option<String>,
    body_text: String,
    /// Why the body is shown as text although it has HTML.
    body_note: Option<Phrase>,
    attachments: Vec<AttachmentLine>,
    look: Option<crate::branding::Look>,
}

#[derive(Template)]
#[template(path = "center/unlock.html")]
struct AskUnlockCode<'a> {
    t: &'a Tr,
    link: &'a str,
    csrf: &'a str,
    problem: Option<Phrase>,
    look: Option<crate::branding::Look>,
}

pub(super) async fn ask_unlock_code(
    State(state): State<AppState>,
    t: Tr,
    _: Reader,
    jar: CookieJar,
    Path(link): Path<String>,
) -> Result<Response, CenterError> {
    let (jar, csrf) = csrf_token(jar);
    let look = super::look_of_link(&state, &link).await;
    let form = AskUnlockCode { t: &t, link: &link, csrf: &csrf, problem: None, look };
    Ok((jar, page(StatusCode::OK, &form)?).into_response())
}

#[derive(Deserialize)]
pub(super) struct UnlockRequest {
    csrf: String,
    code: String,
}

csrf_field!(UnlockRequest);

/// What a recipient locked out of a message's unlock code is told.
const UNLOCK_LOCKED: Phrase = Phrase("unlock-locked");

/// Checks the unlock code a signed-in recipient gives (argon2id; a few wrong ones lock them
/// out for a while, longer each time: `store::lockouts`).
pub(super) async fn unlock(
    State(state): State<AppState>,
    t: Tr,
    Path(link): Path<String>,
    SignedInForm(me, req): SignedInForm<UnlockRequest>,
) -> Result<Response, CenterError> {
    let email = me.email;
    let m = linked(&state, &link).await?;
    let Some(hash) = m.unlock_hash.clone() else {
        return Ok(Redirect::to(&format!("/c/read/{link}")).into_response());
    };
    if !is_recipient(&state, &m, &email).await? {
        return Err(CenterError::NotFound);
    }
    let look = super::look_of(&state, m.tenant_id).await;
    let refuse = |problem: Phrase| {
        let (t, csrf, look) = (&t, &req.csrf, look.clone());
        let form = AskUnlockCode { t, link: &link, csrf, problem: Some(problem), look };
        CenterError::form(StatusCode::UNAUTHORIZED, &form)
    };
    let scope = lockouts::Scope::Unlock(&m.id);
    if lockouts::locked_until(&state.db, scope, &email).await?.is_some() {
        return Err(refuse(UNLOCK_LOCKED));
    }
    let code = req.code.trim();
    let right = code.len() <= 256
        && crate::store::accounts::verify_password(hash, Zeroizing::new(code.to_string())).await;
    if right {
        mailbox_store::mark_unlocked(&state.db, &m.id, &email).await?;
        lockouts::succeeded(&state.db, scope, &email).await?;
    } else {
        lockouts::failed(&state.db, scope, &email).await?;
    }
    let action = if right { "message.unlocked" } else { "message.unlock_refused" };
    let _ = audit::append(&state.db, Some(m.tenant_id), &email, action, &m.id).await;
    if !right {
        return Err(refuse(Phrase("unlock-wrong")));
    }
    Ok(Redirect::to(&format!("/c/read/{link}")).into_response())
}

/// One recipient's line on the delivery slip.
struct DeliverySlipLine {
    email: String,
    kind: String,
    events: String,
}

/// The delivery slip of `m` for its sender, in `lang`, its times in `zone` as of `now`.
async fn slip(
    state: &AppState,
    m: &MessageRow,
    lang: Lang,
    (zone, now): (&jiff::tz::TimeZone, i64),
) -> Result<Vec<DeliverySlipLine>, CenterError> {
    let recipients = messages::recipients(&state.db, &m.id).await?;
    let events = messages::events(&state.db, &m.id).await?;
    Ok(recipients
        .into_iter()
        .map(|(email, kind)| {
            let events = events
                .iter()
                .filter(|e| e.recipient.as_deref() == Some(email.as_str()))
                .map(|e| display::event(lang, &e.kind, display::date(lang, e.at, zone, now)))
                .collect::<Vec<_>>()
                .join(", ");
            DeliverySlipLine { email, kind, events }
        })
        .collect())
}

pub(super) async fn read(
    State(state): State<AppState>,
    t: Tr,
    jar: CookieJar,
    Path(link): Path<String>,
    Reading { m, email, is_recipient, manifest, .. }: Reading,
) -> Result<Response, CenterError> {
    if is_recipient {
        let _ = messages::add_event(&state.db, &m.id, Some(&email), "opened").await;
    }
    let _ = audit::append(&state.db, Some(m.tenant_id), &email, "message.opened", &m.id).await;
    let is_sender = m.sender_email.eq_ignore_ascii_case(&email);
    let (zone, now) = (super::reader_zone(&state, &email).await?, crate::db::now_ms());
    let slip = if is_sender { slip(&state, &m, t.lang, (&zone, now)).await? } else { Vec::new() };
    let archived = is_recipient
        && matches!(
            mailbox_store::folder_of(&state.db, &m.id, &email).await,
            Ok(Some(ref f)) if f == "archive"
        );
    let meta = &manifest.metadata;
    let images = inline_images(&manifest, &link);
    let (body_html, body_text, body_note) = match manifest.body.html.clone() {
        Some(html) => match &*super::html::safe_body(&link, html, images).await {
            SafeBody::Html(html) => (Some(html.clone()), String::new(), None),
            SafeBody::Text { text, why } => (None, text.clone(), Some(*why)),
        },
        None => (None, manifest.body.text.clone().unwrap_or_default(), None),
    };
    let (jar, csrf) = csrf_token(jar);
    let page = page(
        StatusCode::OK,
        &Read {
            link: link.clone(),
            csrf,
            subject: display::line(&meta.subject),
            from: display::line(&meta.from),
            to: display::line(&meta.to.join(", ")),
            cc: display::line(&meta.cc.join(", ")),
            date: display::message_date(t.lang, &meta.date, &zone, now),
            body_text,
            body_note,
            attachments: manifest
                .attachments
                .iter()
                .filter(|a| !shown_inline(body_html.as_deref(), &link, a))
                .map(|a| AttachmentLine {
                    name: display::file_name(&a.name),
                    size: human_size_in(t.lang, a.size),
                    kind: display::kind_of(&a.name, &a.content_type),
                    href: format!("/c/read/{link}/attachments/{}", a.part),
                })
                .collect(),
            is_recipient,
            can_reply_all: meta.to.len() + meta.cc.len() > 1,
            archived,
            is_sender,
            recalled: m.recalled_at.is_some(),
            slip,
            body_html,
            look: super::look_of(&state, m.tenant_id).await,
            t,
        },
    )?;
    Ok((jar, page).into_response())
}

/// One attachment, decrypted as it streams; a single byte range (`Range: bytes=…`) is served
/// as 206. Always `application/octet-stream` and `attachment`: the browser saves it and never
/// renders it in the Center's origin.
pub(super) async fn download(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((_, part)): Path<(String, u32)>,
    Reading { m, email, is_recipient, stored, manifest }: Reading,
) -> Result<Response, CenterError> {
    let attachment =
        manifest.attachments.iter().find(|a| a.part == part).ok_or(CenterError::NotFound)?;
    let len = attachment.size;
    let wanted = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    let range = match wanted.map(|r| parse_range(r, len)) {
        None => None,
        Some(Some(r)) => Some(r),
        Some(None) => {
            let unsatisfiable = [(header::CONTENT_RANGE, format!("bytes */{len}"))];
            return Ok((StatusCode::RANGE_NOT_SATISFIABLE, unsatisfiable).into_response());
        }
    };
    let (status, span) = match range {
        Some(r) => (StatusCode::PARTIAL_CONTENT, r),
        None => (StatusCode::OK, 0..len),
    };
    let content_type = "application/octet-stream";
    let mut response = stream_part(&state, stored, part, span.clone(), content_type).await?;
    // Recorded once the first bytes were read (a damaged attachment is not a download), and
    // before any is sent.
    record_download(&state, &m, &email, part, is_recipient).await?;
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
    Ok(response)
}

/// Records that `email` is served bytes of part `part` of `m` (whole, by any range, or as an
/// inline image): a `downloaded` event and an audit row, once per reader and part. Fails
/// closed: nothing is served that could not be recorded.
async fn record_download(
    state: &AppState,
    m: &MessageRow,
    email: &str,
    part: u32,
    is_recipient: bool,
) -> Result<(), CenterError> {
    let detail = format!("{} part {part}", m.id);
    let entry = audit::Entry {
        tenant: Some(m.tenant_id),
        actor: email,
        action: "attachment.downloaded",
        detail: &detail,
    };
    messages::record_download(&state.db, &m.id, email, part, is_recipient, &entry).await?;
    Ok(())
}

/// Plaintext bytes `span` of part `part`, decrypted as they stream, as `content_type`; or
/// why not when its first bytes cannot be read.
async fn stream_part(
    state: &AppState,
    stored: StoredMessage,
    part: u32,
    span: std::ops::Range<u64>,
    content_type: &'static str,
) -> Result<Response, CenterError> {
    let len = span.end - span.start;
    let stored = std::sync::Arc::new(stored);
    let body = crate::reading::stream_range(stored, state.clone(), part, span).await?;
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
            Some((id.to_string(), inline_url(link, a.part)))
        })
        .collect()
}

/// Whether attachment `a` is an image the shown HTML body draws (as a mail client does, such
/// an image is not listed again among the attachments; one the HTML does not refer to is).
/// Only a raster image whose own inline URL is in the HTML counts: a file that shares an
/// image's Content-ID is still listed.
fn shown_inline(body_html: Option<&str>, link: &str, a: &sealpost_envelope::Attachment) -> bool {
    let Some(html) = body_html else {
        return false;
    };
    // The sanitiser writes attributes in double quotes: `"…/inline/1"` is not `"…/inline/12"`.
    inline_type(a).is_some() && html.contains(&format!("\"{}\"", inline_url(link, a.part)))
}

/// Where the read page's `<img>` gets inline image `part` of the message at `link`.
fn inline_url(link: &str, part: u32) -> String {
    format!("/c/read/{link}/inline/{part}")
}

/// An inline image of the message (`cid:` in its HTML), decrypted from the envelope and
/// served with its image type, for the `<img>` of the read page.
pub(super) async fn inline_image(
    State(state): State<AppState>,
    Path((_, part)): Path<(String, u32)>,
    Reading { m, email, is_recipient, stored, manifest }: Reading,
) -> Result<Response, CenterError> {
    let (a, content_type) = manifest
        .attachments
        .iter()
        .find(|a| a.part == part)
        .and_then(|a| Some((a, inline_type(a)?)))
        .ok_or(CenterError::NotFound)?;
    let mut response = stream_part(&state, stored, part, 0..a.size, content_type).await?;
    record_download(&state, &m, &email, part, is_recipient).await?;
    response.headers_mut().insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("inline"));
    Ok(response)
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

/// `attachment` with the name: an ASCII fallback and the name (RFC 6266 / 8187), without the
/// characters that would make it lie about itself on the reader's disk (`display::line`).
fn content_disposition(name: &str) -> String {
    let name = display::line(name);
    let name = name.as_str();
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

/// A size as people say it, in English ("512 bytes", "21.0 MB"): the admin console's.
pub(crate) fn human_size(bytes: u64) -> String {
    human_size_in(Lang::En, bytes)
}

/// A size as people say it in `lang` ("21.0 MB", "21,0 MB"; "512 bytes", "512 Bytes").
pub(crate) fn human_size_in(lang: Lang, bytes: u64) -> String {
    const UNITS: [&str; 4] = ["bytes", "KB", "MB", "GB"];
    let mut size = bytes as f64;
    let mut unit = 0;
    while size >= 1000.0 && unit < UNITS.len() - 1 {
        size /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        return lang.text_with("size-bytes", &[("bytes", bytes.into())]);
    }
    let number = format!("{size:.1}").replace('.', &lang.text("decimal-separator"));
    format!("{number} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn an_image_the_body_draws_is_not_listed_again_but_one_it_does_not_is() {
        let mut m = Manifest::default();
        for (name, kind) in [
            ("drawn.png", "image/png"),
            ("unused.png", "image/png"),
            ("report.pdf", "application/pdf"),
        ] {
            m.attach_hashed(name, kind, 3, String::new());
        }
        for (n, a) in m.attachments.iter_mut().enumerate() {
            a.content_id = Some(format!("<i{n}@acme>"));
        }
        // The PDF claims the drawn image's Content-ID: it is listed all the same.
        m.attachments[2].content_id = Some("<i0@acme>".into());
        // Parts 1 and 12 share a prefix; only the exact attribute value counts.
        m.attachments[0].part = 1;
        m.attachments[1].part = 12;
        let html = r#"<p><img src="/c/read/t/inline/1" alt=""></p>"#;
        let listed: Vec<_> = m
            .attachments
            .iter()
            .filter(|a| !shown_inline(Some(html), "t", a))
            .map(|a| &a.name)
            .collect();
        assert_eq!(listed, ["unused.png", "report.pdf"]);
        assert!(!shown_inline(None, "t", &m.attachments[0]), "a text body lists every image");
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
        assert_eq!(human_size_in(Lang::De, 512), "512 Bytes");
        assert_eq!(human_size_in(Lang::De, 20_971_520), "21,0 MB");
    }
}
