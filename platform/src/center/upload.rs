//! Large attachments for a Message Center reply: uploaded from the browser in pieces,
//! resumably — gigabytes, up to the organisation's envelope limit — where the reply page's
//! script runs (`static/reply.js`). Without script the reply form carries small files in one
//! post (`reply`), and a reply without attachments always goes that way.
//!
//! 1. `POST /c/reply/{link}/uploads` (JSON: what was typed, and each file's name, type and
//!    size). The reply is held against the organisation's limits, its manifest written (the
//!    attachments' SHA-256 still zeros: a hash is 64 hex digits whatever it is, so the
//!    manifest's length is known now) and its envelope header made; the reply is created as
//!    a message still uploading, and its header, file key, staging key (below) and manifest
//!    are kept (`store::reply_uploads`; all but the header under the tenant's data key).
//! 2. `PUT /c/reply/{link}/uploads/{id}/{part}?at=N`: the next piece of attachment `part`,
//!    plaintext from byte `N`, a whole number of envelope chunks (or up to the part's end),
//!    at most [`PIECE_BYTES`], within [`PIECE_DEADLINE`]. It is staged as it streams in: each
//!    64 KiB chunk sealed under a key of the upload's own, with a random nonce, the chunk's
//!    place bound in as associated data — only ciphertext is written, as a blob. A piece cut
//!    off is not recorded. `GET …/uploads/{id}` says how far each part is, to resume from —
//!    on whichever node answers, since all of it is in the database and the blob store.
//!    (Pieces are not sealed under the file key as they arrive: a piece sent twice — cut off
//!    and resumed, or raced from two tabs — with other bytes would reuse that key's nonces.)
//! 3. `POST …/uploads/{id}/send`: one send at a time holds the upload. Every staged chunk is
//!    opened (which proves it), hashed, and sealed into the envelope under the file key —
//!    each chunk once, from bytes already authenticated, so a retried send writes the same
//!    ciphertext — as new blobs; the manifest gets the hashes and is sealed as part 0, header
//!    ‖ manifest become the reply's first envelope segment and the sealed pieces its next.
//!    Then the reply is finalised and its recipients notified like any other (`messages`,
//!    `reply::sent`), and the staged pieces are removed.
//!
//! A reply uploading counts against the writer's limits with the size it declared, and a
//! writer has at most two uploads in flight (`store::reply_uploads::SLOTS`).
//! Every request needs the Center session of a recipient of the message being answered
//! (`Replying`), the CSRF token in `X-CSRF-Token`, and the upload must be that reader's reply
//! to that message. Answers are JSON, errors the API's (`ApiError`). An upload never sent is
//! removed with its pieces by the sweep of abandoned uploads.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, ready};

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum_extra::extract::cookie::CookieJar;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use sealpost_envelope::{
    Body, ContentHash, FileKey, Header, Limits, Manifest, MessageId, PartSealer, SealCore, Sealer,
    StanzaRole,
};

use super::error::CenterError;
use super::extract::{Reading, Replying, csrf_matches};
use super::language::Lang;
use super::reply::{self, MAX_ATTACHMENTS};
use crate::blob::{BlobStore, PutError};
use crate::error::{ApiError, ApiJson};
use crate::messages::slip::MAX_SUBJECT_CHARS;
use crate::messages::{self, FileKeySource, SegmentBody};
use crate::secrets::{SEALED_OVERHEAD, SealingKey};
use crate::state::AppState;
use crate::store::accounts;
use crate::store::messages::{self as stored, MessageRow, Stored};
use crate::store::reply_uploads::{self, Piece, UploadRow};

/// Most plaintext bytes one piece carries: 128 chunks of the envelope's 64 KiB. Small enough
/// that a piece cut off costs seconds to send again, large enough that a gigabyte is 128
/// requests.
pub(super) const PIECE_BYTES: u64 = 8 << 20;
const _: () = assert!(PIECE_BYTES.is_multiple_of(sealpost_envelope::DEFAULT_CHUNK_SIZE as u64));

/// The longest one piece may take to arrive: 8 MiB in 5 minutes is 28 kB/s. A body that
/// trickles (a byte a minute keeps the idle timer happy) is cut off, and resumed by the page.
const PIECE_DEADLINE: std::time::Duration = std::time::Duration::from_secs(300);

/// How long a send holds its upload (ms): far longer than opening, hashing and sealing a
/// reply of the largest size an organisation may set takes; a send that died lets go then.
const SEND_HOLD_MS: i64 = 30 * 60_000;

/// The header the script sends the page's CSRF token in.
const CSRF_HEADER: &str = "x-csrf-token";

/// What the script posts to begin: the form as typed, and the files chosen.
#[derive(Deserialize)]
pub(super) struct Begin {
    #[serde(default)]
    subject: String,
    #[serde(default)]
    text: String,
    /// Reply to everyone the message went to (never its Bcc).
    #[serde(default)]
    all: bool,
    /// A new message to the sender rather than a reply.
    #[serde(default)]
    fresh: bool,
    /// The draft this reply sends.
    #[serde(default)]
    draft: Option<i64>,
    files: Vec<FileSpec>,
}

/// A file the reader chose.
#[derive(Deserialize)]
struct FileSpec {
    name: String,
    #[serde(default, rename = "type")]
    content_type: String,
    size: u64,
}

/// Where an upload stands.
#[derive(Serialize)]
pub(super) struct UploadStatus {
    /// The upload (the reply's message id).
    id: String,
    /// Most bytes per piece.
    piece_bytes: u64,
    /// Each attachment, in the order the files were given.
    parts: Vec<PartStatus>,
}

#[derive(Serialize)]
struct PartStatus {
    /// Its envelope part (the `{part}` of its pieces' address).
    part: u32,
    size: u64,
    /// Bytes stored: the next piece starts here.
    received: u64,
    /// Whether all of it is in (an empty file too, once its one piece arrived).
    complete: bool,
}

/// Where the script goes once the reply is sent.
#[derive(Serialize)]
pub(super) struct Sent {
    location: &'static str,
}

/// The byte a piece starts at.
#[derive(Deserialize)]
pub(super) struct At {
    at: u64,
}

/// The session (for a JSON caller: an ended one is a 401 to say so, not the sign-in page)
/// and the CSRF token from its header.
fn signed_in(
    replying: Result<Replying, CenterError>,
    jar: &CookieJar,
    headers: &HeaderMap,
) -> Result<Reading, ApiError> {
    let Replying(reading) = replying.map_err(|e| match e {
        CenterError::Redirect(to) if to.starts_with("/c/unlock/") => {
            ApiError::forbidden("open the message with its unlock code first")
        }
        // No session sends a page to the message's first-contact page or the sign-in page.
        CenterError::SignInNeeded | CenterError::SessionEnded(_) | CenterError::Redirect(_) => {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "signed_out",
                "your Message Center session has ended: sign in again, then send",
            )
        }
        CenterError::Recalled | CenterError::Expired => {
            ApiError::gone("gone", "the message you are answering is no longer available")
        }
        CenterError::Internal(cause) => ApiError::internal(cause),
        // Not a recipient, no such message, or one still to be unlocked: the reply form
        // itself says which; the script sends the reader back to it.
        _ => ApiError::not_found("message"),
    })?;
    let token = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if !csrf_matches(jar, token) {
        return Err(ApiError::forbidden("the page has expired: open the reply form again"));
    }
    Ok(reading)
}

/// Purposes binding the kept file key and manifest to their reply.
fn key_purpose(id: &str) -> String {
    format!("reply-upload-key:{id}")
}
fn manifest_purpose(id: &str) -> String {
    format!("reply-upload-manifest:{id}")
}
fn staging_purpose(id: &str) -> String {
    format!("reply-upload-staging-key:{id}")
}
/// Binds a staged chunk to its place: no chunk can stand in for another.
fn chunk_purpose(id: &str, part: u32, index: u64) -> String {
    format!("reply-upload-chunk:{id}:{part}:{index}")
}

/// `POST /c/reply/{link}/uploads`: begins a reply with large attachments.
pub(super) async fn begin(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    replying: Result<Replying, CenterError>,
    ApiJson(b): ApiJson<Begin>,
) -> Result<Json<UploadStatus>, ApiError> {
    let Reading { m, email, manifest: original, .. } = signed_in(replying, &jar, &headers)?;
    if b.files.is_empty() || b.files.len() > MAX_ATTACHMENTS {
        return Err(ApiError::bad_request(format!(
            "a reply carries between 1 and {MAX_ATTACHMENTS} attachments"
        )));
    }
    if b.text.len() > 1_000_000 {
        return Err(ApiError::bad_request("the message is too long"));
    }
    let subject: String =
        b.subject.chars().filter(|c| !c.is_control()).take(MAX_SUBJECT_CHARS).collect();
    let mut total = b.text.len() as u64;
    for f in &b.files {
        total = total
            .checked_add(f.size)
            .ok_or_else(|| ApiError::too_large(Lang::En.text(reply::TOO_LARGE.0)))?;
    }
    if !reply::within_limits(&state, &m, &email, total).await.map_err(center_to_api)? {
        // The API speaks English; the script says what the code means in the reader's language.
        let said = Lang::En.text(reply::OVER_LIMIT.0);
        return Err(ApiError::new(StatusCode::TOO_MANY_REQUESTS, "over_limit", said));
    }

    let (to, cc) = reply::addressees(&original, &email, b.all && !b.fresh);
    let metadata = reply::metadata(&m, &email, to, cc, &subject, b.fresh);
    let mut manifest = Manifest::new(metadata, Body { text: Some(b.text), html: None });
    for f in &b.files {
        manifest.attach_hashed(file_name(&f.name), content_type(&f.content_type), f.size, zeros());
    }
    let json = Zeroizing::new(manifest.to_json());
    let id = MessageId::random().map_err(ApiError::internal)?;
    let platform_key = state.keys.read().await.active().clone();
    let sealer = Sealer::builder(id)
        .recipient(StanzaRole::Platform, platform_key.public_key())
        .parts_for(&manifest, &json)
        .build()?;
    let slip = reply::slip(id, &manifest.metadata, sealer.header().layout().total_len())?;
    // Over the organisation's envelope limit, `create` refuses and nothing is kept.
    let opened = match reply::create(&state, &m, &email, b.fresh, slip).await {
        Err(e) if e.code() == "too_large" => {
            return Err(ApiError::too_large(Lang::En.text(reply::TOO_LARGE.0)));
        }
        opened => opened?,
    };
    let reply_id = opened.message.id;
    let key = accounts::data_key(&state.db, &state.master, m.tenant_id).await?;
    let (_, staging) = SealingKey::random().map_err(ApiError::internal)?;
    let seal =
        |purpose: String, bytes: &[u8]| key.seal(&purpose, bytes).map_err(ApiError::internal);
    let row = UploadRow {
        message_id: reply_id.clone(),
        writer: email,
        original_id: m.id,
        declared_size: sealer.header().layout().total_len() as i64,
        header: sealer.header().as_bytes().to_vec(),
        sealed_file_key: seal(key_purpose(&reply_id), sealer.file_key().expose_secret())?,
        sealed_staging_key: seal(staging_purpose(&reply_id), &staging[..])?,
        sealed_manifest: seal(manifest_purpose(&reply_id), &json)?,
        draft_id: b.draft,
    };
    if !reply_uploads::begin(&state.db, &row).await? {
        // Both of the writer's slots are taken: the reply just made goes again.
        let entry = crate::store::audit::Entry {
            tenant: Some(opened.message.tenant_id),
            actor: &row.writer,
            action: "message.upload_refused",
            detail: &reply_id,
        };
        let _ = stored::delete_upload(&state.db, &reply_id, &entry).await;
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "uploads_in_flight",
            format!(
                "{} replies with large attachments are uploading already: send or leave one first",
                reply_uploads::SLOTS
            ),
        ));
    }
    Ok(Json(status(&row, sealer.header(), &[])))
}

/// `GET /c/reply/{link}/uploads/{id}`: how far each attachment is.
pub(super) async fn show(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    Path((_, id)): Path<(String, String)>,
    replying: Result<Replying, CenterError>,
) -> Result<Json<UploadStatus>, ApiError> {
    let reading = signed_in(replying, &jar, &headers)?;
    let upload = Upload::mine(&state, &reading, &id).await?;
    let pieces = reply_uploads::pieces(&state.db, &id).await?;
    Ok(Json(status(&upload.row, &upload.header, &pieces)))
}

/// `PUT /c/reply/{link}/uploads/{id}/{part}?at=N`: the next piece of an attachment.
pub(super) async fn put(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    Path((_, id, part)): Path<(String, String, u32)>,
    Query(At { at }): Query<At>,
    replying: Result<Replying, CenterError>,
    body: axum::body::Body,
) -> Result<Json<UploadStatus>, ApiError> {
    let reading = signed_in(replying, &jar, &headers)?;
    let upload = Upload::mine(&state, &reading, &id).await?;
    let layout = match part {
        0 => return Err(ApiError::not_found("attachment")),
        p => *upload.header.layout().part(p).map_err(|_| ApiError::not_found("attachment"))?,
    };
    let pieces = reply_uploads::pieces(&state.db, &id).await?;
    let (received, complete) = progress(&pieces, part, layout.len);
    if complete {
        return Err(ApiError::conflict("complete", "this attachment is already whole"));
    }
    if at != received {
        return Err(ApiError::conflict(
            "offset_mismatch",
            format!("this attachment is stored up to byte {received}; resume from there"),
        )
        .with("received", received));
    }
    let chunk = u64::from(upload.header.chunk_size());
    let room = (layout.len - at).min(PIECE_BYTES);
    let absorbed = Arc::new(AtomicU64::new(0));
    let staging = Staging {
        body: body.into_data_stream(),
        key: upload.staging_key(&Upload::tenant_key(&state, &reading.m).await?)?,
        id: id.clone(),
        part,
        index: at / chunk,
        plain: Zeroizing::new(Vec::with_capacity(chunk as usize)),
        absorbed: absorbed.clone(),
        room,
        ends_part: at + room == layout.len,
        chunk: chunk as usize,
        done: false,
    };
    let blob = BlobStore::new_name();
    let most = room + (room / chunk + 1) * SEALED_OVERHEAD as u64;
    let stored = tokio::time::timeout(PIECE_DEADLINE, state.blobs.put_stream(&blob, staging, most));
    match stored.await {
        Ok(Ok(_)) => {}
        Ok(Err(PutError::Io(e))) => return Err(ApiError::io(e)),
        Ok(Err(e)) => {
            return Err(ApiError::bad_request(format!(
                "the piece did not arrive whole ({e}); resume from byte {received}"
            ))
            .with("received", received));
        }
        Err(_) => {
            let _ = state.blobs.delete(&blob).await; // a local blob half written, if any
            return Err(ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "too_slow",
                format!(
                    "the piece took longer than {} s; resume from byte {received}",
                    PIECE_DEADLINE.as_secs()
                ),
            )
            .with("received", received));
        }
    }
    let len = absorbed.load(Ordering::Relaxed);
    let piece = Piece { part: i64::from(part), start: at as i64, len: len as i64, blob_name: blob };
    let recorded = if len == 0 && layout.len > 0 {
        Ok(false) // an empty body for a file that is not empty: nothing to keep
    } else {
        reply_uploads::add_piece(&state.db, &id, &piece).await
    };
    match recorded {
        Ok(true) => {}
        Ok(false) => {
            let _ = state.blobs.delete(&piece.blob_name).await;
            if len > 0 {
                return Err(ApiError::conflict(
                    "offset_mismatch",
                    "another piece landed there first",
                ));
            }
        }
        Err(e) => {
            let _ = state.blobs.delete(&piece.blob_name).await;
            return Err(e.into());
        }
    }
    let pieces = reply_uploads::pieces(&state.db, &id).await?;
    Ok(Json(status(&upload.row, &upload.header, &pieces)))
}

/// `POST /c/reply/{link}/uploads/{id}/send`: sends the reply once every attachment is in.
/// One send at a time holds the upload (another is told so); a send retried after its answer
/// was lost finds the reply sent, and its recipients are told once (the notices' keys are the
/// reply's and the recipient's).
pub(super) async fn send(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    Path((_, id)): Path<(String, String)>,
    replying: Result<Replying, CenterError>,
) -> Result<Json<Sent>, ApiError> {
    let reading = signed_in(replying, &jar, &headers)?;
    let upload = match Upload::mine(&state, &reading, &id).await {
        Ok(upload) => upload,
        // Sent and forgotten already: a retry whose first answer was lost.
        Err(e) if e.code() == "not_found" => {
            let sent = stored::get(&state.db, &id).await?.filter(|m| {
                m.is_final()
                    && m.sender_email == reading.email
                    && m.tenant_id == reading.m.tenant_id
            });
            return sent.map(|_| Json(SENT)).ok_or(e);
        }
        Err(e) => return Err(e),
    };
    let until = crate::db::now_ms() + SEND_HOLD_MS;
    if !reply_uploads::claim_send(&state.db, &id, until).await? {
        return Err(ApiError::conflict("sending", "this reply is being sent already"));
    }
    let outcome = seal_and_send(&state, &reading, &upload).await;
    if outcome.is_err() {
        let _ = reply_uploads::release_send(&state.db, &id).await;
    }
    outcome.map(|()| Json(SENT))
}

const SENT: Sent = Sent { location: "/c/mail/sent" };

/// The send itself: each staged piece opened (which proves it), hashed and sealed into the
/// envelope under the file key — once, here — as a new blob; the manifest with the hashes as
/// part 0; header ‖ manifest appended as the reply's first segment and the sealed pieces
/// adopted as the next; finalised, the recipients told, the staging removed.
async fn seal_and_send(
    state: &AppState,
    reading: &Reading,
    upload: &Upload,
) -> Result<(), ApiError> {
    let id = &upload.row.message_id;
    let message = stored::get(&state.db, id).await?.ok_or_else(|| ApiError::not_found("upload"))?;
    if !message.is_final() {
        let pieces = reply_uploads::pieces(&state.db, id).await?;
        let layout = upload.header.layout();
        if let Some(part) = (1..layout.parts().len() as u32)
            .find(|&p| !progress(&pieces, p, layout.parts()[p as usize].len).1)
        {
            return Err(ApiError::conflict(
                "upload_incomplete",
                format!("attachment {part} has not arrived whole yet"),
            ));
        }
        let tenant = Upload::tenant_key(state, &reading.m).await?;
        let file_key = upload.file_key(&tenant)?;
        let sealer = Arc::new(Sealer::resume(upload.header.clone(), file_key.clone())?);
        let staging = Arc::new(upload.staging_key(&tenant)?);
        let mut manifest = upload.manifest(&tenant)?;
        let mut sealed = Vec::with_capacity(pieces.len()); // (offset, len, blob) in order
        for (i, a) in manifest.attachments.iter_mut().enumerate() {
            let part = i as u32 + 1;
            let mut hash = ContentHash::new();
            for piece in pieces.iter().filter(|p| p.part == i64::from(part)) {
                let (h, blob) =
                    reseal_piece(state, id, &sealer, &staging, part, piece, hash).await?;
                hash = h;
                sealed.push(blob);
            }
            a.sha256 = hash.finish_hex();
        }
        let json = Zeroizing::new(manifest.to_json());
        if json.len() as u64 != layout.parts()[0].len {
            return Err(ApiError::internal("the manifest changed length when its hashes came in"));
        }
        let mut first = upload.header.as_bytes().to_vec();
        seal_all(sealer.part_sealer(0)?, &json, &mut first)?;
        if message.received == 0 {
            let body = SegmentBody {
                declared_len: Some(first.len() as u64),
                stream: futures_util::stream::iter([Ok::<Bytes, io::Error>(Bytes::from(first))]),
            };
            messages::append(state, &message, 0, body).await?;
        }
        let size = Some(layout.total_len() as i64);
        // What an earlier try of this send already adopted.
        let at = stored::get(&state.db, id).await?.map_or(0, |m| m.received);
        for (offset, len, blob) in sealed {
            if offset < at {
                // Adopted by an earlier try of this send; this try's copy is not needed.
                let _ = state.blobs.delete(&blob).await;
                continue;
            }
            let kept = Stored::Blob(blob.clone());
            if !stored::append_segment(&state.db, id, offset, len, &kept, size).await? {
                let _ = state.blobs.delete(&blob).await;
                return Err(ApiError::conflict("sending", "this reply is being sent already"));
            }
        }
        let uploaded =
            stored::get(&state.db, id).await?.ok_or_else(|| ApiError::not_found("upload"))?;
        messages::finalise(state, &uploaded, FileKeySource::Made(file_key)).await?;
    }
    let sent = stored::get(&state.db, id).await?.ok_or_else(|| ApiError::not_found("upload"))?;
    reply::sent(state, &reading.m, &reading.email, &sent, upload.row.draft_id)
        .await
        .map_err(center_to_api)?;
    for staged in reply_uploads::forget(&state.db, id).await? {
        let _ = state.blobs.delete(&staged).await; // a leftover is the stray sweep's
    }
    Ok(())
}

/// Opens staged `piece` of `part` (every chunk authenticated under the staging key, in its
/// place), adds its bytes to `hash`, and seals them into the envelope's part under the file
/// key, from the piece's first chunk, as a new blob. Answers the hash so far and the blob's
/// place in the envelope: (offset, length, name).
async fn reseal_piece(
    state: &AppState,
    id: &str,
    sealer: &Arc<Sealer>,
    staging: &Arc<SealingKey>,
    part: u32,
    piece: &Piece,
    hash: ContentHash,
) -> Result<(ContentHash, (i64, i64, String)), ApiError> {
    let header = sealer.header();
    let chunk = u64::from(header.chunk_size());
    let layout = *header.layout().part(part)?;
    let (start, len) = (piece.start as u64, piece.len as u64);
    let records = len.div_ceil(chunk).max(1);
    let first = start / chunk;
    // Where the piece's chunks sit in the envelope (the layout owns the arithmetic).
    let offset = header.layout().chunk_offset(&layout, first);
    let length = header.layout().chunk_range(&layout, first + records - 1).end - offset;
    let staged_len = len + records * SEALED_OVERHEAD as u64;
    let staged = state.blobs.read(&piece.blob_name, 0..staged_len).await.map_err(ApiError::io)?;
    if staged.len() as u64 != staged_len {
        return Err(ApiError::internal(format!("a staged piece of {id} is short")));
    }
    let (sealer, staging, id) = (sealer.clone(), staging.clone(), id.to_string());
    let ends_part = start + len == layout.len;
    // Opening, hashing and sealing 8 MiB is CPU work: off the async threads.
    let (hash, out) = tokio::task::spawn_blocking(move || {
        let mut hash = hash;
        let mut part_sealer = sealer.part_sealer_at(part, first)?;
        let mut out = Vec::with_capacity(length as usize);
        let (mut at, mut left) = (0usize, len as usize);
        for index in first..first + records {
            let n = left.min(chunk as usize);
            let record = &staged[at..at + n + SEALED_OVERHEAD];
            let plain = staging
                .open(&chunk_purpose(&id, part, index), record)
                .map_err(|_| ApiError::internal(format!("a staged piece of {id} does not open")))?;
            hash.update(&plain);
            seal_some(&mut part_sealer, &plain, &mut out)?;
            (at, left) = (at + n + SEALED_OVERHEAD, left - n);
        }
        if ends_part {
            finish_into(&mut part_sealer, &mut out)?;
        }
        Ok::<_, ApiError>((hash, out))
    })
    .await
    .map_err(ApiError::internal)??;
    if out.len() as u64 != length {
        return Err(ApiError::internal("a sealed piece is not the length its layout says"));
    }
    let blob = BlobStore::new_name();
    let body = futures_util::stream::iter([Ok::<Bytes, io::Error>(Bytes::from(out))]);
    match state.blobs.put_stream(&blob, body, length).await {
        Ok(_) => Ok((hash, (offset as i64, length as i64, blob))),
        Err(PutError::Io(e)) => Err(ApiError::io(e)),
        Err(e) => Err(ApiError::internal(e)),
    }
}

/// An upload of the signed-in reader's, replying to the message they have open.
struct Upload {
    row: UploadRow,
    header: Header,
}

impl Upload {
    async fn mine(state: &AppState, reading: &Reading, id: &str) -> Result<Upload, ApiError> {
        let row = reply_uploads::get(&state.db, id)
            .await?
            .filter(|r| r.writer == reading.email && r.original_id == reading.m.id)
            .ok_or_else(|| ApiError::not_found("upload"))?;
        let header = Header::parse(row.header.clone(), &Limits::default())?;
        Ok(Upload { row, header })
    }

    /// The data key of the tenant of the message answered, which keeps the upload's secrets.
    async fn tenant_key(state: &AppState, original: &MessageRow) -> Result<SealingKey, ApiError> {
        Ok(accounts::data_key(&state.db, &state.master, original.tenant_id).await?)
    }

    fn file_key(&self, tenant: &SealingKey) -> Result<FileKey, ApiError> {
        let bytes = tenant
            .open(&key_purpose(&self.row.message_id), &self.row.sealed_file_key)
            .map_err(ApiError::internal)?;
        let bytes: [u8; 32] = bytes.as_slice().try_into().map_err(ApiError::internal)?;
        Ok(FileKey::from_bytes(bytes))
    }

    fn staging_key(&self, tenant: &SealingKey) -> Result<SealingKey, ApiError> {
        tenant
            .open_key(&staging_purpose(&self.row.message_id), &self.row.sealed_staging_key)
            .map_err(ApiError::internal)
    }

    fn manifest(&self, tenant: &SealingKey) -> Result<Manifest, ApiError> {
        let json = tenant
            .open(&manifest_purpose(&self.row.message_id), &self.row.sealed_manifest)
            .map_err(ApiError::internal)?;
        Ok(Manifest::from_json(&json)?)
    }
}

/// How much of `part` (`len` bytes) the pieces hold, and whether that is all of it.
fn progress(pieces: &[Piece], part: u32, len: u64) -> (u64, bool) {
    let of_part = pieces.iter().filter(|p| p.part == i64::from(part));
    let (count, received) = of_part.fold((0, 0u64), |(n, r), p| (n + 1, r + p.len as u64));
    (received, count > 0 && received == len)
}

fn status(row: &UploadRow, header: &Header, pieces: &[Piece]) -> UploadStatus {
    let parts = header.layout().parts().iter().enumerate().skip(1).map(|(i, layout)| {
        let (received, complete) = progress(pieces, i as u32, layout.len);
        PartStatus { part: i as u32, size: layout.len, received, complete }
    });
    UploadStatus { id: row.message_id.clone(), piece_bytes: PIECE_BYTES, parts: parts.collect() }
}

/// Seals all of `plain` (a whole part) with `sealer`, appending the ciphertext to `out`.
fn seal_all(mut sealer: PartSealer, plain: &[u8], out: &mut Vec<u8>) -> Result<(), ApiError> {
    seal_some(&mut sealer, plain, out)?;
    Ok(finish_into(&mut sealer, out)?)
}

/// Seals the part's last chunk, appending it to `out` (the sealer has all of the part).
fn finish_into(sealer: &mut PartSealer, out: &mut Vec<u8>) -> sealpost_envelope::Result<()> {
    while !sealer.finish()? {
        out.extend_from_slice(sealer.pending());
        sealer.consume(sealer.pending().len());
    }
    Ok(())
}

/// A piece's body, staged as it streams: plaintext in, each chunk sealed under the upload's
/// staging key (bound to its place by the purpose) out. It refuses more than `room` bytes,
/// and a piece that ends inside a chunk anywhere but at the part's end (the pieces after it
/// could not continue it).
struct Staging<S> {
    body: S,
    key: SealingKey,
    /// The upload, the part, and the index of the next chunk to seal.
    id: String,
    part: u32,
    index: u64,
    /// Plaintext of the chunk being filled.
    plain: Zeroizing<Vec<u8>>,
    /// Plaintext taken so far, for the handler to record.
    absorbed: Arc<AtomicU64>,
    room: u64,
    /// Whether `room` runs to the end of the part (the piece then ends it).
    ends_part: bool,
    chunk: usize,
    done: bool,
}

impl<S> Staging<S> {
    /// Takes `input` (all of it) and answers the chunks it completed, sealed.
    fn take(&mut self, mut input: &[u8]) -> io::Result<Bytes> {
        let taken = self.absorbed.load(Ordering::Relaxed) + input.len() as u64;
        if taken > self.room {
            return Err(io::Error::other(format!("a piece carries at most {} bytes", self.room)));
        }
        self.absorbed.store(taken, Ordering::Relaxed);
        let mut out =
            Vec::with_capacity(input.len() + SEALED_OVERHEAD * (input.len() / self.chunk + 1));
        while !input.is_empty() {
            let n = (self.chunk - self.plain.len()).min(input.len());
            self.plain.extend_from_slice(&input[..n]);
            input = &input[n..];
            if self.plain.len() == self.chunk {
                self.seal_chunk(&mut out)?;
            }
        }
        Ok(Bytes::from(out))
    }

    /// Seals the chunk filled so far (the last of a part may be short, or empty for an empty
    /// file) onto `out`.
    fn seal_chunk(&mut self, out: &mut Vec<u8>) -> io::Result<()> {
        let purpose = chunk_purpose(&self.id, self.part, self.index);
        out.extend(self.key.seal(&purpose, &self.plain).map_err(io::Error::other)?);
        zeroize::Zeroize::zeroize(&mut *self.plain);
        self.plain.clear();
        self.index += 1;
        Ok(())
    }

    /// The body has ended: the part's last chunk, if the piece ends the part.
    fn end(&mut self) -> io::Result<Option<Bytes>> {
        let taken = self.absorbed.load(Ordering::Relaxed);
        if self.ends_part && taken == self.room {
            // The part's last chunk: what is left, or the one empty chunk of an empty file.
            if !self.plain.is_empty() || self.room == 0 {
                let mut out = Vec::with_capacity(self.plain.len() + SEALED_OVERHEAD);
                self.seal_chunk(&mut out)?;
                return Ok(Some(Bytes::from(out)));
            }
            return Ok(None);
        }
        if !self.plain.is_empty() {
            return Err(io::Error::other(format!(
                "a piece that does not end the file must be a multiple of {} bytes",
                self.chunk
            )));
        }
        Ok(None)
    }
}

/// Pushes all of `plain` through `sealer`, collecting the ciphertext (a partial chunk stays
/// inside the sealer).
fn seal_some(
    sealer: &mut PartSealer,
    plain: &[u8],
    out: &mut Vec<u8>,
) -> sealpost_envelope::Result<()> {
    let mut input = plain;
    loop {
        out.extend_from_slice(sealer.pending());
        sealer.consume(sealer.pending().len());
        if input.is_empty() {
            return Ok(());
        }
        input = &input[sealer.push(input)?..];
    }
}

impl<S, E> Stream for Staging<S>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    type Item = io::Result<Bytes>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        let item = match ready!(this.body.poll_next_unpin(cx)) {
            Some(Ok(plain)) => Some(this.take(&plain)),
            Some(Err(e)) => Some(Err(io::Error::other(e.to_string()))),
            None => {
                this.done = true;
                this.end().transpose()
            }
        };
        if matches!(item, Some(Err(_))) {
            this.done = true;
        }
        Poll::Ready(item)
    }
}

/// The file name as the manifest keeps it: no control characters, at most 255 characters.
fn file_name(name: &str) -> String {
    let name: String = name.chars().filter(|c| !c.is_control()).take(255).collect();
    if name.trim().is_empty() { "attachment".into() } else { name }
}

/// The browser's type for a file when it looks like one (`type/subtype`), else the generic.
fn content_type(given: &str) -> String {
    let plausible = given.len() <= 127
        && given.split_once('/').is_some_and(|(a, b)| !a.is_empty() && !b.is_empty())
        && given.bytes().all(|b| b.is_ascii_alphanumeric() || b"/+-.".contains(&b));
    if plausible { given.to_ascii_lowercase() } else { "application/octet-stream".into() }
}

/// The SHA-256 a manifest holds until the bytes are in: the same length as any.
fn zeros() -> String {
    "0".repeat(64)
}

fn center_to_api(e: CenterError) -> ApiError {
    ApiError::internal(format!("{e:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browser_types_are_kept_only_when_they_look_like_types() {
        assert_eq!(content_type("application/PDF"), "application/pdf");
        assert_eq!(content_type(""), "application/octet-stream");
        assert_eq!(content_type("text/html\r\nX: y"), "application/octet-stream");
        assert_eq!(file_name("a\u{0}b.txt"), "ab.txt");
        assert_eq!(file_name("  "), "attachment");
    }
}
