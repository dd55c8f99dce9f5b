//! The manifest: part 0 of every envelope, UTF-8 JSON.
//!
//! It carries the metadata snapshot (what the delivery slip said at sealing time, so a
//! tampered slip can be detected), the text and HTML bodies, and the list of attachments.
//!
//! BCC recipients are deliberately **not** in the snapshot: everyone who can open the envelope
//! can read the manifest, and BCC must stay private. The delivery slip keeps BCC on the
//! platform side only.

use aws_lc_rs::digest;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::format::{Header, PartKind};

/// The manifest format version written by this crate.
pub const MANIFEST_VERSION: u32 = 1;

/// The JSON document in part 0.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Manifest format version ([`MANIFEST_VERSION`]).
    pub version: u32,
    /// What the message said about itself when it was sealed.
    pub metadata: Metadata,
    /// The message bodies.
    pub body: Body,
    /// One entry per attachment part, in part order.
    #[serde(default)]
    pub attachments: Vec<Attachment>,
}

/// The metadata snapshot.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    /// The sender's address (`From`).
    pub from: String,
    /// `To` recipients.
    #[serde(default)]
    pub to: Vec<String>,
    /// `Cc` recipients.
    #[serde(default)]
    pub cc: Vec<String>,
    /// Subject line.
    #[serde(default)]
    pub subject: String,
    /// When it was sent, RFC 3339.
    pub date: String,
    /// The RFC 5322 `Message-ID`, where the mail client gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// Selected further headers (name, value), in order.
    #[serde(default)]
    pub headers: Vec<(String, String)>,
}

/// The bodies of the message. At least one is normally present.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Body {
    /// `text/plain` body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// `text/html` body (sanitised by whoever displays it, never trusted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
}

/// An attachment's description.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// The part holding the bytes (1..n).
    pub part: u32,
    /// File name as the sender gave it.
    pub name: String,
    /// MIME type.
    pub content_type: String,
    /// Size in bytes; equals the part's plaintext length.
    pub size: u64,
    /// `Content-ID` for inline images referenced from the HTML body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_id: Option<String>,
    /// SHA-256 of the bytes, lowercase hex.
    pub sha256: String,
}

impl Manifest {
    /// A manifest with these metadata and bodies, and no attachments yet.
    pub fn new(metadata: Metadata, body: Body) -> Manifest {
        Manifest { version: MANIFEST_VERSION, metadata, body, attachments: Vec::new() }
    }

    /// Describes the next attachment part from its bytes (size and SHA-256); returns its part.
    pub fn attach(
        &mut self,
        name: impl Into<String>,
        content_type: impl Into<String>,
        bytes: &[u8],
    ) -> u32 {
        self.attach_hashed(name, content_type, bytes.len() as u64, ContentHash::of(bytes))
    }

    /// Describes the next attachment part from its size and SHA-256 (lowercase hex), for
    /// attachments hashed as they streamed; returns its part.
    pub fn attach_hashed(
        &mut self,
        name: impl Into<String>,
        content_type: impl Into<String>,
        size: u64,
        sha256: String,
    ) -> u32 {
        let part = self.attachments.len() as u32 + 1;
        self.attachments.push(Attachment {
            part,
            name: name.into(),
            content_type: content_type.into(),
            size,
            content_id: None,
            sha256,
        });
        part
    }

    /// Serialises to the JSON stored in part 0.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a manifest always serialises")
    }

    /// Parses part 0. The caller has already bounded its length by the header limits.
    pub fn from_json(bytes: &[u8]) -> Result<Manifest> {
        let m: Manifest =
            serde_json::from_slice(bytes).map_err(|e| Error::BadManifest(e.to_string()))?;
        if m.version != MANIFEST_VERSION {
            return Err(Error::BadManifest(format!("unknown manifest version {}", m.version)));
        }
        Ok(m)
    }

    /// Checks that the attachment list describes exactly the header's attachment parts.
    pub fn check_against(&self, header: &Header) -> Result<()> {
        let parts = header.parts();
        let attachment_parts = parts.iter().filter(|p| p.kind == PartKind::Attachment).count();
        if self.attachments.len() != attachment_parts {
            return Err(Error::BadManifest(format!(
                "lists {} attachments, the envelope holds {attachment_parts}",
                self.attachments.len()
            )));
        }
        for (i, a) in self.attachments.iter().enumerate() {
            let expected = i as u32 + 1;
            if a.part != expected {
                return Err(Error::BadManifest(format!(
                    "attachment {i} points at part {}, expected {expected}",
                    a.part
                )));
            }
            if parts[expected as usize].len != a.size {
                return Err(Error::BadManifest(format!(
                    "attachment \"{}\" says {} bytes, its part holds {}",
                    a.name, a.size, parts[expected as usize].len
                )));
            }
            if a.sha256.len() != 64 || !a.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(Error::BadManifest(format!(
                    "attachment \"{}\" has a bad sha256",
                    a.name
                )));
            }
        }
        Ok(())
    }
}

/// Incremental SHA-256 of an attachment, for the manifest's `sha256` field. Attachments arrive
/// in pieces (from the mail client, or an upload), so the hash is built as they stream.
#[derive(Clone)]
pub struct ContentHash(digest::Context);

impl ContentHash {
    /// A hash of nothing yet.
    pub fn new() -> ContentHash {
        ContentHash(digest::Context::new(&digest::SHA256))
    }

    /// Adds the next bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// The lowercase hex digest.
    pub fn finish_hex(self) -> String {
        hex::encode(self.0.finish())
    }

    /// The hex SHA-256 of `bytes` in one go.
    pub fn of(bytes: &[u8]) -> String {
        let mut h = ContentHash::new();
        h.update(bytes);
        h.finish_hex()
    }
}

impl Default for ContentHash {
    fn default() -> Self {
        ContentHash::new()
    }
}

impl std::fmt::Debug for ContentHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ContentHash(SHA-256)")
    }
}
