//! Opening: unwrap the file key, verify the header, decrypt parts or byte ranges of them.
//!
//! A chunk's plaintext is released only after that chunk authenticates. When one does not,
//! the opener works out why, so that each kind of tampering has its own error: it tries the
//! chunk at nearby positions of the same part (reordered) and in other parts (moved between
//! parts), within a bounded window, before calling it altered or foreign. That search runs
//! only on failure and is capped at [`DIAGNOSIS_WINDOW`] positions either side, so a hostile
//! envelope cannot make it expensive.

use std::io::{Read, Seek, SeekFrom};
use std::ops::Range;
use std::sync::Arc;

use zeroize::Zeroizing;

use crate::aead::{Backend, ChunkCipher, TAG_LEN};
use crate::error::{Error, Result};
use crate::format::{Header, Layout, Limits, PartLayout, read_full};
use crate::keys::{FileKey, MessageId, PrivateKey};
use crate::manifest::Manifest;
use crate::stream::{chunk_nonce, part_cipher};

/// How many chunk positions either side of a failed chunk are tried when diagnosing it, and
/// how many other parts are tried.
pub const DIAGNOSIS_WINDOW: u64 = 8;
const DIAGNOSIS_PARTS: usize = 16;

/// An envelope whose file key is known and whose header MAC has been verified.
/// Cheap to clone (shared), so openers can outlive the borrow that made them.
#[derive(Clone, Debug)]
pub struct Decryptor {
    inner: Arc<Inner>,
}

#[derive(Clone, Debug)]
struct Inner {
    header: Header,
    file_key: FileKey,
    backend: Backend,
}

impl Decryptor {
    /// Unwraps the file key with `key` (aws-lc-rs, constant time) and verifies the header MAC.
    pub fn new(header: Header, key: &PrivateKey) -> Result<Decryptor> {
        let stanza = header
            .stanzas()
            .iter()
            .find(|s| s.key_id == key.key_id())
            .ok_or_else(|| Error::NoStanzaForKey { key_id: key.key_id().to_hex() })?;
        let file_key = key.unwrap(&stanza.wrapped)?;
        Decryptor::with_file_key(header, file_key)
    }

    /// Uses a file key obtained elsewhere (the platform keeps it re-wrapped under a tenant
    /// key) and verifies the header MAC with it.
    pub fn with_file_key(header: Header, file_key: FileKey) -> Result<Decryptor> {
        header.verify_mac(&file_key)?;
        Ok(Decryptor { inner: Arc::new(Inner { header, file_key, backend: Backend::default() }) })
    }

    /// Chooses the AES-GCM implementation used from here on.
    pub fn with_backend(self, backend: Backend) -> Decryptor {
        let inner = Arc::unwrap_or_clone(self.inner);
        Decryptor { inner: Arc::new(Inner { backend, ..inner }) }
    }

    /// Fails with [`Error::WrongMessage`] unless the envelope is for message `expected`.
    pub fn expect_message(&self, expected: MessageId) -> Result<()> {
        let found = self.inner.header.message_id();
        if found != expected {
            return Err(Error::WrongMessage {
                expected: expected.to_string(),
                found: found.to_string(),
            });
        }
        Ok(())
    }

    /// The verified header.
    pub fn header(&self) -> &Header {
        &self.inner.header
    }

    /// The file key (for re-wrapping under a tenant key).
    pub fn file_key(&self) -> &FileKey {
        &self.inner.file_key
    }

    fn layout(&self) -> &Layout {
        self.inner.header.layout()
    }

    fn cipher(&self, part: u32) -> Result<ChunkCipher> {
        let entry = self.header().parts().get(part as usize).ok_or(Error::Usage("no such part"))?;
        Ok(part_cipher(self.inner.backend, &self.inner.file_key, &entry.salt, part))
    }

    /// A chunk-level opener for one part (sans-IO).
    pub fn part_opener(&self, part: u32) -> Result<PartOpener> {
        Ok(PartOpener {
            cipher: self.cipher(part)?,
            layout: *self.layout().part(part)?,
            part,
            dec: self.clone(),
        })
    }

    /// Reads part `part` from `r`, which must be positioned at the part's first chunk.
    pub fn part_reader<R: Read>(&self, part: u32, r: R) -> Result<PartReader<R>> {
        let layout = *self.layout().part(part)?;
        PartReader::new(self.part_opener(part)?, r, 0, 0, layout.len)
    }

    /// Reads plaintext bytes `range` of part `part`, seeking `r` to the first chunk needed and
    /// decrypting only the chunks that overlap the range.
    pub fn range_reader<R: Read + Seek>(
        &self,
        part: u32,
        range: Range<u64>,
        mut r: R,
    ) -> Result<PartReader<R>> {
        let layout = *self.layout().part(part)?;
        if range.start > range.end || range.end > layout.len {
            return Err(Error::Usage("byte range lies outside the part"));
        }
        let cs = u64::from(self.layout().chunk_size());
        let first = (range.start / cs).min(layout.chunks - 1);
        r.seek(SeekFrom::Start(self.layout().chunk_offset(&layout, first)))?;
        PartReader::new(
            self.part_opener(part)?,
            r,
            first,
            range.start - first * cs,
            range.end - range.start,
        )
    }

    /// Reads and checks the manifest (part 0) from a seekable envelope.
    pub fn read_manifest<R: Read + Seek>(&self, mut r: R) -> Result<Manifest> {
        r.seek(SeekFrom::Start(self.layout().part(0)?.offset))?;
        let mut json = Zeroizing::new(Vec::new());
        self.part_reader(0, r)?.read_to_end(&mut json).map_err(Error::from_io)?;
        let manifest = Manifest::from_json(&json)?;
        manifest.check_against(self.header())?;
        Ok(manifest)
    }

    /// Decrypts every part from `r` (positioned just after the header) and checks that
    /// nothing follows the last part. For small messages and tests: holds everything in memory.
    pub fn read_all<R: Read>(&self, mut r: R) -> Result<OpenedMessage> {
        let mut parts = Vec::with_capacity(self.header().parts().len());
        for i in 0..self.header().parts().len() as u32 {
            let mut buf = Zeroizing::new(Vec::new());
            self.part_reader(i, &mut r)?.read_to_end(&mut buf).map_err(Error::from_io)?;
            parts.push(buf);
        }
        let mut probe = [0u8; 1];
        if read_full(&mut r, &mut probe)? > 0 {
            return Err(Error::TrailingData { extra: 1 });
        }
        self.assemble(parts)
    }

    /// Decrypts part `part` of a whole envelope held in memory, chunk by chunk straight from
    /// `envelope` into the result (no intermediate copy).
    pub fn read_part_from_slice(&self, part: u32, envelope: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        let len = self.layout().part(part)?.len;
        let len = usize::try_from(len).map_err(|_| Error::Usage("part too large"))?;
        let mut out = Zeroizing::new(vec![0u8; len]);
        self.open_part_into(part, envelope, &mut out)?;
        Ok(out)
    }

    /// Like [`Decryptor::read_part_from_slice`], into a caller's buffer of exactly the part's
    /// length (so a caller can reuse memory). On error `out` is zeroed: no unauthenticated
    /// plaintext is left behind.
    pub fn open_part_into(&self, part: u32, envelope: &[u8], out: &mut [u8]) -> Result<()> {
        let result = self.open_part_into_inner(part, envelope, out);
        if result.is_err() {
            out.iter_mut().for_each(|b| *b = 0);
        }
        result
    }

    fn open_part_into_inner(&self, part: u32, envelope: &[u8], out: &mut [u8]) -> Result<()> {
        let opener = self.part_opener(part)?;
        let layout = *opener.layout();
        if out.len() as u64 != layout.len {
            return Err(Error::Usage("output buffer length differs from the part's length"));
        }
        let cs = self.layout().chunk_size() as usize;
        for index in 0..layout.chunks {
            let range = self.layout().chunk_range(&layout, index);
            let Some(chunk) = envelope.get(range.start as usize..range.end as usize) else {
                let found = envelope.len() as u64;
                return Err(Error::Truncated { expected: self.layout().total_len(), found });
            };
            let from = index as usize * cs;
            opener.open_chunk(index, chunk, &mut out[from..from + chunk.len() - TAG_LEN])?;
        }
        Ok(())
    }

    /// Parses and checks the manifest and pairs it with the attachments.
    fn assemble(&self, parts: Vec<Zeroizing<Vec<u8>>>) -> Result<OpenedMessage> {
        let mut parts = parts.into_iter();
        let manifest_json = parts.next().ok_or(Error::Malformed("no parts"))?;
        let manifest = Manifest::from_json(&manifest_json)?;
        manifest.check_against(self.header())?;
        Ok(OpenedMessage { manifest, attachments: parts.collect() })
    }
}

/// A whole decrypted message (see [`Decryptor::read_all`]).
#[derive(Debug)]
pub struct OpenedMessage {
    /// Part 0.
    pub manifest: Manifest,
    /// Parts 1..n, in order; zeroized on drop.
    pub attachments: Vec<Zeroizing<Vec<u8>>>,
}

/// How [`open`] treats an envelope.
#[derive(Clone, Debug, Default)]
pub struct OpenOptions {
    /// Bounds checked before anything is allocated.
    pub limits: Limits,
    /// AES-GCM implementation.
    pub backend: Backend,
    /// When set, the envelope must be for this message ([`Error::WrongMessage`] otherwise).
    pub expect_message: Option<MessageId>,
}

/// Parses, unwraps and decrypts a whole envelope held in memory.
///
/// The header is authenticated (unwrap, then MAC) before its lengths are believed, so a
/// forged header is reported as [`Error::HeaderTampered`], not as a length problem.
pub fn open(
    envelope: &[u8],
    key: &PrivateKey,
    opts: &OpenOptions,
) -> Result<(Decryptor, OpenedMessage)> {
    let mut r = envelope;
    let header = Header::read_from(&mut r, &opts.limits)?;
    let dec = Decryptor::new(header, key)?.with_backend(opts.backend);
    if let Some(id) = opts.expect_message {
        dec.expect_message(id)?;
    }
    // Lengths are checked only now that the header is authenticated, and before any part is
    // allocated: a sender (who holds the file key) could otherwise declare parts far larger
    // than the bytes it sent.
    let total = dec.header().layout().total_len();
    let found = envelope.len() as u64;
    if found < total {
        return Err(Error::Truncated { expected: total, found });
    }
    if found > total {
        return Err(Error::TrailingData { extra: found - total });
    }
    let mut parts = Vec::with_capacity(dec.header().parts().len());
    for i in 0..dec.header().parts().len() as u32 {
        parts.push(dec.read_part_from_slice(i, envelope)?);
    }
    let opened = dec.assemble(parts)?;
    Ok((dec, opened))
}

/// Decrypts the chunks of one part, one at a time (sans-IO).
pub struct PartOpener {
    cipher: ChunkCipher,
    layout: PartLayout,
    part: u32,
    dec: Decryptor,
}

impl std::fmt::Debug for PartOpener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartOpener").field("part", &self.part).finish()
    }
}

impl PartOpener {
    /// This part's layout.
    pub fn layout(&self) -> &PartLayout {
        &self.layout
    }

    /// Ciphertext length (tag included) of chunk `index`.
    pub fn chunk_ciphertext_len(&self, index: u64) -> usize {
        self.dec.layout().chunk_plaintext_len(&self.layout, index) + TAG_LEN
    }

    /// Decrypts chunk `index` (ciphertext ‖ tag, exactly [`Self::chunk_ciphertext_len`] bytes)
    /// into `out` (exactly 16 bytes shorter). On failure, says what is wrong with the chunk.
    pub fn open_chunk(&self, index: u64, chunk: &[u8], out: &mut [u8]) -> Result<()> {
        if index >= self.layout.chunks || chunk.len() != self.chunk_ciphertext_len(index) {
            return Err(Error::Usage("chunk index or length does not match the layout"));
        }
        let last = index + 1 == self.layout.chunks;
        if self.cipher.open(chunk_nonce(index, last), chunk, out).is_ok() {
            return Ok(());
        }
        out.iter_mut().for_each(|b| *b = 0);
        Err(self.diagnose(index, chunk))
    }

    /// Works out why chunk `index` failed to authenticate.
    fn diagnose(&self, index: u64, chunk: &[u8]) -> Error {
        let mut scratch = Zeroizing::new(vec![0u8; chunk.len() - TAG_LEN]);
        let fits = |cipher: &ChunkCipher, layout: &PartLayout, at: u64, scratch: &mut [u8]| {
            let last = at + 1 == layout.chunks;
            cipher.open(chunk_nonce(at, last), chunk, scratch).is_ok()
        };
        let near = |chunks: u64| {
            let lo = index.saturating_sub(DIAGNOSIS_WINDOW);
            let hi = index.saturating_add(DIAGNOSIS_WINDOW).min(chunks.saturating_sub(1));
            lo..=hi
        };
        for at in near(self.layout.chunks) {
            if at != index && fits(&self.cipher, &self.layout, at, &mut scratch) {
                return Error::ChunkOutOfOrder { part: self.part, index, belongs_at: at };
            }
        }
        let parts = self.dec.layout().parts();
        let others = (0..parts.len() as u32).filter(|&p| p != self.part).take(DIAGNOSIS_PARTS);
        for other in others {
            let Ok(cipher) = self.dec.cipher(other) else { continue };
            let layout = &parts[other as usize];
            if near(layout.chunks).any(|at| fits(&cipher, layout, at, &mut scratch)) {
                return Error::ChunkFromOtherPart { part: self.part, index, belongs_to: other };
            }
        }
        Error::ChunkTampered { part: self.part, index }
    }
}

/// `std::io::Read` over the plaintext of a part (or a byte range of it).
pub struct PartReader<R> {
    opener: PartOpener,
    inner: R,
    next_chunk: u64,
    /// Plaintext bytes still to skip at the start (range reads).
    skip: u64,
    /// Plaintext bytes still to hand out.
    remaining: u64,
    chunk: Vec<u8>,
    plain: Zeroizing<Vec<u8>>,
    plain_pos: usize,
    /// An empty part is one empty chunk, which must still be read and authenticated.
    verify_empty: bool,
}

impl<R: Read> PartReader<R> {
    fn new(opener: PartOpener, inner: R, first_chunk: u64, skip: u64, len: u64) -> Result<Self> {
        let cs = opener.dec.layout().chunk_size() as usize;
        let cap = cs.min(opener.layout.len as usize);
        Ok(PartReader {
            inner,
            next_chunk: first_chunk,
            skip,
            remaining: len,
            chunk: Vec::with_capacity(cap + TAG_LEN),
            plain: Zeroizing::new(Vec::with_capacity(cap)),
            plain_pos: 0,
            verify_empty: opener.layout.len == 0,
            opener,
        })
    }

    /// Reads the next chunk's ciphertext into `chunk`.
    fn read_chunk(&mut self) -> Result<()> {
        let index = self.next_chunk;
        let len = self.opener.chunk_ciphertext_len(index);
        self.chunk.resize(len, 0);
        let got = read_full(&mut self.inner, &mut self.chunk)?;
        if got < len {
            let layout = self.opener.dec.layout();
            let at = layout.chunk_offset(&self.opener.layout, index);
            return Err(Error::Truncated { expected: layout.total_len(), found: at + got as u64 });
        }
        Ok(())
    }

    /// Reads, authenticates and decrypts the next chunk into `plain`.
    fn fill(&mut self) -> Result<()> {
        let index = self.next_chunk;
        self.read_chunk()?;
        let len = self.chunk.len();
        self.plain.resize(len - TAG_LEN, 0);
        self.opener.open_chunk(index, &self.chunk, &mut self.plain)?;
        self.next_chunk += 1;
        let skip = self.skip.min(self.plain.len() as u64) as usize;
        self.skip -= skip as u64;
        self.plain_pos = skip;
        Ok(())
    }

    /// Gives back the underlying reader.
    pub fn into_inner(self) -> R {
        self.inner
    }
}

impl<R: Read> Read for PartReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.verify_empty {
            self.fill().map_err(Error::into_io)?;
            self.verify_empty = false;
        }
        if self.remaining == 0 || buf.is_empty() {
            return Ok(0);
        }
        if self.plain_pos >= self.plain.len()
            && self.skip == 0
            && self.next_chunk < self.opener.layout.chunks
        {
            // A whole chunk fits in the caller's buffer: decrypt straight into it.
            let pt_len = self.opener.chunk_ciphertext_len(self.next_chunk) - TAG_LEN;
            if pt_len > 0 && buf.len() >= pt_len && self.remaining >= pt_len as u64 {
                self.read_chunk().map_err(Error::into_io)?;
                self.opener
                    .open_chunk(self.next_chunk, &self.chunk, &mut buf[..pt_len])
                    .map_err(Error::into_io)?;
                self.next_chunk += 1;
                self.remaining -= pt_len as u64;
                return Ok(pt_len);
            }
        }
        while self.plain_pos >= self.plain.len() {
            self.fill().map_err(Error::into_io)?;
        }
        let avail = &self.plain[self.plain_pos..];
        let n = avail.len().min(buf.len()).min(self.remaining.try_into().unwrap_or(usize::MAX));
        buf[..n].copy_from_slice(&avail[..n]);
        self.plain_pos += n;
        self.remaining -= n as u64;
        Ok(n)
    }
}
