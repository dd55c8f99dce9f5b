//! Secure replies written in the Message Center: to the sender (or to everyone the message
//! went to, Bcc never included) — or a new message to the sender — with attachments, or kept
//! as a draft. The platform seals the reply into an
//! envelope like any other — wrapped for its own key, the file key then kept under the
//! tenant's data key — stores it in the conversation's tenant, and mails each recipient a
//! notice with the link (no address and no content in it). The sender reads it in the Center.

use askama::Template;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use bytes::Bytes;
use serde::Deserialize;
use zeroize::Zeroizing;

use sealpost_envelope::{Body, FileKey, Manifest, MessageId, Metadata, Sealer, StanzaRole};

use super::csrf_token;
use super::error::{CenterError, page};
use super::extract::{Reading, Replying, check_csrf};
use super::language::{Phrase, Tr};
use super::read::human_size_in;
use crate::domain::EmailAddress;
use crate::error::ApiError;
use crate::messages::slip::MAX_SUBJECT_CHARS;
use crate::messages::{self, DeliverySlip, FileKeySource, SegmentBody};
use crate::state::AppState;
use crate::store::messages::{self as stored, MessageRow};
use crate::store::notifications::{self, Outgoing};
use crate::store::{accounts, drafts};

/// Most bytes of attachments one reply carries.
pub(super) const MAX_ATTACHMENT_BYTES: usize = 25 << 20;
/// Most bytes of a reply form (attachments, text and the multipart framing).
pub(super) const MAX_FORM_BYTES: usize = MAX_ATTACHMENT_BYTES + (2 << 20);
/// Most attachments on one reply.
pub(super) const MAX_ATTACHMENTS: usize = 20;

#[derive(Template)]
#[template(path = "center/reply.html")]
struct Compose<'a> {
    t: &'a Tr,
    link: &'a str,
    csrf: &'a str,
    all: bool,
    /// A new message to the sender rather than a reply to this one.
    fresh: bool,
    to: String,
    cc: String,
    subject: String,
    text: &'a str,
    limit: String,
    /// What the page's script can upload in all (the organisation's limits); empty on a form
    /// shown again after a refusal, which goes without the script.
    large_limit: String,
    /// The script's words in the page's language (JSON: `script_words`).
    script_words: String,
    problem: Option<Phrase>,
    draft: Option<i64>,
    look: Option<crate::branding::Look>,
}

impl<'a> Compose<'a> {
    /// An empty reply to `manifest`'s message from `me` (or, `fresh`, a new message to its
    /// sender).
    fn new(
        t: &'a Tr,
        link: &'a str,
        csrf: &'a str,
        manifest: &Manifest,
        me: &str,
        all: bool,
        fresh: bool,
    ) -> Self {
        let all = all && !fresh;
        let (to, cc) = addressees(manifest, me, all);
        Compose {
            t,
            link,
            csrf,
            all,
            fresh,
            to: to.join(", "),
            cc: cc.join(", "),
            subject: if fresh { String::new() } else { reply_subject(&manifest.metadata.subject) },
            text: "",
            limit: human_size_in(t.lang, MAX_ATTACHMENT_BYTES as u64),
            large_limit: String::new(),
            script_words: String::new(),
            problem: None,
            draft: None,
            look: None,
        }
    }

    /// In the branding of the organisation the message belongs to.
    fn branded(mut self, look: Option<crate::branding::Look>) -> Self {
        self.look = look;
        self
    }

    /// With what the writer typed.
    fn typed(mut self, subject: &str, text: &'a str) -> Self {
        if !subject.trim().is_empty() {
            self.subject = subject.to_string();
        }
        self.text = text;
        self
    }

    /// With the reason the form was refused.
    fn refused(mut self, problem: Phrase) -> Self {
        self.problem = Some(problem);
        self
    }
}

/// Who a reply goes to: the sender; with `all`, also the message's other To and Cc
/// recipients (never its Bcc), without the one replying.
pub(super) fn addressees(m: &Manifest, me: &str, all: bool) -> (Vec<String>, Vec<String>) {
    let to = vec![m.metadata.from.trim().to_lowercase()];
    let cc = if all {
        let mut cc: Vec<String> = Vec::new();
        for a in m.metadata.to.iter().chain(&m.metadata.cc) {
            let a = a.trim().to_lowercase();
            if a != me && !to.contains(&a) && !cc.contains(&a) {
                cc.push(a);
            }
        }
        cc
    } else {
        Vec::new()
    };
    (to, cc)
}

fn reply_subject(subject: &str) -> String {
    if subject.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("re:")) {
        subject.to_string()
    } else {
        format!("Re: {subject}")
    }
}

#[derive(Deserialize)]
pub(super) struct ComposeQuery {
    #[serde(default)]
    all: Option<String>,
    /// A saved draft to go on with.
    #[serde(default)]
    draft: Option<i64>,
    /// `1`: a new message to the sender, not a reply.
    #[serde(default)]
    new: Option<String>,
}

/// What a draft keeps (sealed): what was typed.
#[derive(serde::Serialize, Deserialize)]
pub(super) struct DraftContent {
    pub(super) subject: String,
    text: String,
    all: bool,
    #[serde(default)]
    fresh: bool,
}

/// Opens `email`'s stored draft with its tenant's key.
pub(super) async fn unseal_draft(
    state: &AppState,
    email: &str,
    row: &drafts::DraftRow,
) -> Result<DraftContent, CenterError> {
    let key = accounts::data_key(&state.db, &state.master, row.tenant_id).await?;
    let purpose = drafts::purpose(email, &row.in_reply_to);
    let plain = key.open(&purpose, &row.sealed).map_err(CenterError::internal)?;
    serde_json::from_slice(&plain).map_err(CenterError::internal)
}

/// `email`'s draft `id` answering `m`, opened; `None` if there is no such draft.
async fn open_draft(
    state: &AppState,
    m: &MessageRow,
    email: &str,
    id: i64,
) -> Result<Option<DraftContent>, CenterError> {
    let Some(row) = drafts::get(&state.db, id, email).await? else {
        return Ok(None);
    };
    if row.in_reply_to != m.id {
        return Ok(None);
    }
    unseal_draft(state, email, &row).await.map(Some)
}

/// Saves what was typed as `email`'s draft answering `m` (a new one, or `posted.draft` again).
async fn save_draft(
    state: &AppState,
    m: &MessageRow,
    email: &str,
    posted: &Posted,
) -> Result<(), CenterError> {
    let content = DraftContent {
        subject: posted.subject.clone(),
        text: posted.text.to_string(),
        all: posted.all,
        fresh: posted.fresh,
    };
    let json = Zeroizing::new(serde_json::to_vec(&content).map_err(CenterError::internal)?);
    let key = accounts::data_key(&state.db, &state.master, m.tenant_id).await?;
    let sealed = key.seal(&drafts::purpose(email, &m.id), &json).map_err(CenterError::internal)?;
    match drafts::save(&state.db, posted.draft, email, &m.id, &sealed).await? {
        Some(_) => Ok(()),
        None => Err(CenterError::NotFound),
    }
}

/// The reply form, for a recipient of the message.
pub(super) async fn compose(
    State(state): State<AppState>,
    t: Tr,
    jar: CookieJar,
    Path(link): Path<String>,
    Query(q): Query<ComposeQuery>,
    Replying(Reading { m, email, manifest, .. }): Replying,
) -> Result<Response, CenterError> {
    let draft = match q.draft {
        Some(id) => {
            let d = open_draft(&state, &m, &email, id).await?.ok_or(CenterError::NotFound)?;
            Some((id, d))
        }
        None => None,
    };
    let all = draft.as_ref().map_or(q.all.as_deref() == Some("1"), |(_, d)| d.all);
    let fresh = draft.as_ref().map_or(q.new.as_deref() == Some("1"), |(_, d)| d.fresh);
    let (jar, csrf) = csrf_token(jar);
    let look = super::look_of_link(&state, &link).await;
    let mut form = Compose::new(&t, &link, &csrf, &manifest, &email, all, fresh).branded(look);
    if let Some((id, d)) = &draft {
        form = form.typed(&d.subject, &d.text);
        form.draft = Some(*id);
    }
    form.large_limit = human_size_in(t.lang, largest_reply(&state, m.tenant_id).await?);
    form.script_words = script_words(&t);
    let mut response = (jar, page(StatusCode::OK, &form)?).into_response();
    // The one page with a script: large attachments, uploaded in pieces (`upload`).
    response.extensions_mut().insert(super::with_script(&state.public_url)?);
    Ok(response)
}

/// The most a reply written in the Center may carry in tenant `tenant`: its envelope limit,
/// and what one account may send in a day.
async fn largest_reply(state: &AppState, tenant: i64) -> Result<u64, CenterError> {
    let policy = accounts::policy(&state.db, tenant).await?;
    Ok(policy
        .max_envelope_bytes
        .min(state.settings.max_envelope_bytes)
        .min(policy.center_bytes_per_day))
}

/// One attached file, in memory only for as long as it takes to seal it.
struct Upload {
    name: String,
    content_type: String,
    bytes: Zeroizing<Vec<u8>>,
}

/// The reply form as posted.
#[derive(Default)]
struct Posted {
    csrf: String,
    /// `send` (the default), `draft` (save it) or `discard` (delete the draft).
    action: String,
    /// The draft this form continues.
    draft: Option<i64>,
    all: bool,
    fresh: bool,
    subject: String,
    text: Zeroizing<String>,
    files: Vec<Upload>,
}

/// Why a posted form is refused: shown on the form again.
type Refusal = Phrase;

/// Reads the posted form into `posted`, field by field (the CSRF token comes first, so it is
/// there even when a later field is refused).
async fn read_form(mut form: Multipart, posted: &mut Posted) -> Result<(), Refusal> {
    let unreadable = Phrase("reply-unreadable");
    let mut attached = 0usize;
    while let Some(mut field) = form.next_field().await.map_err(|_| unreadable)? {
        let name = field.name().unwrap_or_default().to_string();
        if name == "files" {
            let file_name = field.file_name().unwrap_or_default().trim().to_string();
            let content_type =
                field.content_type().unwrap_or("application/octet-stream").to_string();
            let mut bytes = Zeroizing::new(Vec::new());
            while let Some(chunk) = field.chunk().await.map_err(|_| unreadable)? {
                attached += chunk.len();
                if attached > MAX_ATTACHMENT_BYTES {
                    return Err(Phrase("reply-too-large-together"));
                }
                bytes.extend_from_slice(&chunk);
            }
            if file_name.is_empty() && bytes.is_empty() {
                continue; // the file input, left empty
            }
            if posted.files.len() == MAX_ATTACHMENTS {
                return Err(Phrase("reply-too-many-attachments"));
            }
            let name: String = file_name.chars().filter(|c| !c.is_control()).take(255).collect();
            posted.files.push(Upload { name, content_type, bytes });
            continue;
        }
        let value = Zeroizing::new(field.text().await.map_err(|_| unreadable)?);
        match name.as_str() {
            "csrf" => posted.csrf = value.to_string(),
            "action" => posted.action = value.to_string(),
            "draft" => posted.draft = value.parse().ok(),
            "all" => posted.all = value.as_str() == "1",
            "fresh" => posted.fresh = value.as_str() == "1",
            "subject" => {
                posted.subject =
                    value.chars().filter(|c| !c.is_control()).take(MAX_SUBJECT_CHARS).collect()
            }
            "text" if value.len() <= 1_000_000 => posted.text = value,
            "text" => return Err(Phrase("reply-too-long")),
            _ => {}
        }
    }
    Ok(())
}

/// Sends a reply: sealed, stored, the recipients notified, the original marked replied.
pub(super) async fn send(
    State(state): State<AppState>,
    t: Tr,
    jar: CookieJar,
    Path(link): Path<String>,
    // The session first (an extractor of the request's head): nobody else gets the form's
    // bytes read.
    Replying(Reading { m, email, manifest, .. }): Replying,
    form: Multipart,
) -> Result<Response, CenterError> {
    let mut posted = Posted::default();
    let read = read_form(form, &mut posted).await;
    let csrf = posted.csrf.clone();
    check_csrf(&jar, &csrf)?;
    // What was typed stays on a refused form; only the files must be chosen again.
    let look = super::look_of(&state, m.tenant_id).await;
    let refused = |posted: &Posted, status, problem| {
        let form = Compose::new(&t, &link, &csrf, &manifest, &email, posted.all, posted.fresh)
            .branded(look.clone())
            .typed(&posted.subject, &posted.text)
            .refused(problem);
        CenterError::form(status, &form)
    };
    if let Err(problem) = read {
        return Err(refused(&posted, StatusCode::BAD_REQUEST, problem));
    }
    match posted.action.as_str() {
        "draft" => {
            save_draft(&state, &m, &email, &posted).await?;
            return Ok(Redirect::to("/c/mail/drafts").into_response());
        }
        "discard" => {
            if let Some(id) = posted.draft {
                drafts::delete(&state.db, id, &email).await?;
            }
            return Ok(Redirect::to("/c/mail/drafts").into_response());
        }
        _ => {}
    }
    let size = posted.text.len() + posted.files.iter().map(|f| f.bytes.len()).sum::<usize>();
    if !within_limits(&state, &m, &email, size as u64).await? {
        // Nothing is lost: what was typed stays, to send later or keep as a draft.
        return Err(refused(&posted, StatusCode::TOO_MANY_REQUESTS, OVER_LIMIT));
    }
    let (draft, fresh) = (posted.draft, posted.fresh);
    let (to, cc) = addressees(&manifest, &email, posted.all && !fresh);
    let files = std::mem::take(&mut posted.files);
    let reply = match store_reply(&state, &m, &email, to, cc, &posted, files).await {
        Ok(reply) => reply,
        // Over the organisation's envelope limit: nothing is lost, what was typed stays.
        Err(e) if e.code() == "too_large" => {
            return Err(refused(&posted, StatusCode::PAYLOAD_TOO_LARGE, TOO_LARGE));
        }
        // Always the internal page — even `message_damaged` is about the reply being stored,
        // not the message the writer has open, so it does not get that message's damaged page.
        Err(e) => return Err(CenterError::internal(e)),
    };
    sent(&state, &m, &email, &reply, draft).await?;
    Ok(Redirect::to("/c/mail/sent").into_response())
}

/// What a reply larger than the organisation accepts is told.
pub(super) const TOO_LARGE: Phrase = Phrase("reply-too-large");

/// What a reply over the organisation's limits is told.
pub(super) const OVER_LIMIT: Phrase = Phrase("reply-over-limit");

/// The words the reply form's script (`static/reply.js`) shows, in `t`'s language, as the
/// JSON it reads from the page: `{name}` in a text is filled in by the script, and `error-*`
/// say what the upload API's error codes mean (its messages are in English).
fn script_words(t: &Tr) -> String {
    let mut words = serde_json::Map::new();
    let mut say = |key: &str, text: String| {
        words.insert(key.to_string(), text.into());
    };
    say("decimal", t.s("decimal-separator"));
    say("bytes", t.s1("size-bytes", "bytes", "{n}"));
    say("label", t.s1("reply-attachments", "limit", "{limit}"));
    say("retrying", t.s1("upload-retrying", "stored", "{stored}"));
    say("paused", t.s1("upload-paused", "stored", "{stored}"));
    say("preparing", t.s1("upload-preparing", "size", "{size}"));
    let stored = [("done", "{done}"), ("total", "{total}"), ("percent", "{percent}")];
    let stored = stored.map(|(k, v)| (k, fluent_bundle::FluentValue::from(v)));
    say("stored", t.lang.text_with("upload-stored", &stored));
    say("progress", t.s1("upload-progress", "stored", "{stored}"));
    say("sealing", t.s("upload-sealing"));
    say("failed", t.s1("upload-failed", "reason", "{reason}"));
    for (code, meaning) in [
        ("signed_out", Phrase("upload-error-signed-out")),
        ("gone", Phrase("upload-error-gone")),
        ("forbidden", Phrase("upload-error-forbidden")),
        ("not_found", Phrase("upload-error-not-found")),
        ("too_large", Phrase("upload-error-too-large")),
        ("over_limit", Phrase("upload-error-over-limit")),
    ] {
        say(&format!("error-{code}"), t.s(meaning));
    }
    serde_json::Value::Object(words).to_string()
}

/// Whether `email` may send `bytes` more into `m`'s tenant now: at most
/// `center_messages_per_hour` messages an hour and `center_bytes_per_day` bytes a day (its
/// policy), per Message Center account.
pub(super) async fn within_limits(
    state: &AppState,
    m: &MessageRow,
    email: &str,
    bytes: u64,
) -> Result<bool, CenterError> {
    let policy = accounts::policy(&state.db, m.tenant_id).await?;
    let now = crate::db::now_ms();
    let (hour, day) = (now - 3_600_000, now - 86_400_000);
    let (sent, sent_bytes) =
        stored::center_volume(&state.db, m.tenant_id, email, hour, day).await?;
    Ok(sent < i64::from(policy.center_messages_per_hour)
        && (sent_bytes.max(0) as u64).saturating_add(bytes) <= policy.center_bytes_per_day)
}

/// Seals the reply and makes it a finalised message of the original's tenant, through the
/// same steps as any message (`crate::messages`): created from its delivery slip, its
/// envelope stored and checked, finalised with the file key the platform made.
async fn store_reply(
    state: &AppState,
    original: &MessageRow,
    from: &str,
    to: Vec<String>,
    cc: Vec<String>,
    posted: &Posted,
    files: Vec<Upload>,
) -> Result<MessageRow, ApiError> {
    let id = MessageId::random().map_err(ApiError::internal)?;
    let metadata = metadata(original, from, to, cc, &posted.subject, posted.fresh);
    let mut manifest =
        Manifest::new(metadata, Body { text: Some(posted.text.to_string()), html: None });
    for f in &files {
        manifest.attach(f.name.clone(), f.content_type.clone(), &f.bytes);
    }
    let json = Zeroizing::new(manifest.to_json());
    let described = manifest.metadata.clone();
    let platform_key = state.keys.read().await.active().clone();
    // Sealing up to 25 MB is CPU work: off the async threads.
    let (envelope, file_key) = tokio::task::spawn_blocking(move || {
        let sealer = Sealer::builder(id)
            .recipient(StanzaRole::Platform, platform_key.public_key())
            .parts_for(&manifest, &json)
            .build()?;
        let file_key = FileKey::from_bytes(*sealer.file_key().expose_secret());
        let mut parts: Vec<&[u8]> = vec![&json];
        parts.extend(files.iter().map(|f| f.bytes.as_slice()));
        Ok::<_, sealpost_envelope::Error>((sealer.seal_to_vec(&parts)?, file_key))
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)?;

    let slip = slip(id, &described, envelope.len() as u64)?;
    let opened = create(state, original, from, posted.fresh, slip).await?;
    let body = SegmentBody {
        declared_len: Some(envelope.len() as u64),
        stream: futures_util::stream::iter([Ok::<Bytes, std::io::Error>(Bytes::from(envelope))]),
    };
    messages::append(state, &opened.message, 0, body).await?;
    let uploaded = stored::get(&state.db, &opened.message.id)
        .await?
        .ok_or_else(|| ApiError::internal("the reply vanished while stored"))?;
    messages::finalise(state, &uploaded, FileKeySource::Made(file_key)).await
}

/// What a reply (or, `fresh`, a new message to the sender) from `from` says of itself: its
/// addressees, its subject — a reply's is the original's with "Re:" when left empty — and now.
pub(super) fn metadata(
    original: &MessageRow,
    from: &str,
    to: Vec<String>,
    cc: Vec<String>,
    subject: &str,
    fresh: bool,
) -> Metadata {
    let subject = if subject.trim().is_empty() && !fresh {
        reply_subject(&original.subject)
    } else {
        subject.to_string()
    };
    Metadata {
        from: from.to_string(),
        to,
        cc,
        subject,
        date: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        message_id: None,
        headers: Vec::new(),
    }
}

/// The delivery slip of reply `id` described by `metadata`, its envelope `envelope_size`
/// bytes.
pub(super) fn slip(
    id: MessageId,
    metadata: &Metadata,
    envelope_size: u64,
) -> Result<DeliverySlip, ApiError> {
    let parse = |list: &[String]| -> Result<Vec<EmailAddress>, String> {
        list.iter().map(|a| EmailAddress::parse(a)).collect()
    };
    Ok(DeliverySlip {
        id: id.to_string(),
        to: parse(&metadata.to).map_err(ApiError::internal)?,
        cc: parse(&metadata.cc).map_err(ApiError::internal)?,
        bcc: Vec::new(),
        subject: metadata.subject.clone(),
        envelope_size,
        expires_at: None,
    })
}

/// Creates the reply described by `slip` as a message of `original`'s tenant, still to be
/// uploaded.
pub(super) async fn create(
    state: &AppState,
    original: &MessageRow,
    from: &str,
    fresh: bool,
    slip: DeliverySlip,
) -> Result<messages::Opened, ApiError> {
    let author = messages::Author::Center { email: from, original, reply: !fresh };
    let opened = messages::create(state, author, slip).await?;
    if !opened.new {
        return Err(ApiError::internal("reply id collision"));
    }
    Ok(opened)
}

/// What follows a reply's finalising: its recipients notified, the original marked replied
/// (a reply, not a new message), and the draft it sent deleted.
pub(super) async fn sent(
    state: &AppState,
    original: &MessageRow,
    email: &str,
    reply: &MessageRow,
    draft: Option<i64>,
) -> Result<(), CenterError> {
    notify(state, reply).await?;
    if reply.in_reply_to.is_some() {
        let _ = stored::add_event(&state.db, &original.id, Some(email), "replied").await;
    }
    if let Some(id) = draft {
        let _ = drafts::delete(&state.db, id, email).await; // sent: the draft has served
    }
    Ok(())
}

/// Mails each recipient of a reply its link, through the queue.
async fn notify(state: &AppState, reply: &MessageRow) -> Result<(), crate::store::StoreError> {
    let link =
        format!("{}/m/{}", state.public_url, reply.link_token.as_deref().unwrap_or_default());
    for (recipient, _) in stored::recipients(&state.db, &reply.id).await? {
        let mail = Outgoing {
            // One notice per reply and recipient, however often a send is retried.
            key: format!("reply-{}-{recipient}", reply.id),
            tenant_id: Some(reply.tenant_id),
            kind: "reply".into(),
            recipient: recipient.clone(),
            subject: "You have a secure reply".into(),
            text: format!(
                "A secure reply is waiting for you in the Sealpost Secure Message Center.\n\n\
                 Open it here:\n{link}\n"
            ),
            html: None,
        };
        notifications::enqueue(&state.db, &state.master, &mail).await?;
        stored::add_event(&state.db, &reply.id, Some(&recipient), "notified").await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_all_goes_to_the_sender_and_the_others_never_to_oneself() {
        let mut m = Manifest::default();
        m.metadata.from = "Alice@Corp.example".into();
        m.metadata.to = vec!["bob@outside.example".into(), "carol@outside.example".into()];
        m.metadata.cc = vec!["alice@corp.example".into(), "dan@else.example".into()];
        let (to, cc) = addressees(&m, "bob@outside.example", true);
        assert_eq!(to, ["alice@corp.example"]);
        assert_eq!(cc, ["carol@outside.example", "dan@else.example"]);
        assert!(addressees(&m, "bob@outside.example", false).1.is_empty());
    }

    #[test]
    fn a_reply_subject_gets_one_re() {
        assert_eq!(reply_subject("Q3 figures"), "Re: Q3 figures");
        assert_eq!(reply_subject("RE: Q3 figures"), "RE: Q3 figures");
    }
}
