//! Large attachments for a Message Center reply: uploaded from the browser in pieces,
//! resumably — gigabytes, up to the organisation's envelope limit — where the reply page's
//! script runs (`static/reply.js`). Without script the reply form carries small files in one
//! post (`reply`), and a reply without attachments always goes that way.
//!
//! 1. `POST /c/reply/{link}/uploads` (JSON: what was typed, and each file's name, type and
//!    size). The reply is held against the organisation's limits, its manifest written (the
//!    attachments' SHA-256 still zeros: a hash is 64 hex digits whatever it is, so the
//!    manifest's length is known now) and its envelope header made; the reply is created as
//!    a message still uploading, and its header, file key and manifest are kept
//!    (`store::reply_uploads`; key and manifest under the tenant's data key).
//! 2. `PUT /c/reply/{link}/uploads/{id}/{part}?at=N`: the next piece of attachment `part`,
//!    plaintext from byte `N`, a whole number of envelope chunks (or up to the part's end),
//!    at most [`PIECE_BYTES`]. It is sealed as it streams in — the kept header and key taken
//!    up again (`Sealer::resume`) from the piece's first chunk — and only ciphertext is
//!    stored, as a blob. A piece cut off is not recorded. `GET …/uploads/{id}` says how far
//!    each part is, to resume from — on whichever node answers, since all of it is in the
//!    database and the blob store.
//! 3. `POST …/uploads/{id}/send`: every part is read back and decrypted to take its SHA-256
//!    (which also proves each stored byte), the manifest gets the hashes and is sealed as
//!    part 0, and header ‖ manifest become the reply's first envelope segment; the pieces'
//!    blobs become its next segments as they are (nothing is copied). Then the reply is
//!    finalised and its recipients notified like any other (`messages`, `reply::sent`).
//!
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
    Body, ContentHash, Decryptor, FileKey, Header, Limits, Manifest, MessageId, PartSealer,
    SealCore, Sealer, StanzaRole, TAG_LEN,
};

use super::error::CenterError;
use super::extract::{Reading, Replying, csrf_matches};
use super::language::Lang;
use super::reply::{self, MAX_ATTACHMENTS};
use crate::blob::{BlobStore, PutError};
use crate::error::{ApiError, ApiJson};
use crate::messages::slip::MAX_SUBJECT_CHARS;
use crate::messages::{self, FileKeySource, SegmentBody};
use crate::state::AppState;
use crate::store::accounts;
use crate::store::messages::{self as stored, MessageRow, Stored};
use crate::store::reply_uploads::{self, Piece, UploadRow};

/// Most plaintext bytes one piece carries: 128 chunks of the envelope's 64 KiB. Small enough
/// that a piece cut off costs seconds to send again, large enough that a gigabyte is 128
/// requests.
pub(super) const PIECE_BYTES: u64 = 8 << 20;
const _: () = assert!(PIECE_BYTES.is_multiple_of(sealpost_envelope::DEFAULT_CHUNK_SIZE as u64));

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
    let row = UploadRow {
        message_id: reply_id.clone(),
        writer: email,
        original_id: m.id,
        header: sealer.header().as_bytes().to_vec(),
        sealed_file_key: key
            .seal(&key_purpose(&reply_id), sealer.file_key().expose_secret())
            .map_err(ApiError::internal)?,
        sealed_manifest: key
            .seal(&manifest_purpose(&reply_id), &json)
            .map_err(ApiError::internal)?,
        draft_id: b.draft,
        created_at: 0,
    };
    reply_uploads::begin(&state.db, &row).await?;
    Ok(Json(status(&row, sealer.header(), &[])?))
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
    Ok(Json(status(&upload.row, &upload.header, &pieces)?))
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
    let sealer = upload.sealer(&state, &reading.m).await?.part_sealer_at(part, at / chunk)?;
    let absorbed = Arc::new(AtomicU64::new(0));
    let sealing = Sealing {
        body: body.into_data_stream(),
        sealer,
        absorbed: absorbed.clone(),
        room,
        ends_part: at + room == layout.len,
        chunk,
        done: false,
    };
    let blob = BlobStore::new_name();
    let most = room + (room / chunk + 1) * TAG_LEN as u64;
    match state.blobs.put_stream(&blob, sealing, most).await {
        Ok(_) => {}
        Err(PutError::Io(e)) => return Err(ApiError::io(e)),
        Err(e) => {
            return Err(ApiError::bad_request(format!(
                "the piece did not arrive whole ({e}); resume from byte {received}"
            ))
            .with("received", received));
        }
    }
    let len = absorbed.load(Ordering::Relaxed);
    let piece = Piece { part: i64::from(part), start: at as i64, len: len as i64, blob_name: blob };
    let empty_file = layout.len == 0;
    if (len == 0 && !empty_file) || !reply_uploads::add_piece(&state.db, &id, &piece).await? {
        let _ = state.blobs.delete(&piece.blob_name).await;
        if len > 0 {
            return Err(ApiError::conflict("offset_mismatch", "another piece landed there first"));
        }
    }
    let pieces = reply_uploads::pieces(&state.db, &id).await?;
    Ok(Json(status(&upload.row, &upload.header, &pieces)?))
}

/// `POST /c/reply/{link}/uploads/{id}/send`: sends the reply once every attachment is in.
pub(super) async fn send(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    Path((_, id)): Path<(String, String)>,
    replying: Result<Replying, CenterError>,
) -> Result<Json<Sent>, ApiError> {
    const SENT: Sent = Sent { location: "/c/mail/sent" };
    let reading = signed_in(replying, &jar, &headers)?;
    let message =
        stored::get(&state.db, &id).await?.ok_or_else(|| ApiError::not_found("upload"))?;
    if message.is_final() && message.sender_email == reading.email {
        // Sent already (this is a retry of a send whose answer was lost).
        let _ = reply_uploads::forget(&state.db, &id).await;
        return Ok(Json(SENT));
    }
    let upload = Upload::mine(&state, &reading, &id).await?;
    let pieces = reply_uploads::pieces(&state.db, &id).await?;
    let parts = upload.header.layout().parts().len() as u32;
    if let Some(part) = (1..parts)
        .find(|&p| !progress(&pieces, p, upload.header.layout().parts()[p as usize].len).1)
    {
        return Err(ApiError::conflict(
            "upload_incomplete",
            format!("attachment {part} has not arrived whole yet"),
        ));
    }

    let file_key = upload.file_key(&state, &reading.m).await?;
    let dec = Decryptor::with_file_key(upload.header.clone(), file_key.clone())?;
    let mut manifest = upload.manifest(&state, &reading.m).await?;
    for (i, a) in manifest.attachments.iter_mut().enumerate() {
        let part = i as u32 + 1;
        let of_part: Vec<&Piece> = pieces.iter().filter(|p| p.part == i64::from(part)).collect();
        a.sha256 = hash_part(&state, &dec, part, &of_part).await?;
    }
    let json = Zeroizing::new(manifest.to_json());
    if json.len() as u64 != upload.header.layout().parts()[0].len {
        return Err(ApiError::internal("the manifest changed length when its hashes came in"));
    }
    let sealer = Sealer::resume(upload.header.clone(), file_key.clone())?;
    let mut first = upload.header.as_bytes().to_vec();
    seal_all(sealer.part_sealer(0)?, &json, &mut first)?;

    // Header ‖ manifest first, then each piece's blob as the next segment, in envelope order.
    if message.received == 0 {
        let body = SegmentBody {
            declared_len: Some(first.len() as u64),
            stream: futures_util::stream::iter([Ok::<Bytes, io::Error>(Bytes::from(first))]),
        };
        messages::append(&state, &message, 0, body).await?;
    }
    let envelope_size = upload.header.layout().total_len() as i64;
    for piece in &pieces {
        let layout = upload.header.layout().parts()[piece.part as usize];
        let chunk = u64::from(upload.header.chunk_size());
        let offset = layout.offset + piece.start as u64 / chunk * (chunk + TAG_LEN as u64);
        let len = sealed_len(piece.len as u64, chunk);
        let at = stored::get(&state.db, &id).await?.map_or(0, |m| m.received);
        if (offset as i64) < at {
            continue; // adopted by an earlier try of this send
        }
        let kept = Stored::Blob(piece.blob_name.clone());
        let size = Some(envelope_size);
        if !stored::append_segment(&state.db, &id, offset as i64, len as i64, &kept, size).await? {
            return Err(ApiError::conflict("offset_mismatch", "the reply is being sent already"));
        }
    }
    let uploaded =
        stored::get(&state.db, &id).await?.ok_or_else(|| ApiError::not_found("upload"))?;
    let sent = messages::finalise(&state, &uploaded, FileKeySource::Made(file_key)).await?;
    reply::sent(&state, &reading.m, &reading.email, &sent, upload.row.draft_id)
        .await
        .map_err(center_to_api)?;
    // The pieces' blobs are the reply's segments now: only the records go.
    reply_uploads::forget(&state.db, &id).await?;
    Ok(Json(SENT))
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

    async fn file_key(&self, state: &AppState, original: &MessageRow) -> Result<FileKey, ApiError> {
        let key = accounts::data_key(&state.db, &state.master, original.tenant_id).await?;
        let bytes = key
            .open(&key_purpose(&self.row.message_id), &self.row.sealed_file_key)
            .map_err(ApiError::internal)?;
        let bytes: [u8; 32] = bytes.as_slice().try_into().map_err(ApiError::internal)?;
        Ok(FileKey::from_bytes(bytes))
    }

    async fn sealer(&self, state: &AppState, original: &MessageRow) -> Result<Sealer, ApiError> {
        Ok(Sealer::resume(self.header.clone(), self.file_key(state, original).await?)?)
    }

    async fn manifest(
        &self,
        state: &AppState,
        original: &MessageRow,
    ) -> Result<Manifest, ApiError> {
        let key = accounts::data_key(&state.db, &state.master, original.tenant_id).await?;
        let json = key
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

fn status(row: &UploadRow, header: &Header, pieces: &[Piece]) -> Result<UploadStatus, ApiError> {
    let parts = header.layout().parts().iter().enumerate().skip(1).map(|(i, layout)| {
        let (received, complete) = progress(pieces, i as u32, layout.len);
        PartStatus { part: i as u32, size: layout.len, received, complete }
    });
    Ok(UploadStatus {
        id: row.message_id.clone(),
        piece_bytes: PIECE_BYTES,
        parts: parts.collect(),
    })
}

/// The ciphertext length of `len` plaintext bytes sealed from a chunk boundary on (a piece
/// that is not a part's last is whole chunks; an empty part is one empty chunk).
fn sealed_len(len: u64, chunk: u64) -> u64 {
    len + len.div_ceil(chunk).max(1) * TAG_LEN as u64
}

/// Reads `part`'s pieces back in order, decrypting them, and answers its SHA-256.
async fn hash_part(
    state: &AppState,
    dec: &Decryptor,
    part: u32,
    pieces: &[&Piece],
) -> Result<String, ApiError> {
    let mut hash = ContentHash::new();
    let chunk = u64::from(dec.header().chunk_size());
    for piece in pieces {
        let sealed_len = sealed_len(piece.len as u64, chunk);
        let sealed =
            state.blobs.read(&piece.blob_name, 0..sealed_len).await.map_err(ApiError::io)?;
        let opener = dec.part_opener(part)?;
        let first = piece.start as u64 / chunk;
        // Decrypting and hashing 8 MiB is CPU work: off the async threads.
        hash = tokio::task::spawn_blocking(move || {
            let mut plain = Zeroizing::new(vec![0u8; chunk as usize]);
            let mut at = 0usize;
            let mut index = first;
            while at < sealed.len() {
                let n = opener.chunk_ciphertext_len(index);
                let out = &mut plain[..n - TAG_LEN];
                opener.open_chunk(index, sealed.get(at..at + n).unwrap_or_default(), out)?;
                hash.update(out);
                at += n;
                index += 1;
            }
            Ok::<_, sealpost_envelope::Error>(hash)
        })
        .await
        .map_err(ApiError::internal)??;
    }
    Ok(hash.finish_hex())
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

/// A piece's body, sealed as it streams: plaintext in, the part's ciphertext out. It refuses
/// more than `room` bytes, and a piece that ends inside a chunk anywhere but at the part's end
/// (the pieces after it could not continue it).
struct Sealing<S> {
    body: S,
    sealer: PartSealer,
    /// Plaintext taken so far, for the handler to record.
    absorbed: Arc<AtomicU64>,
    room: u64,
    /// Whether `room` runs to the end of the part (the piece then ends it).
    ends_part: bool,
    chunk: u64,
    done: bool,
}

impl<S> Sealing<S> {
    /// Seals `plain` (all of it) and answers the ciphertext ready so far.
    fn seal(&mut self, plain: &[u8]) -> io::Result<Bytes> {
        let taken = self.absorbed.load(Ordering::Relaxed) + plain.len() as u64;
        if taken > self.room {
            return Err(io::Error::other(format!("a piece carries at most {} bytes", self.room)));
        }
        self.absorbed.store(taken, Ordering::Relaxed);
        let mut out = Vec::with_capacity(plain.len() + TAG_LEN * (plain.len() / 4096 + 1));
        seal_some(&mut self.sealer, plain, &mut out).map_err(io::Error::other)?;
        Ok(Bytes::from(out))
    }

    /// The body has ended: the part's last chunk, if the piece ends the part.
    fn end(&mut self) -> io::Result<Option<Bytes>> {
        let taken = self.absorbed.load(Ordering::Relaxed);
        if self.ends_part && taken == self.room {
            let mut out = Vec::new();
            finish_into(&mut self.sealer, &mut out).map_err(io::Error::other)?;
            return Ok(Some(Bytes::from(out)));
        }
        if !taken.is_multiple_of(self.chunk) {
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

impl<S, E> Stream for Sealing<S>
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
            Some(Ok(plain)) => Some(this.seal(&plain)),
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
    fn sealed_lengths_count_a_tag_per_chunk_and_one_for_an_empty_part() {
        assert_eq!(sealed_len(0, 65536), 16);
        assert_eq!(sealed_len(65536, 65536), 65536 + 16);
        assert_eq!(sealed_len(65537, 65536), 65537 + 32);
        assert_eq!(sealed_len(PIECE_BYTES, 65536), PIECE_BYTES + 128 * 16);
    }

    #[test]
    fn browser_types_are_kept_only_when_they_look_like_types() {
        assert_eq!(content_type("application/PDF"), "application/pdf");
        assert_eq!(content_type(""), "application/octet-stream");
        assert_eq!(content_type("text/html\r\nX: y"), "application/octet-stream");
        assert_eq!(file_name("a\u{0}b.txt"), "ab.txt");
        assert_eq!(file_name("  "), "attachment");
    }
}
