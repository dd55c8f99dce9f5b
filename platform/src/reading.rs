//! Reading what the platform stores: envelope bytes across their upload segments, and a
//! finalised message opened with its file key (kept sealed under the tenant's data key since
//! finalise; no RSA operation is needed to read).
//!
//! Attachments are decrypted a window of chunks at a time, so reading a large one costs a few
//! MiB of memory whatever its size.

use std::io::Write;

use sealpost_envelope::{
    Decryptor, FILE_KEY_LEN, FileKey, Header, Limits, Manifest, PREFIX_LEN, TAG_LEN,
};

use crate::error::ApiError;
use crate::state::AppState;
use crate::store::accounts;
use crate::store::messages::{self, MessageRow, Segment};

/// Ciphertext read from the store per window when an attachment is streamed.
const WINDOW_BYTES: u64 = 4 << 20;

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
            let bytes = state
                .blobs
                .read(&s.blob_name, (a - s.start) as u64..(b - s.start) as u64)
                .await
                .map_err(ApiError::internal)?;
            out.extend(bytes);
        }
    }
    if (out.len() as i64) < end - start {
        return Err(ApiError::internal(format!(
            "message {id}: stored envelope is shorter than recorded"
        )));
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
    let manifest = Manifest::from_json(&dec.read_part_from_slice(0, &bytes)?)?;
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
        let (Some(sealed), Some(total)) = (&m.file_key_enc, m.envelope_len) else {
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
        let header_len = i64::from(Header::peek_len(&prefix, &limits)?);
        let header =
            Header::parse(read_range(state, &m.id, &segments, 0, header_len).await?, &limits)?;
        let dec = Decryptor::with_file_key(header, FileKey::from_bytes(bytes))?;
        Ok(StoredMessage { id: m.id.clone(), segments, dec })
    }

    /// The manifest (part 0): metadata, bodies and the attachments' descriptions.
    pub async fn manifest(&self, state: &AppState) -> Result<Manifest, ApiError> {
        read_manifest(state, &self.id, &self.segments, &self.dec).await
    }

    /// Decrypts part `part` into `out`, a window of chunks at a time. Every chunk is
    /// authenticated before its bytes are written; on an error `out` holds a prefix only.
    pub async fn copy_part(
        &self,
        state: &AppState,
        part: u32,
        out: &mut impl Write,
    ) -> Result<u64, ApiError> {
        let opener = self.dec.part_opener(part)?;
        let layout = *opener.layout();
        let format = self.dec.header().layout();
        let chunk_cipher = u64::from(format.chunk_size()) + TAG_LEN as u64;
        let per_window = (WINDOW_BYTES / chunk_cipher).max(1);
        let mut plain = vec![0u8; format.chunk_size() as usize];
        let mut written = 0u64;
        let mut first = 0u64;
        while first < layout.chunks {
            let last = (first + per_window).min(layout.chunks) - 1;
            let start = format.chunk_range(&layout, first).start;
            let end = format.chunk_range(&layout, last).end;
            let window =
                read_range(state, &self.id, &self.segments, start as i64, end as i64).await?;
            for index in first..=last {
                let r = format.chunk_range(&layout, index);
                let chunk = &window[(r.start - start) as usize..(r.end - start) as usize];
                let n = chunk.len() - TAG_LEN;
                opener.open_chunk(index, chunk, &mut plain[..n])?;
                out.write_all(&plain[..n]).map_err(ApiError::internal)?;
                written += n as u64;
            }
            first = last + 1;
        }
        plain.iter_mut().for_each(|b| *b = 0);
        Ok(written)
    }
}
