//! `/api/v1/messages`: create a message (its delivery slip), upload its envelope resumably,
//! finalise it, list and search sent messages, read one slip with per-recipient status,
//! recall, change expiry.
//!
//! Access: a message is visible to its sender, and to the admins of the sender's tenant.
//! Anyone else gets 404, the same as for an id that does not exist.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use sealpost_policy::NotificationMode;
use serde::{Deserialize, Serialize};

use crate::db::now_ms;
use crate::domain::Role;
use crate::error::{ApiError, ApiJson};
use crate::messages::slip::{self, DeliverySlip};
use crate::messages::tracking::{self, MessageStatus, RecipientStatus};
use crate::messages::{self, Author, FileKeySource, SegmentBody, UploadState, UploadStatus};
use crate::state::AppState;
use crate::store::accounts::{self, AuthUser};
use crate::store::messages::{self as stored, MessageRow, SentFilter};
use crate::store::{PageMark, audit};
use crate::stub;

/// Loads a message the caller may see; 404 otherwise.
async fn visible(state: &AppState, user: &AuthUser, id: &str) -> Result<MessageRow, ApiError> {
    let (_, id) = slip::canonical_id(id).map_err(|_| ApiError::not_found("message"))?;
    let m = stored::get(&state.db, &id).await?.ok_or_else(|| ApiError::not_found("message"))?;
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
#[utoipa::path(post, path = "/api/v1/messages", tag = "messages", security(("device_token" = [])), request_body = DeliverySlip,
    responses(
        (status = 201, description = "Created", body = UploadStatus),
        (status = 200, description = "The same slip was created before (a retry)", body = UploadStatus),
        (status = 400, description = "The request is malformed", body = crate::routes::openapi::ErrorBody), (status = 409, description = "id_in_use", body = crate::routes::openapi::ErrorBody), (status = 413, description = "Too large", body = crate::routes::openapi::ErrorBody),
    ))]
pub async fn create(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(slip): ApiJson<DeliverySlip>,
) -> Result<impl IntoResponse, ApiError> {
    let opened = messages::create(&state, Author::Member(&user), slip).await?;
    let status = if opened.new { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(UploadStatus::of(&opened.message))))
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
    Ok(Json(UploadStatus::of(&m)))
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
    let offset: i64 = header_number(&headers, "upload-offset").ok_or_else(|| {
        ApiError::bad_request("the Upload-Offset header (a byte offset) is required")
    })?;
    let declared_len = header_number(&headers, axum::http::header::CONTENT_LENGTH.as_str());
    let body = SegmentBody { declared_len, stream: body.into_data_stream() };
    Ok(Json(messages::append(&state, &m, offset, body).await?))
}

/// A header's value as a number, if it is one.
fn header_number<T: std::str::FromStr>(headers: &HeaderMap, name: &str) -> Option<T> {
    headers.get(name).and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok())
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
    let m = messages::finalise(&state, &m, FileKeySource::PlatformStanza).await?;
    Ok(Json(final_answer(&state, &m).await?))
}

/// A finalised message: the link and the stub to send in its place.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Finalised {
    /// Message id.
    pub id: String,
    /// Always `final`.
    pub state: UploadState,
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
    let brand = crate::store::branding::get(&state.db, m.tenant_id).await?;
    let stub = stub::build(&policy, brand.as_ref(), &m.subject, Some(&m.sender_email), &link);
    let notified_by_platform = policy.notification_mode == NotificationMode::PlatformSends;
    Ok(Finalised { id: m.id.clone(), state: UploadState::Final, link, stub, notified_by_platform })
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

/// One page of the sent list.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MessageList {
    /// The messages, newest first.
    pub messages: Vec<MessageSummary>,
    /// The page mark of the next page (`before=`), when there may be more.
    pub next: Option<String>,
}

/// A sent message in a list.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MessageSummary {
    /// Message id.
    pub id: String,
    /// Subject.
    pub subject: String,
    /// Where it stands.
    pub state: MessageStatus,
    /// Created (ms since the epoch).
    pub created_at: i64,
    /// Finalised (ms).
    pub finalised_at: Option<i64>,
    /// Expires (ms).
    pub expires_at: Option<i64>,
    /// Recalled (ms).
    pub recalled_at: Option<i64>,
    /// Whether recipients must also give an unlock code.
    pub unlock_code: bool,
}

impl MessageSummary {
    fn of(m: &MessageRow) -> MessageSummary {
        MessageSummary {
            id: m.id.clone(),
            subject: m.subject.clone(),
            state: MessageStatus::of(m),
            created_at: m.created_at,
            finalised_at: m.finalised_at,
            expires_at: m.expires_at,
            recalled_at: m.recalled_at,
            unlock_code: m.unlock_hash.is_some(),
        }
    }
}

/// `GET /api/v1/messages`: the caller's sent messages, newest first.
#[utoipa::path(get, path = "/api/v1/messages", tag = "messages", security(("device_token" = [])), params(ListQuery),
    responses((status = 200, description = "The caller's sent messages, newest first", body = MessageList), (status = 400, description = "The request is malformed", body = crate::routes::openapi::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    Query(q): Query<ListQuery>,
) -> Result<Json<MessageList>, ApiError> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::bad_request(format!("limit must be between 1 and {MAX_PAGE}")));
    }
    if q.q.as_ref().is_some_and(|s| s.len() > MAX_SEARCH_BYTES) {
        return Err(ApiError::bad_request(format!(
            "the search text is longer than {MAX_SEARCH_BYTES} characters"
        )));
    }
    let before = q.before.as_deref().map(str::parse::<PageMark>).transpose();
    let before = before.map_err(|e| ApiError::bad_request(format!("before: {e}")))?;
    let filter = SentFilter { query: q.q, since: q.since, until: q.until, before, limit };
    let rows = stored::list_sent(&state.db, user.user_id, &filter).await?;
    let next = (rows.len() as i64 == limit)
        .then(|| rows.last().map(|m| PageMark::after(m).to_string()))
        .flatten();
    Ok(Json(MessageList { messages: rows.iter().map(MessageSummary::of).collect(), next }))
}

/// Most messages on one page of the sent list.
pub const MAX_PAGE: i64 = 200;
/// Longest search text of the sent list, in bytes.
pub const MAX_SEARCH_BYTES: usize = 256;

/// The delivery slip with per-recipient status.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MessageDetail {
    /// The message as in the list.
    #[serde(flatten)]
    pub summary: MessageSummary,
    /// The sender.
    pub from: String,
    /// Every recipient (Bcc included: only the sender and the tenant's admins see this).
    pub recipients: Vec<RecipientStatus>,
    /// Everything that happened, oldest first.
    pub events: Vec<stored::Event>,
    /// Envelope bytes stored.
    pub received: i64,
    /// The envelope's size in bytes, once its header has arrived.
    pub envelope_size: Option<i64>,
}

/// `GET /api/v1/messages/{id}`: the delivery slip with per-recipient status.
#[utoipa::path(get, path = "/api/v1/messages/{id}", tag = "messages", security(("device_token" = [])),
    params(("id" = String, Path, description = "Message id (UUID)")),
    responses((status = 200, description = "The delivery slip with per-recipient status", body = MessageDetail), (status = 404, description = "No such thing (or not yours)", body = crate::routes::openapi::ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<MessageDetail>, ApiError> {
    let m = visible(&state, &user, &id).await?;
    let (recipients, events) = tracking::recipient_status(&state, &m).await?;
    Ok(Json(MessageDetail {
        summary: MessageSummary::of(&m),
        from: m.sender_email.clone(),
        recipients,
        events,
        received: m.received,
        envelope_size: m.envelope_size,
    }))
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
    if !m.is_final() {
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
    stored::mark_sent(&state.db, &m.id, &audit).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/messages/{id}/recall`: nobody can open the message from now on.
#[utoipa::path(post, path = "/api/v1/messages/{id}/recall", tag = "messages", security(("device_token" = [])),
    params(("id" = String, Path, description = "Message id (UUID)")),
    responses((status = 200, description = "Recalled", body = MessageSummary), (status = 404, description = "No such thing (or not yours)", body = crate::routes::openapi::ErrorBody)))]
pub async fn recall(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<MessageSummary>, ApiError> {
    let m = visible(&state, &user, &id).await?;
    tracking::recall(&state, &m, &user.email).await?;
    let m = stored::get(&state.db, &m.id).await?.ok_or_else(|| ApiError::not_found("message"))?;
    Ok(Json(MessageSummary::of(&m)))
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
    responses((status = 200, description = "Changed", body = MessageSummary), (status = 404, description = "No such thing (or not yours)", body = crate::routes::openapi::ErrorBody), (status = 410, description = "The message was recalled or has expired", body = crate::routes::openapi::ErrorBody)))]
pub async fn change(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<ChangeMessage>,
) -> Result<Json<MessageSummary>, ApiError> {
    let m = visible(&state, &user, &id).await?;
    if m.recalled_at.is_some() {
        return Err(ApiError::gone("recalled", "the message was recalled"));
    }
    tracking::change_expiry(&state, &m, req.expires_at, &user.email).await?;
    let m = stored::get(&state.db, &m.id).await?.ok_or_else(|| ApiError::not_found("message"))?;
    Ok(Json(MessageSummary::of(&m)))
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
    slip::check_unlock_code(&req.code)?;
    let hash =
        accounts::hash_password(zeroize::Zeroizing::new(req.code.trim().to_string())).await?;
    stored::set_unlock_hash(&state.db, &m.id, &hash).await?;
    audit::append(&state.db, Some(m.tenant_id), &user.email, "message.unlock_code_set", &m.id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
