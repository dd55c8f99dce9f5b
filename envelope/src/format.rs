//! The byte-level header and the layout of the parts that follow it (see `docs/envelope.md`).
//!
//! Parsing never trusts a count or a length before checking it against [`Limits`], and it
//! never allocates more than the header length it has already bounded. All offset arithmetic
//! is checked: a header that would overflow a u64 is malformed, not a panic.

use std::io::Read;

use aws_lc_rs::{hkdf, hmac};
use zeroize::Zeroizing;

use crate::aead::TAG_LEN;
use crate::error::{Error, Result};
use crate::keys::{FileKey, KeyId, MessageId, StanzaRole};
use crate::stream::SALT_LEN;

/// The first eight bytes of every envelope.
pub const MAGIC: [u8; 8] = *b"SEALPOST";
/// The only format version this crate reads and writes.
pub const VERSION: u8 = 1;
/// Bytes needed to learn the header length: magic, version, flags, header length.
pub const PREFIX_LEN: usize = 14;
/// Length of the header MAC (HMAC-SHA256).
pub const MAC_LEN: usize = 32;
/// The default chunk size: 64 KiB of plaintext per chunk.
pub const DEFAULT_CHUNK_SIZE: u32 = 64 * 1024;
/// Smallest chunk size the format allows (test vectors use it to stay small).
pub const MIN_CHUNK_SIZE: u32 = 64;
/// Largest chunk size the format allows.
pub const MAX_CHUNK_SIZE: u32 = 4 * 1024 * 1024;
/// Key-wrapping algorithm 1: RSA-OAEP with SHA-256 and MGF1-SHA-256.
pub const ALG_RSA_OAEP_SHA256: u8 = 1;
/// HKDF `info` for the header MAC key.
const HEADER_MAC_INFO: &[u8] = b"sealpost header mac";

/// Fixed fields before the stanzas: prefix, message id, chunk size, stanza count.
const FIXED_LEN: usize = PREFIX_LEN + 16 + 4 + 2;
/// Fixed fields of a stanza before the wrapped key: role, alg, key id, wrapped length.
const STANZA_FIXED_LEN: usize = 1 + 1 + 32 + 2;
/// One part-table entry: kind, plaintext length, salt.
const PART_ENTRY_LEN: usize = 1 + 8 + SALT_LEN;
/// The smallest possible header: one stanza with the smallest wrapped key, one part.
const MIN_HEADER_LEN: usize =
    FIXED_LEN + STANZA_FIXED_LEN + MIN_WRAPPED_LEN + 2 + PART_ENTRY_LEN + MAC_LEN;
/// Wrapped-key lengths allowed: RSA-3072 (384 bytes) up to RSA-8192 (1024 bytes).
const MIN_WRAPPED_LEN: usize = 384;
const MAX_WRAPPED_LEN: usize = 1024;

/// Bounds applied while parsing and validating, before anything is allocated for the
/// envelope. The defaults are generous; the platform passes its per-tenant limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest header, in bytes.
    pub max_header_len: u32,
    /// Most key stanzas.
    pub max_stanzas: u16,
    /// Most parts (the manifest plus attachments).
    pub max_parts: u16,
    /// Largest manifest plaintext, in bytes.
    pub max_manifest_len: u64,
    /// Largest single part plaintext, in bytes.
    pub max_part_len: u64,
    /// Largest envelope, in bytes.
    pub max_total_len: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_header_len: 256 * 1024,
            max_stanzas: 64,
            max_parts: 1001,
            max_manifest_len: 16 * 1024 * 1024,
            max_part_len: 64 << 30,
            max_total_len: 64 << 30,
        }
    }
}

/// What a part holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PartKind {
    /// Part 0: the JSON manifest (metadata snapshot, bodies, attachment list).
    Manifest,
    /// Parts 1..n: attachment bytes.
    Attachment,
}

impl PartKind {
    fn to_byte(self) -> u8 {
        match self {
            PartKind::Manifest => 0,
            PartKind::Attachment => 1,
        }
    }
}

/// One key stanza: the file key wrapped for one public key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stanza {
    /// Who the key belongs to.
    pub role: StanzaRole,
    /// SHA-256 of the key's SPKI DER.
    pub key_id: KeyId,
    /// The RSA-OAEP ciphertext of the file key.
    pub wrapped: Vec<u8>,
}

/// One entry of the part table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartEntry {
    /// Manifest or attachment.
    pub kind: PartKind,
    /// Plaintext length in bytes.
    pub len: u64,
    /// Random salt for this part's key derivation.
    pub salt: [u8; SALT_LEN],
}

/// Where a part's ciphertext sits in the envelope.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PartLayout {
    /// Byte offset of the part's first chunk from the start of the envelope.
    pub offset: u64,
    /// Plaintext length.
    pub len: u64,
    /// Number of chunks (at least 1: an empty part is one empty, final chunk).
    pub chunks: u64,
}

impl PartLayout {
    /// Ciphertext length of the whole part, tags included.
    pub fn ciphertext_len(&self) -> u64 {
        self.len + self.chunks * TAG_LEN as u64
    }
}

/// The offsets of every part and chunk, derived from the header alone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    chunk_size: u32,
    header_len: u64,
    parts: Vec<PartLayout>,
    total_len: u64,
}

impl Layout {
    fn new(header_len: u64, chunk_size: u32, parts: &[PartEntry]) -> Result<Layout> {
        let cs = u64::from(chunk_size);
        let mut offset = header_len;
        let mut out = Vec::with_capacity(parts.len());
        for p in parts {
            let chunks = p.len.div_ceil(cs).max(1);
            let layout = PartLayout { offset, len: p.len, chunks };
            let ct = chunks
                .checked_mul(TAG_LEN as u64)
                .and_then(|tags| tags.checked_add(p.len))
                .ok_or(Error::Malformed("part length overflows"))?;
            offset = offset.checked_add(ct).ok_or(Error::Malformed("envelope length overflows"))?;
            out.push(layout);
        }
        Ok(Layout { chunk_size, header_len, parts: out, total_len: offset })
    }

    /// Plaintext bytes per chunk (all chunks but a part's last are full).
    pub fn chunk_size(&self) -> u32 {
        self.chunk_size
    }

    /// Length of the header, MAC included.
    pub fn header_len(&self) -> u64 {
        self.header_len
    }

    /// Total envelope length.
    pub fn total_len(&self) -> u64 {
        self.total_len
    }

    /// The layout of every part, in order.
    pub fn parts(&self) -> &[PartLayout] {
        &self.parts
    }

    /// The layout of part `index`.
    pub fn part(&self, index: u32) -> Result<&PartLayout> {
        self.parts.get(index as usize).ok_or(Error::Usage("no such part"))
    }

    /// Plaintext length of chunk `chunk` of a part.
    pub fn chunk_plaintext_len(&self, part: &PartLayout, chunk: u64) -> usize {
        let cs = u64::from(self.chunk_size);
        let len = if chunk + 1 < part.chunks { cs } else { part.len - (part.chunks - 1) * cs };
        len as usize
    }

    /// Byte offset of chunk `chunk` of a part.
    pub fn chunk_offset(&self, part: &PartLayout, chunk: u64) -> u64 {
        part.offset + chunk * (u64::from(self.chunk_size) + TAG_LEN as u64)
    }

    /// Byte range of chunk `chunk` of a part in the envelope: its ciphertext and tag.
    pub fn chunk_range(&self, part: &PartLayout, chunk: u64) -> std::ops::Range<u64> {
        let start = self.chunk_offset(part, chunk);
        start..start + (self.chunk_plaintext_len(part, chunk) + TAG_LEN) as u64
    }
}

/// A parsed, structurally valid header. Its MAC is *not* yet verified: that needs the file
/// key (see [`crate::Decryptor`]).
#[derive(Clone, Debug)]
pub struct Header {
    message_id: MessageId,
    chunk_size: u32,
    stanzas: Vec<Stanza>,
    parts: Vec<PartEntry>,
    bytes: Vec<u8>,
    layout: Layout,
}

impl Header {
    /// Checks the first [`PREFIX_LEN`] bytes and returns the header length they announce.
    pub fn peek_len(prefix: &[u8], limits: &Limits) -> Result<u32> {
        if prefix.len() < PREFIX_LEN {
            return Err(Error::Truncated {
                expected: PREFIX_LEN as u64,
                found: prefix.len() as u64,
            });
        }
        if prefix[..8] != MAGIC {
            return Err(Error::NotAnEnvelope);
        }
        if prefix[8] != VERSION {
            return Err(Error::UnsupportedVersion(prefix[8]));
        }
        if prefix[9] != 0 {
            return Err(Error::Malformed("reserved flags are set"));
        }
        let len = u32::from_be_bytes([prefix[10], prefix[11], prefix[12], prefix[13]]);
        if (len as usize) < MIN_HEADER_LEN {
            return Err(Error::Malformed("header length is smaller than any valid header"));
        }
        if len > limits.max_header_len {
            return Err(Error::LimitExceeded {
                what: "header length",
                actual: u64::from(len),
                limit: u64::from(limits.max_header_len),
            });
        }
        Ok(len)
    }

    /// Reads exactly one header from `r` (which must be at the envelope's start).
    pub fn read_from<R: Read + ?Sized>(r: &mut R, limits: &Limits) -> Result<Header> {
        let mut prefix = [0u8; PREFIX_LEN];
        let got = read_full(r, &mut prefix)?;
        let len = Header::peek_len(&prefix[..got], limits)? as usize;
        let mut bytes = vec![0u8; len];
        bytes[..PREFIX_LEN].copy_from_slice(&prefix);
        let got = read_full(r, &mut bytes[PREFIX_LEN..])?;
        if got < len - PREFIX_LEN {
            return Err(Error::Truncated {
                expected: len as u64,
                found: (PREFIX_LEN + got) as u64,
            });
        }
        Header::parse(bytes, limits)
    }

    /// Parses a complete header (exactly the bytes the prefix announces).
    pub fn parse(bytes: Vec<u8>, limits: &Limits) -> Result<Header> {
        let len = Header::peek_len(&bytes, limits)? as usize;
        if bytes.len() != len {
            return Err(Error::Truncated { expected: len as u64, found: bytes.len() as u64 });
        }
        let mut c = Cursor { buf: &bytes[..len - MAC_LEN], pos: PREFIX_LEN };
        let message_id = MessageId(c.array()?);
        let chunk_size = c.u32()?;
        if !(MIN_CHUNK_SIZE..=MAX_CHUNK_SIZE).contains(&chunk_size) || !chunk_size.is_power_of_two()
        {
            return Err(Error::Malformed("chunk size is not a power of two from 64 B to 4 MiB"));
        }

        let stanza_count = c.u16()?;
        if stanza_count == 0 {
            return Err(Error::Malformed("no key stanzas"));
        }
        check_limit("key stanzas", u64::from(stanza_count), u64::from(limits.max_stanzas))?;
        let mut stanzas: Vec<Stanza> = Vec::with_capacity(usize::from(stanza_count));
        for _ in 0..stanza_count {
            let role =
                StanzaRole::from_byte(c.u8()?).ok_or(Error::Malformed("unknown stanza role"))?;
            if c.u8()? != ALG_RSA_OAEP_SHA256 {
                return Err(Error::Malformed("unknown key-wrapping algorithm"));
            }
            let key_id = KeyId(c.array()?);
            let wrapped_len = usize::from(c.u16()?);
            if !(MIN_WRAPPED_LEN..=MAX_WRAPPED_LEN).contains(&wrapped_len) {
                return Err(Error::Malformed("wrapped key length is not that of RSA-3072..8192"));
            }
            let wrapped = c.take(wrapped_len)?.to_vec();
            if stanzas.iter().any(|s| s.key_id == key_id) {
                return Err(Error::Malformed("two stanzas for the same key"));
            }
            stanzas.push(Stanza { role, key_id, wrapped });
        }

        let part_count = c.u16()?;
        if part_count == 0 {
            return Err(Error::Malformed("no parts (the manifest is required)"));
        }
        check_limit("parts", u64::from(part_count), u64::from(limits.max_parts))?;
        let mut parts = Vec::with_capacity(usize::from(part_count));
        for i in 0..part_count {
            let kind = match (c.u8()?, i) {
                (0, 0) => PartKind::Manifest,
                (1, 1..) => PartKind::Attachment,
                _ => {
                    return Err(Error::Malformed(
                        "part 0 must be the manifest, the rest attachments",
                    ));
                }
            };
            let len = c.u64()?;
            let (what, limit) = match kind {
                PartKind::Manifest => ("manifest length", limits.max_manifest_len),
                PartKind::Attachment => ("attachment length", limits.max_part_len),
            };
            check_limit(what, len, limit)?;
            parts.push(PartEntry { kind, len, salt: c.array()? });
        }
        if c.pos != c.buf.len() {
            return Err(Error::Malformed("header length does not match its contents"));
        }
        let layout = Layout::new(len as u64, chunk_size, &parts)?;
        check_limit("envelope length", layout.total_len(), limits.max_total_len)?;
        Ok(Header { message_id, chunk_size, stanzas, parts, bytes, layout })
    }

    /// Builds and MACs a header. Used by the writer.
    pub(crate) fn build(
        message_id: MessageId,
        chunk_size: u32,
        stanzas: Vec<Stanza>,
        parts: Vec<PartEntry>,
        file_key: &FileKey,
    ) -> Result<Header> {
        let mut b = Vec::new();
        b.extend_from_slice(&MAGIC);
        b.push(VERSION);
        b.push(0);
        b.extend_from_slice(&[0; 4]); // header length, patched below
        b.extend_from_slice(&message_id.0);
        b.extend_from_slice(&chunk_size.to_be_bytes());
        let count = u16::try_from(stanzas.len()).map_err(|_| Error::Usage("too many stanzas"))?;
        b.extend_from_slice(&count.to_be_bytes());
        for s in &stanzas {
            b.push(s.role.to_byte());
            b.push(ALG_RSA_OAEP_SHA256);
            b.extend_from_slice(&s.key_id.0);
            let wl =
                u16::try_from(s.wrapped.len()).map_err(|_| Error::Usage("wrapped key too long"))?;
            b.extend_from_slice(&wl.to_be_bytes());
            b.extend_from_slice(&s.wrapped);
        }
        let count = u16::try_from(parts.len()).map_err(|_| Error::Usage("too many parts"))?;
        b.extend_from_slice(&count.to_be_bytes());
        for p in &parts {
            b.push(p.kind.to_byte());
            b.extend_from_slice(&p.len.to_be_bytes());
            b.extend_from_slice(&p.salt);
        }
        let total =
            u32::try_from(b.len() + MAC_LEN).map_err(|_| Error::Usage("header too long"))?;
        b[10..14].copy_from_slice(&total.to_be_bytes());
        let mac = hmac::sign(&header_mac_key(file_key), &b);
        b.extend_from_slice(mac.as_ref());
        let layout = Layout::new(u64::from(total), chunk_size, &parts)?;
        Ok(Header { message_id, chunk_size, stanzas, parts, bytes: b, layout })
    }

    /// Checks the header MAC with the file key. Constant-time.
    pub(crate) fn verify_mac(&self, file_key: &FileKey) -> Result<()> {
        let (body, mac) = self.bytes.split_at(self.bytes.len() - MAC_LEN);
        hmac::verify(&header_mac_key(file_key), body, mac).map_err(|_| Error::HeaderTampered)
    }

    /// The message id sealed into the header.
    pub fn message_id(&self) -> MessageId {
        self.message_id
    }

    /// Plaintext bytes per chunk.
    pub fn chunk_size(&self) -> u32 {
        self.chunk_size
    }

    /// The key stanzas.
    pub fn stanzas(&self) -> &[Stanza] {
        &self.stanzas
    }

    /// The part table.
    pub fn parts(&self) -> &[PartEntry] {
        &self.parts
    }

    /// The exact header bytes, MAC included.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Offsets of every part and chunk.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }
}

/// HMAC key for the header: HKDF-SHA256(ikm = file key, no salt, info = "sealpost header mac").
fn header_mac_key(file_key: &FileKey) -> hmac::Key {
    let mut k = Zeroizing::new([0u8; 32]);
    hkdf::Salt::new(hkdf::HKDF_SHA256, &[])
        .extract(file_key.expose_secret())
        .expand(&[HEADER_MAC_INFO], hkdf::HKDF_SHA256)
        .and_then(|okm| okm.fill(&mut k[..]))
        .expect("HKDF-SHA256 expand of 32 bytes cannot fail");
    hmac::Key::new(hmac::HMAC_SHA256, &k[..])
}

fn check_limit(what: &'static str, actual: u64, limit: u64) -> Result<()> {
    if actual > limit { Err(Error::LimitExceeded { what, actual, limit }) } else { Ok(()) }
}

/// Reads until `buf` is full or the reader ends; returns how much was read.
pub(crate) fn read_full<R: Read + ?Sized>(r: &mut R, buf: &mut [u8]) -> Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::from_io(e)),
        }
    }
    Ok(got)
}

/// A bounds-checked reader over the header bytes.
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        let end = end.ok_or(Error::Malformed("a field runs past the header's end"))?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        Ok(self.take(N)?.try_into().expect("take returned N bytes"))
    }

    fn u8(&mut self) -> Result<u8> {
        Ok(self.array::<1>()?[0])
    }

    fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_be_bytes(self.array()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_counts_an_empty_part_as_one_chunk() {
        let salt = [0; SALT_LEN];
        let parts = [
            PartEntry { kind: PartKind::Manifest, len: 0, salt },
            PartEntry { kind: PartKind::Attachment, len: 128, salt },
            PartEntry { kind: PartKind::Attachment, len: 129, salt },
        ];
        let l = Layout::new(1000, 64, &parts).expect("layout");
        assert_eq!(l.parts()[0].chunks, 1);
        assert_eq!(l.parts()[1].chunks, 2);
        assert_eq!(l.parts()[2].chunks, 3);
        assert_eq!(l.parts()[1].offset, 1000 + 16);
        assert_eq!(l.chunk_plaintext_len(&l.parts()[2], 2), 1);
        assert_eq!(l.chunk_plaintext_len(&l.parts()[1], 1), 64);
        assert_eq!(l.total_len(), 1000 + 16 + (128 + 32) + (129 + 48));
    }

    #[test]
    fn prefix_checks_come_before_any_allocation() {
        let limits = Limits::default();
        let mut p = [0u8; PREFIX_LEN];
        assert!(matches!(Header::peek_len(&p, &limits), Err(Error::NotAnEnvelope)));
        p[..8].copy_from_slice(&MAGIC);
        p[8] = 2;
        assert!(matches!(Header::peek_len(&p, &limits), Err(Error::UnsupportedVersion(2))));
        p[8] = VERSION;
        p[10..14].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(Header::peek_len(&p, &limits), Err(Error::LimitExceeded { .. })));
    }
}
