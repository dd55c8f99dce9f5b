//! Reading what the platform stores: envelope bytes across their upload segments, and a
//! finalised message opened with its file key (kept sealed under the tenant's data key since
//! finalise; no RSA operation is needed to read).
//!
//! Attachments are decrypted a window of chunks at a time, so reading a large one costs a few
//! MiB of memory whatever its size.
//!
//! A finalised envelope was checked whole at finalise, so any failure to parse, authenticate
//! or find its bytes later means it was damaged at rest (a disk fault, a changed file or row):
//! such failures become [`damaged`] — the API's `message_damaged`, one log line with the
//! message id, one count in `sealpost_damaged_messages_total` — never a generic error, and a
//! download checks its first window before it answers, so a damaged start is an error page
//! rather than a 200 that breaks off.

use std::io::Write;
use std::ops::Range;

use sealpost_envelope::{
    Decryptor, FILE_KEY_LEN, FileKey, Header, Limits, Manifest, PREFIX_LEN, TAG_LEN,
};

use zeroize::Zeroizing;

use crate::error::ApiError;
use crate::state::AppState;
use crate::store::accounts;
use crate::store::messages::{self, MessageRow, Segment, Stored};

/// Ciphertext read from the store per window when an attachment is streamed.
const WINDOW_BYTES: u64 = 4 << 20;

/// Error code of a message whose stored envelope is damaged.
pub const DAMAGED: &str = "message_damaged";

/// Finalised message `id` cannot be read because its stored envelope is damaged (`cause`
/// names what failed, never content): logged, counted, and answered as `message_damaged`.
pub fn damaged(id: &str, cause: impl std::fmt::Display) -> ApiError {
    tracing::error!(message = %id, error = %cause, "a stored envelope is damaged");
    metrics::counter!("sealpost_damaged_messages_total").increment(1);
    ApiError::new(
        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        DAMAGED,
        "this message is damaged in storage and cannot be shown; ask the sender to send it \
         again (the platform's operators have been alerted)",
    )
}

/// Reads envelope bytes `start..end` of message `id` from its stored `segments`.
pub async fn read_range(
    state: &AppState,
    id: &str,
    segments: &[Segment],
    start: i64,
    end: i64,
) -> Result<Vec<u8>, ApiError> {
    let mut out = Vec::with_capacity((end - start).max(0) as usize);
    for s in segments {
        let (a, b) = (start.max(s.start), end.min(s.start + s.len));
        if a < b {
            let within = (a - s.start) as usize..(b - s.start) as usize;
            match &s.stored {
                Stored::Inline(data) => out.extend_from_slice(&data[within]),
                Stored::Blob(name) => out.extend(
                    state.blobs.read(name, within.start as u64..within.end as u64).await.map_err(
                        |e| match e.kind() {
                            // The segment is gone or cut short: damage, not an outage.
                            std::io::ErrorKind::NotFound | std::io::ErrorKind::UnexpectedEof => {
                                damaged(id, format!("segment {name}: {e}"))
                            }
                            _ => ApiError::internal(e),
                        },
                    )?,
                ),
            }
        }
    }
    if (out.len() as i64) < end - start {
        return Err(damaged(id, "stored envelope is shorter than recorded"));
    }
    Ok(out)
}

/// Decrypts and checks the manifest (part 0) of message `id` with `dec`.
pub async fn read_manifest(
    state: &AppState,
    id: &str,
    segments: &[Segment],
    dec: &Decryptor,
) -> Result<Manifest, ApiError> {
    let part0 = dec.header().layout().parts()[0];
    let upto = (part0.offset + part0.ciphertext_len()) as i64;
    let bytes = read_range(state, id, segments, 0, upto).await?;
    Ok(open_manifest(dec, &bytes)?)
}

/// Part 0 of the envelope starting `bytes`, decrypted, parsed and held against the header.
fn open_manifest(dec: &Decryptor, bytes: &[u8]) -> Result<Manifest, sealpost_envelope::Error> {
    let manifest = Manifest::from_json(&dec.read_part_from_slice(0, bytes)?)?;
    manifest.check_against(dec.header())?;
    Ok(manifest)
}

/// Purpose string binding a sealed file key to its message.
pub fn file_key_purpose(message_id: &str) -> String {
    format!("file key:{message_id}")
}

/// A finalised message, opened for reading.
pub struct StoredMessage {
    id: String,
    segments: Vec<Segment>,
    dec: Decryptor,
}

impl StoredMessage {
    /// Opens finalised message `m`: its file key from the tenant's data key, its header
    /// authenticated with it. Says nothing about recall or expiry: callers decide who may read.
    pub async fn open(state: &AppState, m: &MessageRow) -> Result<StoredMessage, ApiError> {
        let (Some(sealed), Some(total)) = (&m.file_key_enc, m.envelope_size) else {
            return Err(ApiError::conflict("not_final", "the message was never finalised"));
        };
        let tenant_key = accounts::data_key(&state.db, &state.master, m.tenant_id).await?;
        let opened =
            tenant_key.open(&file_key_purpose(&m.id), sealed).map_err(ApiError::internal)?;
        let bytes: [u8; FILE_KEY_LEN] = opened
            .as_slice()
            .try_into()
            .map_err(|_| ApiError::internal("sealed file key has the wrong length"))?;
        let segments = messages::segments(&state.db, &m.id).await?;
        let limits = Limits { max_total_len: total as u64, ..Limits::default() };
        let prefix = read_range(state, &m.id, &segments, 0, PREFIX_LEN as i64).await?;
        let header_len =
            i64::from(Header::peek_len(&prefix, &limits).map_err(|e| damaged(&m.id, e))?);
        let header =
            Header::parse(read_range(state, &m.id, &segments, 0, header_len).await?, &limits)
                .map_err(|e| damaged(&m.id, e))?;
        let dec = Decryptor::with_file_key(header, FileKey::from_bytes(bytes))
            .map_err(|e| damaged(&m.id, e))?;
        Ok(StoredMessage { id: m.id.clone(), segments, dec })
    }

    /// The manifest (part 0): metadata, bodies and the attachments' descriptions.
    pub async fn manifest(&self, state: &AppState) -> Result<Manifest, ApiError> {
        let part0 = self.dec.header().layout().parts()[0];
        let upto = (part0.offset + part0.ciphertext_len()) as i64;
        let bytes = read_range(state, &self.id, &self.segments, 0, upto).await?;
        open_manifest(&self.dec, &bytes).map_err(|e| damaged(&self.id, e))
    }

    /// The length of part `part`'s plaintext.
    pub fn part_len(&self, part: u32) -> Result<u64, ApiError> {
        Ok(self.dec.header().layout().part(part)?.len)
    }

    /// The windows of chunks (first, last) that hold plaintext bytes `range` of part `part`,
    /// each at most [`WINDOW_BYTES`] of ciphertext.
    fn windows(&self, part: u32, range: &Range<u64>) -> Result<Vec<(u64, u64)>, ApiError> {
        let format = self.dec.header().layout();
        let layout = *format.part(part)?;
        let cs = u64::from(format.chunk_size());
        let per_window = (WINDOW_BYTES / (cs + TAG_LEN as u64)).max(1);
        let first = (range.start / cs).min(layout.chunks - 1);
        let last = if range.end == 0 { 0 } else { ((range.end - 1) / cs).min(layout.chunks - 1) };
        let mut out = Vec::new();
        let mut at = first;
        while at <= last {
            let end = (at + per_window - 1).min(last);
            out.push((at, end));
            at = end + 1;
        }
        Ok(out)
    }

    /// Decrypts chunks `first..=last` of part `part`, each authenticated, and keeps the bytes
    /// of `range` (plaintext offsets in the part) among them. Each chunk is opened straight
    /// into the buffer that becomes the response body: no copies beyond the decryption.
    async fn decrypt_window(
        &self,
        state: &AppState,
        part: u32,
        (first, last): (u64, u64),
        range: &Range<u64>,
    ) -> Result<Vec<u8>, ApiError> {
        let opener = self.dec.part_opener(part)?;
        let layout = *opener.layout();
        let format = self.dec.header().layout();
        let start = format.chunk_range(&layout, first).start;
        let end = format.chunk_range(&layout, last).end;
        let window = read_range(state, &self.id, &self.segments, start as i64, end as i64).await?;
        let chunks = (last - first + 1) as usize;
        let mut plain = vec![0u8; window.len() - chunks * TAG_LEN];
        let mut at = 0;
        for index in first..=last {
            let r = format.chunk_range(&layout, index);
            let chunk = &window[(r.start - start) as usize..(r.end - start) as usize];
            let n = chunk.len() - TAG_LEN;
            opener
                .open_chunk(index, chunk, &mut plain[at..at + n])
                .map_err(|e| damaged(&self.id, e))?;
            at += n;
        }
        let base = first * u64::from(format.chunk_size());
        let from = (range.start.max(base) - base) as usize;
        let to = (range.end.min(base + plain.len() as u64).saturating_sub(base) as usize).max(from);
        plain.truncate(to);
        plain.drain(..from);
        Ok(plain)
    }

    /// Decrypts part `part` into `out`, a window of chunks at a time. Every chunk is
    /// authenticated before its bytes are written; on an error `out` holds a prefix only.
    pub async fn copy_part(
        &self,
        state: &AppState,
        part: u32,
        out: &mut impl Write,
    ) -> Result<u64, ApiError> {
        let range = 0..self.part_len(part)?;
        let mut written = 0;
        for window in self.windows(part, &range)? {
            let plain = Zeroizing::new(self.decrypt_window(state, part, window, &range).await?);
            out.write_all(&plain).map_err(ApiError::internal)?;
            written += plain.len() as u64;
        }
        Ok(written)
    }
}

/// Plaintext bytes `range` of part `part` as a stream for a response body, decrypted by a
/// task that stays at most two windows ahead of the client (memory stays bounded whatever
/// the size). The first window is decrypted before this returns, so a message damaged there
/// is an error the caller can answer with; a failure later ends the stream with an error, so
/// the client sees a broken transfer, never wrong bytes.
pub async fn stream_range(
    stored: std::sync::Arc<StoredMessage>,
    state: AppState,
    part: u32,
    range: Range<u64>,
) -> Result<impl futures_util::Stream<Item = Result<bytes::Bytes, std::io::Error>>, ApiError> {
    let mut windows = stored.windows(part, &range)?.into_iter();
    let first = match windows.next() {
        Some(w) => Some(stored.decrypt_window(&state, part, w, &range).await?),
        None => None,
    };
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    tokio::spawn(async move {
        if let Some(first) = first
            && tx.send(Ok(bytes::Bytes::from(first))).await.is_err()
        {
            return;
        }
        for window in windows {
            let piece = match stored.decrypt_window(&state, part, window, &range).await {
                Ok(plain) => Ok(bytes::Bytes::from(plain)),
                Err(e) => Err(std::io::Error::other(e.to_string())),
            };
            let failed = piece.is_err();
            if tx.send(piece).await.is_err() || failed {
                return; // the client went away, or the stream is broken
            }
        }
    });
    Ok(futures_util::stream::unfold(
        rx,
        |mut rx| async move { rx.recv().await.map(|item| (item, rx)) },
    ))
}
