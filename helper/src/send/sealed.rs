//! The sealed envelope: header and manifest in memory, the attachments' ciphertext in the
//! spool, and a reader over both. It is what the platform client uploads from (it implements
//! [`UploadSource`]).

use std::io::Read;
use std::sync::Arc;

use sealpost_envelope::MessageId;

use super::details::MessageDetails;
use super::spool::Spool;
use crate::client::UploadSource;

/// A sealed envelope waiting for upload: header and manifest in memory, the attachments'
/// ciphertext in the spool. Cheap to clone; every clone reads the same bytes.
#[derive(Clone)]
pub struct SealedEnvelope {
    /// The message id.
    pub id: MessageId,
    /// The details it was sealed from (for the delivery slip).
    pub details: MessageDetails,
    /// The header and the sealed manifest.
    pub(super) prefix: Arc<Vec<u8>>,
    /// The sealed attachments, when there are any.
    pub(super) spool: Option<Arc<Spool>>,
    /// The envelope's exact size in bytes.
    pub(super) envelope_size: u64,
}

impl std::fmt::Debug for SealedEnvelope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedEnvelope")
            .field("id", &self.id)
            .field("envelope_size", &self.envelope_size)
            .finish()
    }
}

impl SealedEnvelope {
    /// The envelope's exact size in bytes.
    pub fn envelope_size(&self) -> u64 {
        self.envelope_size
    }

    /// A reader over the envelope from `offset` on. Readers use positional reads, so any
    /// number may exist at once.
    pub fn reader_from(&self, offset: u64) -> EnvelopeReader {
        EnvelopeReader { prefix: self.prefix.clone(), spool: self.spool.clone(), pos: offset }
    }

    /// The platform has acknowledged everything before `offset`: a memory spool lets it go.
    pub fn acknowledged(&self, offset: u64) {
        if let Some(s) = &self.spool {
            s.release(offset.saturating_sub(self.prefix.len() as u64));
        }
    }

    /// The upload stopped for good: sealing (if still running) stops too.
    pub fn abandon(&self, why: &str) {
        if let Some(s) = &self.spool {
            s.fail(why);
        }
    }

    /// The largest upload request that can be served: half a memory spool's window (a request
    /// is kept until acknowledged, while sealing runs ahead into the other half).
    pub fn max_segment(&self) -> Option<u64> {
        let window = self.spool.as_ref()?.memory_window()?;
        Some((window / 2) as u64)
    }

    /// The whole envelope in memory (tests and small messages).
    pub fn to_vec(&self) -> std::io::Result<Vec<u8>> {
        let mut v = Vec::with_capacity(self.envelope_size as usize);
        self.reader_from(0).read_to_end(&mut v)?;
        Ok(v)
    }
}

impl UploadSource for SealedEnvelope {
    type Reader = EnvelopeReader;

    fn envelope_size(&self) -> u64 {
        self.envelope_size
    }

    fn reader_from(&self, offset: u64) -> EnvelopeReader {
        SealedEnvelope::reader_from(self, offset)
    }

    fn max_segment(&self) -> Option<u64> {
        SealedEnvelope::max_segment(self)
    }

    fn acknowledged(&self, offset: u64) {
        SealedEnvelope::acknowledged(self, offset)
    }
}

/// Reads an envelope: the in-memory prefix, then the spool.
pub struct EnvelopeReader {
    prefix: Arc<Vec<u8>>,
    spool: Option<Arc<Spool>>,
    pos: u64,
}

impl Read for EnvelopeReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let prefix_len = self.prefix.len() as u64;
        let n = if self.pos < prefix_len {
            let from = &self.prefix[self.pos as usize..];
            let n = from.len().min(buf.len());
            buf[..n].copy_from_slice(&from[..n]);
            n
        } else {
            match &self.spool {
                Some(s) => s.read_at(buf, self.pos - prefix_len)?,
                None => 0,
            }
        };
        self.pos += n as u64;
        Ok(n)
    }
}
