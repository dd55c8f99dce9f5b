//! `/api/v1/messages`: create a message (its delivery slip), upload its envelope resumably,
//! finalise it, list and search sent messages, read one slip with per-recipient status,
//! recall, change expiry.
//!
//! Access: a message is visible to its sender, and to the admins of the sender's tenant.
//! Anyone else gets 404, the same as for an id that does not exist.

use std::collections::BTreeSet;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use sealpost_envelope::{
    Decryptor, Header, Limits, Manifest, MessageId, PREFIX_LEN, StanzaRole, Validator,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::blob::{BlobStore, PutError};
use crate::db::now_ms;
use crate::domain::{EmailAddress, NotificationMode, Role};
use crate::error::{ApiError, ApiJson};
use crate::reading::{file_key_purpose, read_manifest, read_range};
use crate::state::AppState;
use crate::store::accounts::{self, AuthUser};
use crate::store::messages::{self, Created, MessageRow, NewMessage, SentFilter, Stored};
use crate::store::{PageMark, audit};
use crate::stub;

/// Most recipients on one message (to + cc + bcc).
pub const MAX_RECIPIENTS: usize = 500;
/// How long an unlock code is, in characters: 6 at least, so that the lockouts
/// (`store::lockouts`) leave a guesser no real chance.
pub const UNLOCK_CODE_CHARS: std::ops::RangeInclusive<usize> = 6..=64;
/// Longest subject, in characters (RFC 5322's line limit).
pub const MAX_SUBJECT: usize = 998;

/// The delivery slip a sender (or the helper) declares when creating a message.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateMessage {
    /// Client-chosen id (UUID); retries with the same id and slip are harmless.
    pub id: String,
    /// `To` recipients.
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub to: Vec<EmailAddress>,
    /// `Cc` recipients.
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub cc: Vec<EmailAddress>,
    /// `Bcc` recipients: stored, never shown to other recipients.
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub bcc: Vec<EmailAddress>,
    /// Subject.
    #[serde(default)]
    pub subject: String,
    /// Exact length of the envelope that will be uploaded, in bytes.
    pub envelope_size: u64,
    /// Expiry (ms since the epoch); default from the tenant's policy.
    #[serde(default)]
    pub expires_at: Option<i64>,
}

fn canonical_id(id: &str) -> Result<(MessageId, String), ApiError> {
    let parsed: MessageId = id.parse().map_err(|_| ApiError::bad_request("id must be a UUID"))?;
    Ok((parsed, parsed.to_string()))
}

/// Loads a message the caller may see; 404 otherwise.
async fn visible(state: &AppState, user: &AuthUser, id: &str) -> Result<MessageRow, ApiError> {
    let (_, id) = canonical_id(id).map_err(|_| ApiError::not_found("message"))?;
    let m = messages::get(&state.db, &id).await?.ok_or_else(|| ApiError::not_found("message"))?;
    let own = m.sender_id == Some(user.user_id);
    let tenant_admin = user.role == Role::Admin && m.tenant_id == user.tenant_id;
    if own || tenant_admin { Ok(m) } else { Err(ApiError::not_found("message")) }
}

/// Loads a message only its sender may change (upload, finalise).
async fn own_uploading(
    state: &AppState,
    user: &AuthUser,
    id: &str,
) -> Result<MessageRow, ApiError> {
    let m = visible(state, user, id).await?;
    if m.sender_id != Some(user.user_id) {
        return Err(ApiError::forbidden("only the sender can upload or finalise a message"));
    }
    refuse_if_gone(&m)?;
    Ok(m)
}

fn refuse_if_gone(m: &MessageRow) -> Result<(), ApiError> {
    if m.recalled_at.is_some() {
        return Err(ApiError::gone("recalled", "the message was recalled"));
    }
    if m.expires_at.is_some_and(|t| t <= now_ms()) {
        return Err(ApiError::gone("expired", "the message has expired"));
    }
    Ok(())
}

/// `POST /api/v1/messages`
#[utoipa::path(post, path = "/api/v1/messages", tag = "messages", security(("device_token" = [])), request_body = CreateMessage,
    responses(
        (status = 201, description = "Created", body = UploadStatus),
        (status = 200, description = "The same slip was created before (a retry)", body = UploadStatus),
        (status = 400, description = "The request is malformed", body = crate::routes::openapi::ErrorBody), (status = 409, description = "id_in_use", body = crate::routes::openapi::ErrorBody), (status = 413, description = "Too large", body = crate::routes::openapi::ErrorBody),
    ))]
pub async fn create(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(req): ApiJson<CreateMessage>,
) -> Result<impl IntoResponse, ApiError> {
    let (_, id) = canonical_id(&req.id)?;
    let count = req.to.len() + req.cc.len() + req.bcc.len();
    if count == 0 {
        return Err(ApiError::bad_request("a message needs at least one recipient"));
    }
    if count > MAX_RECIPIENTS {
        return Err(ApiError::bad_request(format!("at most {MAX_RECIPIENTS} recipients")));
    }
    if req.subject.chars().count() > MAX_SUBJECT {
        return Err(ApiError::bad_request(format!(
            "the subject is longer than {MAX_SUBJECT} characters"
        )));
    }
    // A subject is one line of text: CR or LF would let it add header lines wherever it is
    // echoed (the stub's subject), NUL ends it early in C code.
    if req.subject.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "the subject contains a control character (line break, NUL …); send it as one line",
        ));
    }
    let policy = accounts::policy(&state.db, user.tenant_id).await?;
    let limit = policy.max_envelope_bytes.min(state.settings.max_envelope_bytes);
    if req.envelope_size > limit {
        return Err(ApiError::too_large(format!(
            "the envelope is {} bytes; this organisation allows at most {limit}",
            req.envelope_size
        )));
    }
    let mut seen = BTreeSet::new();
    let mut recipients = Vec::with_capacity(count);
    for (list, kind) in [(&req.to, "to"), (&req.cc, "cc"), (&req.bcc, "bcc")] {
        for a in list {
            if seen.insert(a.clone()) {
                recipients.push((a.to_string(), kind));
            }
        }
    }
    let expires_at = req.expires_at.or_else(|| {
        (policy.default_expiry_days > 0)
            .then(|| now_ms() + i64::from(policy.default_expiry_days) * 86_400_000)
    });
    let slip = serde_json::to_string(&CreateMessage { id: id.clone(), expires_at, ..req.clone() })
        .map_err(ApiError::internal)?;
    let new = NewMessage {
        id: &id,
        tenant_id: user.tenant_id,
        sender_id: Some(user.user_id),
        sender_email: &user.email,
        subject: &req.subject,
        slip: &slip,
        recipients: &recipients,
        expires_at,
        in_reply_to: None,
    };
    let audit = audit::Entry {
        tenant: Some(user.tenant_id),
        actor: &user.email,
        action: "message.created",
        detail: &id,
    };
    match messages::create(&state.db, &new, &audit).await? {
        Created::New(m) => Ok((StatusCode::CREATED, Json(upload_status(&m)))),
        Created::Existing(m) => Ok((StatusCode::OK, Json(upload_status(&m)))),
        Created::Conflict => Err(ApiError::conflict(
            "id_in_use",
            "this message id is already used for a different message; choose a new id",
        )),
    }
}

/// Where an upload stands.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UploadStatus {
    /// Message id.
    pub id: String,
    /// `uploading` or `final`.
    pub state: String,
    /// Envelope bytes durably stored: resume from here.
    pub received: i64,
    /// The envelope's length, once its header has arrived.
    pub envelope_size: Option<i64>,
}

fn upload_status(m: &MessageRow) -> UploadStatus {
    UploadStatus {
        id: m.id.clone(),
        state: m.state.clone(),
        received: m.received,
        envelope_size: m.envelope_len,
    }
}

/// `GET /api/v1/messages/{id}/envelope`: how much of the envelope is stored, to resume.
#[utoipa::path(get, path = "/api/v1/messages/{id}/envelope", tag = "messages", security(("device_token" = [])),
    params(("id" = String, Path, description = "Message id (UUID)")),
    responses((status = 200, description = "Bytes stored so far, to resume from", body = UploadStatus), (status = 404, description = "No such thing (or not yours)", body = crate::routes::openapi::ErrorBody), (status = 410, description = "The message was recalled or has expired", body = crate::routes::openapi::ErrorBody)))]
pub async fn upload_offset(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<UploadStatus>, ApiError> {
    let m = own_uploading(&state, &user, &id).await?;
    Ok(Json(upload_status(&m)))
}

/// `PATCH /api/v1/messages/{id}/envelope` with `Upload-Offset: N`: appends the body at N.
#[utoipa::path(patch, path = "/api/v1/messages/{id}/envelope", tag = "messages", security(("device_token" = [])),
    params(("id" = String, Path, description = "Message id (UUID)"),
           ("Upload-Offset" = u64, Header, description = "Where these bytes go; must equal the bytes stored")),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The next envelope bytes"),
    responses(
        (status = 200, description = "Stored durably", body = UploadStatus),
        (status = 409, description = "offset_mismatch (with `received`) or already_final", body = crate::routes::openapi::ErrorBody),
        (status = 410, description = "The message was recalled or has expired", body = crate::routes::openapi::ErrorBody), (status = 413, description = "Too large", body = crate::routes::openapi::ErrorBody),
        (status = 422, description = "The envelope is invalid (its error code)", body = crate::routes::openapi::ErrorBody),
        (status = 507, description = "storage_full: the platform's disk or database is full; nothing was kept", body = crate::routes::openapi::ErrorBody),
    ))]
pub async fn upload(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<UploadStatus>, ApiError> {
    let m = own_uploading(&state, &user, &id).await?;
    if m.state != "uploading" {
        return Err(ApiError::conflict("already_final", "the message is already finalised"));
    }
    let offset: i64 = headers
        .get("upload-offset")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| {
            ApiError::bad_request("the Upload-Offset header (a byte offset) is required")
        })?;
    if offset != m.received {
        return Err(ApiError::conflict(
            "offset_mismatch",
            format!("the upload is at byte {}, not {offset}; resume from there", m.received),
        )
        .with("received", m.received));
    }
    let slip: CreateMessage = serde_json::from_str(&m.slip).map_err(ApiError::internal)?;
    let declared = slip.envelope_size as i64;
    let room = (declared - offset).max(0) as u64;
    let limit = room.min(state.settings.max_segment_bytes);

    let (len, stored) = match receive_segment(&state, &headers, body, limit).await {
        Ok(received) => received,
        Err(PutError::TooLarge { .. }) if room < state.settings.max_segment_bytes => {
            return Err(ApiError::unprocessable(
                "trailing_data",
                format!(
                    "the envelope was declared as {declared} bytes; this upload goes past that"
                ),
            ));
        }
        Err(PutError::TooLarge { limit }) => {
            return Err(ApiError::too_large(format!(
                "one upload request may carry at most {limit} bytes"
            )));
        }
        Err(PutError::Body(e)) => {
            return Err(ApiError::bad_request(format!("the upload was interrupted: {e}")));
        }
        Err(PutError::Io(e)) => return Err(ApiError::io(e)),
    };
    let new = messages::Segment { seq: 0, start: offset, len, stored };
    if len == 0 {
        discard(&state, &new.stored).await;
        return Ok(Json(upload_status(&m)));
    }

    // Until the header is complete, validate everything received so far; afterwards the
    // declared length bounds every append.
    let mut envelope_len = m.envelope_len;
    if envelope_len.is_none() {
        match check_header_so_far(&state, &m, &new, declared).await {
            Ok(total) => envelope_len = total,
            Err(e) => {
                discard(&state, &new.stored).await;
                return Err(e);
            }
        }
    }
    if !messages::append_segment(&state.db, &m.id, offset, len, &new.stored, envelope_len).await? {
        discard(&state, &new.stored).await;
        let now = messages::get(&state.db, &m.id).await?.map_or(0, |m| m.received);
        return Err(ApiError::conflict(
            "offset_mismatch",
            "another upload to this message landed first",
        )
        .with("received", now));
    }
    metrics::counter!("sealpost_upload_bytes_total").increment(len as u64);
    Ok(Json(UploadStatus {
        id: m.id,
        state: "uploading".into(),
        received: offset + len,
        envelope_size: envelope_len,
    }))
}

/// Receives one upload request's body, at most `limit` bytes: a small body (by
/// `Content-Length`) into memory, to be kept with the segment's row; any other streamed
/// durably into a new blob.
async fn receive_segment(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
    limit: u64,
) -> Result<(i64, Stored), PutError> {
    let declared_len = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(n) = declared_len.filter(|&n| n <= state.settings.inline_segment_bytes.min(limit)) {
        // hyper ends the body at its Content-Length; the limit is a second guard.
        let bytes = axum::body::to_bytes(body, n as usize)
            .await
            .map_err(|e| PutError::Body(e.to_string()))?;
        return Ok((bytes.len() as i64, Stored::Inline(bytes)));
    }
    let name = BlobStore::new_name();
    let len = state.blobs.put_stream(&name, body.into_data_stream(), limit).await?;
    Ok((len as i64, Stored::Blob(name)))
}

/// Removes a received segment that will not be recorded (a blob; an inline one is just
/// memory).
async fn discard(state: &AppState, stored: &Stored) {
    if let Stored::Blob(name) = stored {
        let _ = state.blobs.delete(name).await;
    }
}

/// Feeds the envelope's first bytes (stored segments plus the `new` one, not yet recorded) to
/// the keyless validator. Returns the envelope length once the header is complete.
async fn check_header_so_far(
    state: &AppState,
    m: &MessageRow,
    new: &messages::Segment,
    declared: i64,
) -> Result<Option<i64>, ApiError> {
    let limits = Limits::default();
    let want = (new.start + new.len).min(i64::from(limits.max_header_len));
    // The first append (offset 0) has no earlier segments to read.
    let mut segments =
        if new.start > 0 { messages::segments(&state.db, &m.id).await? } else { Vec::new() };
    segments.push(new.clone());
    let prefix = read_range(state, &m.id, &segments, 0, want).await?;
    let mut v = Validator::new(limits);
    v.feed(&prefix)?;
    let Some(total) = v.expected_len() else { return Ok(None) };
    if total as i64 != declared {
        return Err(ApiError::unprocessable(
            "size_mismatch",
            format!(
                "the envelope's header says {total} bytes, the message was created for {declared}"
            ),
        ));
    }
    let header = v.header().ok_or_else(|| ApiError::internal("validator lost its header"))?;
    if header.message_id().to_string() != m.id {
        return Err(ApiError::unprocessable(
            "wrong_message",
            format!("this envelope is for message {}, not {}", header.message_id(), m.id),
        ));
    }
    Ok(Some(total as i64))
}

/// `POST /api/v1/messages/{id}/finalise`: checks the uploaded envelope and makes the message
/// available; answers with the link and the stub. Idempotent.
#[utoipa::path(post, path = "/api/v1/messages/{id}/finalise", tag = "messages", security(("device_token" = [])),
    params(("id" = String, Path, description = "Message id (UUID)")),
    responses(
        (status = 200, description = "Available to recipients; the link and the stub", body = Finalised),
        (status = 409, description = "upload_incomplete", body = crate::routes::openapi::ErrorBody), (status = 410, description = "The message was recalled or has expired", body = crate::routes::openapi::ErrorBody),
        (status = 422, description = "slip_mismatch, header_tampered, no_stanza_for_key, bad_manifest", body = crate::routes::openapi::ErrorBody),
    ))]
pub async fn finalise(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<Finalised>, ApiError> {
    let m = own_uploading(&state, &user, &id).await?;
    if m.state == "final" {
        return Ok(Json(final_answer(&state, &m).await?));
    }
    let total = match m.envelope_len {
        Some(t) if t == m.received => t,
        _ => {
            return Err(ApiError::conflict(
                "upload_incomplete",
                format!("only {} bytes of the envelope have arrived", m.received),
            )
            .with("received", m.received));
        }
    };
    let limits = Limits { max_total_len: total as u64, ..Limits::default() };

    // Header: authenticate it with the platform key it names.
    let segments = messages::segments(&state.db, &m.id).await?;
    let prefix = read_range(&state, &m.id, &segments, 0, PREFIX_LEN as i64).await?;
    let header_len = i64::from(Header::peek_len(&prefix, &limits)?);
    let header =
        Header::parse(read_range(&state, &m.id, &segments, 0, header_len).await?, &limits)?;
    let key = platform_key_for(&state, &header).await?;
    let dec = tokio::task::spawn_blocking(move || Decryptor::new(header, &key))
        .await
        .map_err(ApiError::internal)??;
    dec.expect_message(canonical_id(&m.id)?.0)?;

    // Manifest: decrypt part 0 and hold its metadata snapshot against the delivery slip.
    let manifest = read_manifest(&state, &m.id, &segments, &dec).await?;
    let slip: CreateMessage = serde_json::from_str(&m.slip).map_err(ApiError::internal)?;
    check_snapshot(&manifest, &slip, &m.sender_email)?;

    // Keep the file key under the tenant's data key; the platform key is no longer needed.
    let tenant_key = accounts::data_key(&state.db, &state.master, m.tenant_id).await?;
    let sealed = tenant_key
        .seal(&file_key_purpose(&m.id), dec.file_key().expose_secret())
        .map_err(ApiError::internal)?;
    let link_token = BlobStore::new_name();
    let audit = audit::Entry {
        tenant: Some(m.tenant_id),
        actor: &user.email,
        action: "message.finalised",
        detail: &m.id,
    };
    let m = match messages::finalise(&state.db, &m.id, &sealed, &link_token, &audit).await? {
        Some(m) => {
            metrics::counter!("sealpost_messages_finalised_total").increment(1);
            m
        }
        // A concurrent finalise won; answer as it did.
        None => {
            messages::get(&state.db, &m.id).await?.ok_or_else(|| ApiError::not_found("message"))?
        }
    };
    Ok(Json(final_answer(&state, &m).await?))
}

async fn platform_key_for(
    state: &AppState,
    header: &Header,
) -> Result<std::sync::Arc<sealpost_envelope::PrivateKey>, ApiError> {
    let named: Vec<_> = header
        .stanzas()
        .iter()
        .filter(|s| s.role == StanzaRole::Platform)
        .map(|s| s.key_id)
        .collect();
    let loaded = {
        let keys = state.keys.read().await;
        named.iter().find_map(|id| keys.get(id).cloned())
    };
    if let Some(k) = loaded {
        return Ok(k);
    }
    // A key rotated on another node: reload once.
    let (fresh, _) = crate::store::platform_keys::load_or_create(
        &state.db,
        &state.master,
        state.settings.platform_key_bits,
    )
    .await?;
    let found = named.iter().find_map(|id| fresh.get(id).cloned());
    *state.keys.write().await = fresh;
    found.ok_or_else(|| {
        ApiError::unprocessable(
            "no_stanza_for_key",
            "the envelope is not sealed for this platform's key; fetch /api/v1/keys/platform and seal again",
        )
    })
}

fn check_snapshot(manifest: &Manifest, slip: &CreateMessage, sender: &str) -> Result<(), ApiError> {
    let set = |v: &[String]| v.iter().map(|a| a.trim().to_lowercase()).collect::<BTreeSet<_>>();
    let slip_set = |v: &[EmailAddress]| v.iter().map(|a| a.to_string()).collect::<BTreeSet<_>>();
    let md = &manifest.metadata;
    let mismatch = if !md.from.trim().eq_ignore_ascii_case(sender) {
        Some("sender")
    } else if set(&md.to) != slip_set(&slip.to) {
        Some("To recipients")
    } else if set(&md.cc) != slip_set(&slip.cc) {
        Some("Cc recipients")
    } else if md.subject != slip.subject {
        Some("subject")
    } else {
        None
    };
    match mismatch {
        Some(what) => Err(ApiError::unprocessable(
            "slip_mismatch",
            format!("the {what} in the envelope differ from the delivery slip"),
        )),
        None => Ok(()),
    }
}

/// A finalised message: the link and the stub to send in its place.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Finalised {
    /// Message id.
    pub id: String,
    /// `final`.
    pub state: String,
    /// The message link (an opaque id, nothing personal).
    pub link: String,
    /// What the mail client sends instead of the message — unless the platform mails the
    /// recipients itself (`notified_by_platform`), when the client sends nothing.
    pub stub: stub::Stub,
    /// The tenant's policy has the platform send the notifications: each recipient got (is
    /// getting) a mail with a personal link, so the mail client must not send the stub.
    pub notified_by_platform: bool,
}

/// The answer to a finalise (first or repeated). When the platform sends the notifications,
/// it makes sure each recipient's is queued (once, however often this runs).
async fn final_answer(state: &AppState, m: &MessageRow) -> Result<Finalised, ApiError> {
    let token =
        m.link_token.as_deref().ok_or_else(|| ApiError::internal("final message without link"))?;
    let link = format!("{}/m/{token}", state.public_url);
    let policy = accounts::policy(&state.db, m.tenant_id).await?;
    if policy.notification_mode == NotificationMode::PlatformSends {
        crate::notify::announce(state, m, &policy).await?;
    }
    let stub = stub::build(&policy, &m.subject, Some(&m.sender_email), &link);
    let notified_by_platform = policy.notification_mode == NotificationMode::PlatformSends;
    Ok(Finalised { id: m.id.clone(), state: m.state.clone(), link, stub, notified_by_platform })
}

/// Query of the sent list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Substring of the subject or a recipient's address.
    pub q: Option<String>,
    /// Created at or after (ms).
    pub since: Option<i64>,
    /// Created before (ms).
    pub until: Option<i64>,
    /// Next page: the previous page's `next` (a page mark, `MS.ID`: the messages after that
    /// page's last, so none sharing its millisecond is skipped).
    pub before: Option<String>,
    /// Page size, 1..=200 (default 50).
    pub limit: Option<i64>,
}

/// `GET /api/v1/messages`: the caller's sent messages, newest first.
#[utoipa::path(get, path = "/api/v1/messages", tag = "messages", security(("device_token" = [])), params(ListQuery),
    responses((status = 200, description = "The caller's sent messages, newest first", body = Object), (status = 400, description = "The request is malformed", body = crate::routes::openapi::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::bad_request("limit must be between 1 and 200"));
    }
    if q.q.as_ref().is_some_and(|s| s.len() > 256) {
        return Err(ApiError::bad_request("the search text is longer than 256 characters"));
    }
    let before = q.before.as_deref().map(str::parse::<PageMark>).transpose();
    let before = before.map_err(|e| ApiError::bad_request(format!("before: {e}")))?;
    let filter = SentFilter { query: q.q, since: q.since, until: q.until, before, limit };
    let rows = messages::list_sent(&state.db, user.user_id, &filter).await?;
    let next = (rows.len() as i64 == limit)
        .then(|| rows.last().map(|m| PageMark::after(m).to_string()))
        .flatten();
    let items: Vec<Value> = rows.iter().map(summary).collect();
    Ok(Json(json!({ "messages": items, "next": next })))
}

fn summary(m: &MessageRow) -> Value {
    json!({
        "id": m.id,
        "subject": m.subject,
        "state": status_word(m),
        "created_at": m.created_at,
        "finalised_at": m.finalised_at,
        "expires_at": m.expires_at,
        "recalled_at": m.recalled_at,
        "unlock_code": m.unlock_hash.is_some(),
    })
}

fn status_word(m: &MessageRow) -> &'static str {
    if m.recalled_at.is_some() {
        "recalled"
    } else if m.expires_at.is_some_and(|t| t <= now_ms()) {
        "expired"
    } else if m.state == "final" {
        "sent"
    } else {
        "uploading"
    }
}

/// `GET /api/v1/messages/{id}`: the delivery slip with per-recipient status.
#[utoipa::path(get, path = "/api/v1/messages/{id}", tag = "messages", security(("device_token" = [])),
    params(("id" = String, Path, description = "Message id (UUID)")),
    responses((status = 200, description = "The delivery slip with per-recipient status", body = Object), (status = 404, description = "No such thing (or not yours)", body = crate::routes::openapi::ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let m = visible(&state, &user, &id).await?;
    let events = messages::events(&state.db, &m.id).await?;
    let recipients: Vec<Value> = messages::recipients(&state.db, &m.id)
        .await?
        .into_iter()
        .map(|(email, kind)| {
            let mut status = serde_json::Map::new();
            for e in events.iter().filter(|e| e.recipient.as_deref() == Some(email.as_str())) {
                status.entry(e.kind.clone()).or_insert(json!(e.at));
            }
            json!({ "email": email, "kind": kind, "status": status })
        })
        .collect();
    let mut v = summary(&m);
    v["from"] = json!(m.sender_email);
    v["recipients"] = json!(recipients);
    v["events"] = json!(events);
    v["envelope"] = json!({ "received": m.received, "size": m.envelope_len });
    Ok(Json(v))
}

/// `POST /api/v1/messages/{id}/sent`: the sender's mail client reports that the stub went out
/// over SMTP; every recipient's status shows "sent". Idempotent.
#[utoipa::path(post, path = "/api/v1/messages/{id}/sent", tag = "messages", security(("device_token" = [])),
    params(("id" = String, Path, description = "Message id (UUID)")),
    responses(
        (status = 204, description = "Recorded (or already recorded)"),
        (status = 404, description = "No such thing (or not yours)", body = crate::routes::openapi::ErrorBody),
        (status = 409, description = "The message is not finalised yet", body = crate::routes::openapi::ErrorBody),
        (status = 410, description = "The message was recalled or has expired", body = crate::routes::openapi::ErrorBody),
    ))]
pub async fn sent(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let m = own_uploading(&state, &user, &id).await?;
    if m.state != "final" {
        return Err(ApiError::conflict(
            "not_final",
            "finalise the message before reporting it sent",
        ));
    }
    let audit = audit::Entry {
        tenant: Some(m.tenant_id),
        actor: &user.email,
        action: "message.sent",
        detail: &m.id,
    };
    messages::mark_sent(&state.db, &m.id, &audit).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/messages/{id}/recall`: nobody can open the message from now on.
#[utoipa::path(post, path = "/api/v1/messages/{id}/recall", tag = "messages", security(("device_token" = [])),
    params(("id" = String, Path, description = "Message id (UUID)")),
    responses((status = 200, description = "Recalled", body = Object), (status = 404, description = "No such thing (or not yours)", body = crate::routes::openapi::ErrorBody)))]
pub async fn recall(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let m = visible(&state, &user, &id).await?;
    if messages::recall(&state.db, &m.id).await? {
        audit::append(&state.db, Some(m.tenant_id), &user.email, "message.recalled", &m.id).await?;
    }
    let m = messages::get(&state.db, &m.id).await?.ok_or_else(|| ApiError::not_found("message"))?;
    Ok(Json(summary(&m)))
}

/// Body of `PATCH /api/v1/messages/{id}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeMessage {
    /// New expiry (ms since the epoch), or null for none.
    pub expires_at: Option<i64>,
}

/// `PATCH /api/v1/messages/{id}`: change the expiry after sending.
#[utoipa::path(patch, path = "/api/v1/messages/{id}", tag = "messages", security(("device_token" = [])), request_body = ChangeMessage,
    params(("id" = String, Path, description = "Message id (UUID)")),
    responses((status = 200, description = "Changed", body = Object), (status = 404, description = "No such thing (or not yours)", body = crate::routes::openapi::ErrorBody), (status = 410, description = "The message was recalled or has expired", body = crate::routes::openapi::ErrorBody)))]
pub async fn change(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<ChangeMessage>,
) -> Result<Json<Value>, ApiError> {
    let m = visible(&state, &user, &id).await?;
    if m.recalled_at.is_some() {
        return Err(ApiError::gone("recalled", "the message was recalled"));
    }
    messages::set_expiry(&state.db, &m.id, req.expires_at).await?;
    let detail = format!("{} expires_at={:?}", m.id, req.expires_at);
    audit::append(&state.db, Some(m.tenant_id), &user.email, "message.expiry_changed", &detail)
        .await?;
    let m = messages::get(&state.db, &m.id).await?.ok_or_else(|| ApiError::not_found("message"))?;
    Ok(Json(summary(&m)))
}

/// Body of `PUT /api/v1/messages/{id}/unlock-code`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnlockCode {
    /// The code (6 to 64 characters) the sender passes on out of band, by phone or chat.
    #[schema(min_length = 6, max_length = 64)]
    pub code: String,
}

/// `PUT /api/v1/messages/{id}/unlock-code`: recipients must also give this code before they
/// can read the message (asked after their one-time code). Only its argon2id hash is kept.
#[utoipa::path(put, path = "/api/v1/messages/{id}/unlock-code", tag = "messages", security(("device_token" = [])), request_body = UnlockCode,
    params(("id" = String, Path, description = "Message id (UUID)")),
    responses((status = 204, description = "Set"), (status = 400, description = "The code is too short or too long", body = crate::routes::openapi::ErrorBody), (status = 403, description = "Only the sender may set it", body = crate::routes::openapi::ErrorBody), (status = 404, description = "No such thing (or not yours)", body = crate::routes::openapi::ErrorBody), (status = 410, description = "The message was recalled or has expired", body = crate::routes::openapi::ErrorBody)))]
pub async fn set_unlock_code(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<UnlockCode>,
) -> Result<StatusCode, ApiError> {
    let m = visible(&state, &user, &id).await?;
    if m.sender_id != Some(user.user_id) {
        return Err(ApiError::forbidden("only the sender can set a message's unlock code"));
    }
    refuse_if_gone(&m)?;
    let n = req.code.trim().chars().count();
    if !UNLOCK_CODE_CHARS.contains(&n) {
        return Err(ApiError::bad_request(format!(
            "the unlock code must have {} to {} characters",
            UNLOCK_CODE_CHARS.start(),
            UNLOCK_CODE_CHARS.end()
        )));
    }
    let hash =
        accounts::hash_password(zeroize::Zeroizing::new(req.code.trim().to_string())).await?;
    messages::set_unlock_hash(&state.db, &m.id, &hash).await?;
    audit::append(&state.db, Some(m.tenant_id), &user.email, "message.unlock_code_set", &m.id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
