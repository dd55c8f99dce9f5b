//! The send pipeline's sealing half: an outgoing message in, a sealed envelope out.
//!
//! The envelope's header declares every part's length and sits first, and the manifest
//! (part 0) lists each attachment's SHA-256, which is only known once the attachment has
//! streamed through. So the [`Composer`]:
//! 1. at [`Composer::begin`] builds the manifest with the declared sizes and placeholder
//!    hashes (a SHA-256 is always 64 hex digits, so the manifest's length is already final),
//!    and the header for all recipients' keys;
//! 2. seals each attachment as its bytes arrive, hashing them on the way, into a **spool**:
//!    an unnamed temporary file (removed by the OS even if the helper dies) that only ever
//!    holds ciphertext;
//! 3. at [`Composer::finish`] fills in the hashes and seals the manifest in memory.
//!
//! The result, a [`SealedEnvelope`], is `header ‖ manifest` in memory followed by the spool,
//! ready for a resumable upload. Plaintext never touches the disk, and memory stays flat
//! whatever the attachments' sizes.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use sealpost_envelope::{
    Body, ContentHash, Manifest, MessageId, Metadata, PartSealer, PublicKey, Role, SealWriter,
    Sealer,
};
use serde::{Deserialize, Serialize};

use crate::error::{HelperError, Result};

/// What the mail client says about a message: its details and bodies.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MessageDetails {
    /// The sender (`From`), a bare address.
    pub from: String,
    /// `To` recipients.
    #[serde(default)]
    pub to: Vec<String>,
    /// `Cc` recipients.
    #[serde(default)]
    pub cc: Vec<String>,
    /// `Bcc` recipients (on the delivery slip only, never in the envelope).
    #[serde(default)]
    pub bcc: Vec<String>,
    /// Subject line.
    #[serde(default)]
    pub subject: String,
    /// `text/plain` body.
    #[serde(default)]
    pub text: Option<String>,
    /// `text/html` body.
    #[serde(default)]
    pub html: Option<String>,
    /// The RFC 5322 `Message-ID`, when the mail client has one.
    #[serde(default)]
    pub message_id: Option<String>,
    /// When it was written (RFC 3339); now, when not given.
    #[serde(default)]
    pub date: Option<String>,
    /// Further headers to keep (name, value).
    #[serde(default)]
    pub headers: Vec<(String, String)>,
}

impl MessageDetails {
    /// Every recipient: To, Cc and Bcc.
    pub fn all_recipients(&self) -> impl Iterator<Item = &String> {
        self.to.iter().chain(&self.cc).chain(&self.bcc)
    }
}

/// An attachment as announced before its bytes arrive.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AttachmentInfo {
    /// File name.
    pub name: String,
    /// MIME type.
    #[serde(default = "octet_stream")]
    pub content_type: String,
    /// Exact size in bytes.
    pub size: u64,
    /// `Content-ID` of an inline image.
    #[serde(default)]
    pub content_id: Option<String>,
}

fn octet_stream() -> String {
    "application/octet-stream".into()
}

/// A hash that is replaced once the real one is known; the same length as any SHA-256 hex.
const PLACEHOLDER_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Everything the envelope is sealed for.
#[derive(Clone, Debug, Default)]
pub struct Wraps {
    /// (role, key) pairs; the platform's key must be among them.
    pub keys: Vec<(Role, PublicKey)>,
}

/// The attachment being sealed right now.
struct Current {
    index: usize,
    writer: SealWriter<PartSealer, File>,
    hash: ContentHash,
    received: u64,
}

/// Seals one outgoing message as its attachments stream in (see the module docs).
pub struct Composer {
    id: MessageId,
    details: MessageDetails,
    manifest: Manifest,
    manifest_len: usize,
    sealer: Sealer,
    spool: Option<File>,
    current: Option<Current>,
    /// Index of the next attachment to start.
    next: usize,
    hashes: Vec<String>,
}

impl std::fmt::Debug for Composer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Composer").field("id", &self.id).field("next", &self.next).finish()
    }
}

impl Composer {
    /// Starts sealing a message with these attachments (sizes exact) for these keys.
    pub fn begin(
        id: MessageId,
        details: MessageDetails,
        attachments: &[AttachmentInfo],
        wraps: &Wraps,
        spool_dir: &Path,
    ) -> Result<Composer> {
        if !wraps.keys.iter().any(|(r, _)| *r == Role::Platform) {
            return Err(HelperError::Config("no platform key to seal for".into()));
        }
        let mut manifest = Manifest::new(
            Metadata {
                from: details.from.clone(),
                to: details.to.clone(),
                cc: details.cc.clone(),
                subject: details.subject.clone(),
                date: details.date.clone().unwrap_or_else(now_rfc3339),
                message_id: details.message_id.clone(),
                headers: details.headers.clone(),
            },
            Body { text: details.text.clone(), html: details.html.clone() },
        );
        for a in attachments {
            manifest.attach_hashed(&a.name, &a.content_type, a.size, PLACEHOLDER_HASH.into());
            if let Some(last) = manifest.attachments.last_mut() {
                last.content_id = a.content_id.clone();
            }
        }
        let json = manifest.to_json();
        let mut builder = Sealer::builder(id).parts_for(&manifest, &json);
        for (role, key) in &wraps.keys {
            builder = builder.recipient(*role, key);
        }
        let sealer = builder.build()?;
        let spool = if attachments.is_empty() {
            None
        } else {
            crate::config::create_private_dir(spool_dir)?;
            Some(tempfile::tempfile_in(spool_dir)?)
        };
        Ok(Composer {
            id,
            details,
            manifest_len: json.len(),
            manifest,
            sealer,
            spool,
            current: None,
            next: 0,
            hashes: Vec::with_capacity(attachments.len()),
        })
    }

    /// The message id the envelope is sealed under.
    pub fn id(&self) -> MessageId {
        self.id
    }

    /// The sealed envelope's exact size.
    pub fn envelope_size(&self) -> u64 {
        self.sealer.header().layout().total_len()
    }

    /// Plaintext bytes announced for all attachments.
    pub fn attachment_bytes(&self) -> u64 {
        self.manifest.attachments.iter().map(|a| a.size).sum()
    }

    /// Takes the next bytes of attachment `index`. Attachments arrive in order, each
    /// completely before the next starts.
    pub fn write(&mut self, index: usize, bytes: &[u8]) -> Result<u64> {
        if self.current.as_ref().map(|c| c.index) != Some(index) {
            self.start(index)?;
        }
        let current = self.current.as_mut().expect("started above");
        let info = &self.manifest.attachments[index];
        let received = current.received + bytes.len() as u64;
        if received > info.size {
            return Err(HelperError::BadRequest(format!(
                "attachment {} ({}) was announced as {} bytes but more arrived",
                index + 1,
                info.name,
                info.size
            )));
        }
        current.hash.update(bytes);
        std::io::Write::write_all(&mut current.writer, bytes)?;
        current.received = received;
        Ok(received)
    }

    fn start(&mut self, index: usize) -> Result<()> {
        self.close_current()?;
        self.seal_empty_attachments(index)?;
        if index != self.next || index >= self.manifest.attachments.len() {
            return Err(HelperError::BadRequest(format!(
                "attachment {} arrived out of order: expected attachment {} of {}",
                index + 1,
                self.next + 1,
                self.manifest.attachments.len()
            )));
        }
        self.open(index)
    }

    fn open(&mut self, index: usize) -> Result<()> {
        let spool = self.spool.take().expect("a spool exists while attachments are open");
        let part = self.sealer.part_sealer(index as u32 + 1)?;
        self.current = Some(Current {
            index,
            writer: SealWriter::new(part, spool),
            hash: ContentHash::new(),
            received: 0,
        });
        self.next = index + 1;
        Ok(())
    }

    /// Seals the empty attachments before `until`: they have no bytes to wait for.
    fn seal_empty_attachments(&mut self, until: usize) -> Result<()> {
        while self.next < until.min(self.manifest.attachments.len())
            && self.manifest.attachments[self.next].size == 0
        {
            self.open(self.next)?;
            self.close_current()?;
        }
        Ok(())
    }

    fn close_current(&mut self) -> Result<()> {
        if let Some(c) = self.current.take() {
            let info = &self.manifest.attachments[c.index];
            if c.received != info.size {
                return Err(HelperError::BadRequest(format!(
                    "attachment {} ({}) was announced as {} bytes but {} arrived",
                    c.index + 1,
                    info.name,
                    info.size,
                    c.received
                )));
            }
            self.spool = Some(c.writer.finish()?);
            self.hashes.push(c.hash.finish_hex());
        }
        Ok(())
    }

    /// Completes sealing: every attachment must have arrived in full.
    pub fn finish(mut self) -> Result<SealedEnvelope> {
        self.close_current()?;
        self.seal_empty_attachments(usize::MAX)?;
        if self.hashes.len() != self.manifest.attachments.len() {
            return Err(HelperError::BadRequest(format!(
                "only {} of {} attachments arrived",
                self.hashes.len(),
                self.manifest.attachments.len()
            )));
        }
        for (a, h) in self.manifest.attachments.iter_mut().zip(self.hashes) {
            a.sha256 = h;
        }
        let json = self.manifest.to_json();
        assert_eq!(json.len(), self.manifest_len, "hashes have a fixed length");
        let header = self.sealer.header().as_bytes().to_vec();
        let total = self.sealer.header().layout().total_len();
        let mut writer = SealWriter::new(self.sealer.part_sealer(0)?, header);
        std::io::Write::write_all(&mut writer, &json)?;
        let prefix = writer.finish()?;
        let spool = self.spool.take();
        let sealed = SealedEnvelope { id: self.id, details: self.details, prefix, spool, total };
        debug_assert_eq!(sealed.prefix.len() as u64 + sealed.spool_len()?, sealed.total);
        Ok(sealed)
    }
}

/// A sealed envelope waiting for upload: `prefix` (header and manifest) in memory, the
/// attachments' ciphertext in the spool.
#[derive(Debug)]
pub struct SealedEnvelope {
    /// The message id.
    pub id: MessageId,
    /// The details it was sealed from (for the delivery slip).
    pub details: MessageDetails,
    prefix: Vec<u8>,
    spool: Option<File>,
    total: u64,
}

impl SealedEnvelope {
    /// Envelope length in bytes.
    pub fn len(&self) -> u64 {
        self.total
    }

    /// Whether the envelope is empty (never: there is always a header).
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    fn spool_len(&self) -> std::io::Result<u64> {
        Ok(match &self.spool {
            Some(f) => f.metadata()?.len(),
            None => 0,
        })
    }

    /// A reader over the envelope from `offset` on. Readers use positional reads, so any
    /// number may exist at once.
    pub fn reader_from(&self, offset: u64) -> std::io::Result<EnvelopeReader> {
        let prefix_len = self.prefix.len() as u64;
        let prefix = self.prefix[offset.min(prefix_len) as usize..].to_vec();
        let spool = match &self.spool {
            Some(f) => Some((f.try_clone()?, offset.saturating_sub(prefix_len))),
            None => None,
        };
        Ok(EnvelopeReader { prefix: std::io::Cursor::new(prefix), spool })
    }

    /// The whole envelope in memory (tests and small messages).
    pub fn to_vec(&self) -> std::io::Result<Vec<u8>> {
        let mut v = Vec::with_capacity(self.total as usize);
        self.reader_from(0)?.read_to_end(&mut v)?;
        Ok(v)
    }
}

/// Reads an envelope: the in-memory prefix, then the spool.
#[derive(Debug)]
pub struct EnvelopeReader {
    prefix: std::io::Cursor<Vec<u8>>,
    /// The spool and the position in it.
    spool: Option<(File, u64)>,
}

impl Read for EnvelopeReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.prefix.read(buf)?;
        if n > 0 {
            return Ok(n);
        }
        match &mut self.spool {
            Some((f, pos)) => {
                let n = read_at(f, buf, *pos)?;
                *pos += n as u64;
                Ok(n)
            }
            None => Ok(0),
        }
    }
}

#[cfg(unix)]
fn read_at(f: &File, buf: &mut [u8], pos: u64) -> std::io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(f, buf, pos)
}

#[cfg(windows)]
fn read_at(f: &File, buf: &mut [u8], pos: u64) -> std::io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(f, buf, pos)
}

fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}
