//! Storing a message's envelope as it arrives, one segment per upload request (or the whole
//! envelope at once, for one the platform sealed itself): resumable at the byte the store
//! holds, bounded by the slip's declared size, and checked by the keyless validator until the
//! header is complete.

use bytes::Bytes;
use futures_util::Stream;
use sealpost_envelope::{Limits, Validator};
use serde::Serialize;

use super::DeliverySlip;
use crate::blob::{BlobStore, PutError};
use crate::error::ApiError;
use crate::reading::read_range;
use crate::state::AppState;
use crate::store::messages::{self as stored, MessageRow, Segment, Stored};

/// Where a message's upload stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UploadState {
    /// The envelope is still arriving; more may be appended.
    Uploading,
    /// Finalised: the envelope is whole and checked, the message has its link.
    Final,
}

/// Where an upload stands.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UploadStatus {
    /// Message id.
    pub id: String,
    /// Uploading, or final.
    pub state: UploadState,
    /// Envelope bytes durably stored: resume from here.
    pub received: i64,
    /// The envelope's size in bytes, once its header has arrived.
    pub envelope_size: Option<i64>,
}

impl UploadStatus {
    /// The upload state of `m`.
    pub fn of(m: &MessageRow) -> UploadStatus {
        UploadStatus {
            id: m.id.clone(),
            state: if m.is_final() { UploadState::Final } else { UploadState::Uploading },
            received: m.received,
            envelope_size: m.envelope_size,
        }
    }
}

/// The bytes of one segment as they arrive.
pub struct SegmentBody<S> {
    /// How many bytes the sender says are coming (`Content-Length`), if it said: a body
    /// small enough by it is kept in the database with its row instead of as a blob.
    pub declared_len: Option<u64>,
    /// The bytes.
    pub stream: S,
}

/// Appends `body` to `m`'s envelope at `offset`, which must be where the stored envelope
/// ends. Answers with where the upload stands after it.
pub async fn append<S, E>(
    state: &AppState,
    m: &MessageRow,
    offset: i64,
    body: SegmentBody<S>,
) -> Result<UploadStatus, ApiError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin + Send,
    E: std::fmt::Display,
{
    if m.is_final() {
        return Err(ApiError::conflict("already_final", "the message is already finalised"));
    }
    if offset != m.received {
        return Err(ApiError::conflict(
            "offset_mismatch",
            format!("the upload is at byte {}, not {offset}; resume from there", m.received),
        )
        .with("received", m.received));
    }
    let slip: DeliverySlip = serde_json::from_str(&m.slip).map_err(ApiError::internal)?;
    let declared = slip.envelope_size as i64;
    let room = (declared - offset).max(0) as u64;
    let limit = room.min(state.settings.max_segment_bytes);

    let (len, kept) = match receive(state, body, limit).await {
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
    let new = Segment { seq: 0, start: offset, len, stored: kept };
    if len == 0 {
        discard(state, &new.stored).await;
        return Ok(UploadStatus::of(m));
    }

    // Until the header is complete, validate everything received so far; afterwards the
    // declared size bounds every append.
    let mut envelope_size = m.envelope_size;
    if envelope_size.is_none() {
        match check_header_so_far(state, m, &new, declared).await {
            Ok(total) => envelope_size = total,
            Err(e) => {
                discard(state, &new.stored).await;
                return Err(e);
            }
        }
    }
    if !stored::append_segment(&state.db, &m.id, offset, len, &new.stored, envelope_size).await? {
        discard(state, &new.stored).await;
        let now = stored::get(&state.db, &m.id).await?.map_or(0, |m| m.received);
        return Err(ApiError::conflict(
            "offset_mismatch",
            "another upload to this message landed first",
        )
        .with("received", now));
    }
    metrics::counter!("sealpost_upload_bytes_total").increment(len as u64);
    Ok(UploadStatus {
        id: m.id.clone(),
        state: UploadState::Uploading,
        received: offset + len,
        envelope_size,
    })
}

/// Receives one segment, at most `limit` bytes: a small one (by its declared length) into
/// memory, to be kept with the segment's row; any other streamed durably into a new blob.
async fn receive<S, E>(
    state: &AppState,
    body: SegmentBody<S>,
    limit: u64,
) -> Result<(i64, Stored), PutError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin + Send,
    E: std::fmt::Display,
{
    use futures_util::StreamExt;
    let small = state.settings.inline_segment_bytes.min(limit);
    if let Some(n) = body.declared_len.filter(|&n| n <= small) {
        // hyper ends a request body at its Content-Length; the limit is a second guard.
        let mut bytes = bytes::BytesMut::with_capacity(n as usize);
        let mut stream = body.stream;
        while let Some(piece) = stream.next().await {
            let piece = piece.map_err(|e| PutError::Body(e.to_string()))?;
            if (bytes.len() + piece.len()) as u64 > n {
                return Err(PutError::TooLarge { limit: n });
            }
            bytes.extend_from_slice(&piece);
        }
        return Ok((bytes.len() as i64, Stored::Inline(bytes.freeze())));
    }
    let name = BlobStore::new_name();
    let len = state.blobs.put_stream(&name, body.stream, limit).await?;
    Ok((len as i64, Stored::Blob(name)))
}

/// Removes a received segment that will not be recorded (a blob; an inline one is just
/// memory).
async fn discard(state: &AppState, kept: &Stored) {
    if let Stored::Blob(name) = kept {
        let _ = state.blobs.delete(name).await;
    }
}

/// Feeds the envelope's first bytes (stored segments plus the `new` one, not yet recorded) to
/// the keyless validator. Returns the envelope's size once the header is complete.
async fn check_header_so_far(
    state: &AppState,
    m: &MessageRow,
    new: &Segment,
    declared: i64,
) -> Result<Option<i64>, ApiError> {
    let limits = Limits::default();
    let want = (new.start + new.len).min(i64::from(limits.max_header_len));
    // The first append (offset 0) has no earlier segments to read.
    let mut segments =
        if new.start > 0 { stored::segments(&state.db, &m.id).await? } else { Vec::new() };
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
