//! Sealing: from public keys and plaintext to envelope bytes, streaming.
//!
//! The work is done by sans-IO state machines that take plaintext and hand back ciphertext,
//! never touching a reader or writer themselves:
//! - [`PartSealer`] seals one part. Parts are independent streams, so a caller may seal them
//!   in any order (the helper seals attachments as they arrive and the manifest, which lists
//!   their SHA-256, last) and assemble `header ‖ part 0 ‖ part 1 ‖ …` afterwards.
//! - [`SealStream`] emits the header and then every part in order, moving to the next part
//!   when the current one has received its declared length.
//!
//! [`crate::SealWriter`] (`std::io::Write`) and, with the `tokio` feature,
//! `AsyncSealWriter` (`tokio::io::AsyncWrite`) drive either of them.
//!
//! Part lengths are declared up front and enforced: the header carries them, which lets the
//! platform check sizes and quotas from the first bytes of an upload.

use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use crate::aead::{Backend, ChunkCipher, Nonce, TAG_LEN};
use crate::error::{Error, Result};
use crate::format::{
    DEFAULT_CHUNK_SIZE, Header, Layout, MAX_CHUNK_SIZE, MIN_CHUNK_SIZE, PartEntry, PartKind,
    PartLayout, Stanza,
};
use crate::keys::{FileKey, MessageId, PublicKey, StanzaRole};
use crate::stream::{SALT_LEN, chunk_nonce, part_cipher};

/// A sans-IO sealing state machine: plaintext in, ciphertext out.
///
/// Protocol: drain [`SealCore::pending`] (and [`SealCore::consume`] what was written) before
/// each [`SealCore::push`]; `push` returns 0 while output is pending. When all plaintext is in,
/// call [`SealCore::finish`] until it returns `true`, draining in between.
pub trait SealCore {
    /// Accepts plaintext; returns how many bytes were taken (0 while output is pending).
    fn push(&mut self, input: &[u8]) -> Result<usize>;
    /// Ciphertext ready to be written.
    fn pending(&self) -> &[u8];
    /// Marks `n` pending bytes as written.
    fn consume(&mut self, n: usize);
    /// Completes sealing; `Ok(false)` means "drain pending output and call again". Fails if
    /// fewer bytes were pushed than declared.
    fn finish(&mut self) -> Result<bool>;

    /// Like `push`, but writes ciphertext straight into `output` and returns
    /// `(consumed, produced)`. When `input` holds a whole chunk and `output` has room for it,
    /// the chunk is sealed directly into `output` with no intermediate copy.
    fn push_into(&mut self, input: &[u8], output: &mut [u8]) -> Result<(usize, usize)> {
        buffered_push_into(self, input, output)
    }
}

/// Copies pending output into `output`; returns how much was copied.
fn drain_into<S: SealCore + ?Sized>(s: &mut S, output: &mut [u8]) -> usize {
    let n = s.pending().len().min(output.len());
    output[..n].copy_from_slice(&s.pending()[..n]);
    s.consume(n);
    n
}

/// `push_into` through the internal buffer: the general path every sealer supports.
fn buffered_push_into<S: SealCore + ?Sized>(
    s: &mut S,
    input: &[u8],
    output: &mut [u8],
) -> Result<(usize, usize)> {
    let mut produced = drain_into(s, output);
    if !s.pending().is_empty() {
        return Ok((0, produced));
    }
    let consumed = s.push(input)?;
    produced += drain_into(s, &mut output[produced..]);
    Ok((consumed, produced))
}

/// Builds a [`Sealer`]: who to wrap the file key for, and the length of every part.
#[derive(Debug)]
pub struct SealerBuilder {
    message_id: MessageId,
    chunk_size: u32,
    backend: Backend,
    recipients: Vec<(StanzaRole, PublicKey)>,
    manifest_len: Option<u64>,
    attachments: Vec<u64>,
}

impl SealerBuilder {
    /// Wraps the file key for `key` in a stanza with `role`.
    pub fn recipient(mut self, role: StanzaRole, key: &PublicKey) -> Self {
        self.recipients.push((role, key.clone()));
        self
    }

    /// Declares the manifest's length (part 0). Required.
    pub fn manifest_len(mut self, len: u64) -> Self {
        self.manifest_len = Some(len);
        self
    }

    /// Declares the next attachment part's length.
    pub fn attachment(mut self, len: u64) -> Self {
        self.attachments.push(len);
        self
    }

    /// Declares every part from a manifest: part 0 is `manifest_json` (the manifest
    /// serialised), then one attachment per entry of `manifest.attachments`, in order.
    pub fn parts_for(mut self, manifest: &crate::Manifest, manifest_json: &[u8]) -> Self {
        self.manifest_len = Some(manifest_json.len() as u64);
        self.attachments = manifest.attachments.iter().map(|a| a.size).collect();
        self
    }

    /// Plaintext bytes per chunk (default 64 KiB).
    pub fn chunk_size(mut self, chunk_size: u32) -> Self {
        self.chunk_size = chunk_size;
        self
    }

    /// The AES-GCM implementation to use.
    pub fn backend(mut self, backend: Backend) -> Self {
        self.backend = backend;
        self
    }

    /// Draws the file key and salts from the operating system and wraps the file key.
    pub fn build(self) -> Result<Sealer> {
        self.build_inner(&mut rand_core::OsRng)
    }

    /// Like [`SealerBuilder::build`] with an injected random source. The random source
    /// decides the file key, so this exists only for reproducible test vectors.
    #[cfg(feature = "deterministic-rng")]
    pub fn build_with_rng(self, rng: &mut dyn CryptoRngCore) -> Result<Sealer> {
        self.build_inner(rng)
    }

    // Random bytes are drawn in a fixed order (file key, one OAEP seed per stanza in order,
    // then one salt per part in order), so an injected source gives reproducible bytes.
    fn build_inner(self, rng: &mut dyn CryptoRngCore) -> Result<Sealer> {
        let cs = self.chunk_size;
        if !(MIN_CHUNK_SIZE..=MAX_CHUNK_SIZE).contains(&cs) || !cs.is_power_of_two() {
            return Err(Error::Usage("chunk size must be a power of two from 64 B to 4 MiB"));
        }
        if self.recipients.is_empty() {
            return Err(Error::Usage("an envelope needs at least one recipient key"));
        }
        for (i, (_, k)) in self.recipients.iter().enumerate() {
            if self.recipients[..i].iter().any(|(_, other)| other.key_id() == k.key_id()) {
                return Err(Error::Usage("the same key was given twice; give each key once"));
            }
        }
        let manifest_len =
            self.manifest_len.ok_or(Error::Usage("the manifest length was not declared"))?;

        let file_key = FileKey::generate(rng)?;
        let stanzas = self
            .recipients
            .iter()
            .map(|(role, key)| {
                Ok(Stanza { role: *role, key_id: key.key_id(), wrapped: key.wrap(&file_key, rng)? })
            })
            .collect::<Result<Vec<_>>>()?;
        let lens = std::iter::once((PartKind::Manifest, manifest_len))
            .chain(self.attachments.iter().map(|&l| (PartKind::Attachment, l)));
        let mut parts = Vec::with_capacity(1 + self.attachments.len());
        for (kind, len) in lens {
            let mut salt = [0u8; SALT_LEN];
            rng.try_fill_bytes(&mut salt).map_err(|_| Error::Random)?;
            parts.push(PartEntry { kind, len, salt });
        }
        let header = Header::build(self.message_id, cs, stanzas, parts, &file_key)?;
        Ok(Sealer { header, file_key, backend: self.backend })
    }
}

/// A message ready to be sealed: its header is fixed and its file key drawn.
#[derive(Debug)]
pub struct Sealer {
    header: Header,
    file_key: FileKey,
    backend: Backend,
}

impl Sealer {
    /// Starts describing a message with the given id.
    pub fn builder(message_id: MessageId) -> SealerBuilder {
        SealerBuilder {
            message_id,
            chunk_size: DEFAULT_CHUNK_SIZE,
            backend: Backend::default(),
            recipients: Vec::new(),
            manifest_len: None,
            attachments: Vec::new(),
        }
    }

    /// The header (already MACed).
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The file key. The platform re-wraps it under a tenant key when it seals replies.
    pub fn file_key(&self) -> &FileKey {
        &self.file_key
    }

    /// Takes up sealing a message whose header was made earlier (and kept), with its file
    /// key: for parts that arrive over many requests, or on another machine. The header is
    /// authenticated with the key first, so a kept header and key that do not belong together
    /// are refused.
    pub fn resume(header: Header, file_key: FileKey) -> Result<Sealer> {
        header.verify_mac(&file_key)?;
        Ok(Sealer { header, file_key, backend: Backend::default() })
    }

    /// A sealer for one part, to be used in any order.
    pub fn part_sealer(&self, index: u32) -> Result<PartSealer> {
        self.part_sealer_at(index, 0)
    }

    /// A sealer for one part that starts at chunk `first_chunk` (its plaintext starts at
    /// byte `first_chunk × chunk size` of the part): a part sealed in pieces, each piece a
    /// whole number of chunks but the last. The ciphertext it produces is the part's from
    /// byte `first_chunk × (chunk size + 16)` on.
    pub fn part_sealer_at(&self, index: u32, first_chunk: u64) -> Result<PartSealer> {
        let entry = self.header.parts().get(index as usize).ok_or(Error::Usage("no such part"))?;
        let layout = *self.header.layout().part(index)?;
        if first_chunk >= layout.chunks {
            return Err(Error::Usage("the part has no such chunk"));
        }
        let chunk_size = self.header.layout().chunk_size();
        let mut sealer = PartSealer::new(
            part_cipher(self.backend, &self.file_key, &entry.salt, index),
            index,
            layout,
            chunk_size,
        );
        sealer.chunk = first_chunk;
        sealer.absorbed = first_chunk * u64::from(chunk_size);
        Ok(sealer)
    }

    /// The whole envelope as one sequential stream: header, then parts in order.
    pub fn into_stream(self) -> SealStream {
        SealStream { header_pos: 0, current: None, next_part: 0, sealer: self }
    }

    /// Seals a message held in memory: `parts[0]` is the manifest, the rest the attachments
    /// (their lengths must be the declared ones). The output is allocated once, at its exact
    /// final size.
    pub fn seal_to_vec(self, parts: &[&[u8]]) -> Result<Vec<u8>> {
        let total = usize::try_from(self.header.layout().total_len())
            .map_err(|_| Error::Usage("envelope does not fit in memory"))?;
        let mut out = vec![0u8; total];
        self.seal_into(parts, &mut out)?;
        Ok(out)
    }

    /// Like [`Sealer::seal_to_vec`], into a caller's buffer of at least
    /// `header().layout().total_len()` bytes (so a caller can reuse memory). Chunks are sealed
    /// straight into it. Returns the envelope length.
    pub fn seal_into(self, parts: &[&[u8]], out: &mut [u8]) -> Result<usize> {
        let declared = self.header.parts();
        if parts.len() != declared.len() {
            return Err(Error::Usage("give exactly one buffer per declared part"));
        }
        for (i, (p, d)) in parts.iter().zip(declared).enumerate() {
            if p.len() as u64 != d.len {
                return Err(Error::PartLengthMismatch {
                    part: i as u32,
                    declared: d.len,
                    actual: p.len() as u64,
                });
            }
        }
        let total = self.header.layout().total_len();
        if (out.len() as u64) < total {
            return Err(Error::Usage("output buffer is shorter than the envelope"));
        }
        let mut pos = 0;
        let mut stream = self.into_stream();
        for part in parts {
            let mut input = *part;
            while !input.is_empty() {
                let (consumed, produced) = stream.push_into(input, &mut out[pos..])?;
                input = &input[consumed..];
                pos += produced;
            }
        }
        loop {
            pos += drain_into(&mut stream, &mut out[pos..]);
            if stream.finish()? {
                break;
            }
        }
        debug_assert_eq!(pos as u64, total, "the layout predicts the envelope length");
        Ok(pos)
    }

    /// A `std::io::Write` that seals everything written to it into `inner`.
    pub fn into_writer<W: std::io::Write>(self, inner: W) -> crate::SealWriter<SealStream, W> {
        crate::SealWriter::new(self.into_stream(), inner)
    }
}

/// Seals one part, chunk by chunk (sans-IO; see [`SealCore`]).
pub struct PartSealer {
    cipher: ChunkCipher,
    part: u32,
    layout: PartLayout,
    chunk_size: usize,
    /// Index of the chunk being filled (== `layout.chunks` when all are sealed).
    chunk: u64,
    absorbed: u64,
    /// Plaintext of a chunk being assembled from small writes.
    plain: Zeroizing<Vec<u8>>,
    /// A sealed chunk (ciphertext ‖ tag) waiting to be written, from `out_pos` on.
    out: Vec<u8>,
    out_pos: usize,
}

impl std::fmt::Debug for PartSealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartSealer").field("part", &self.part).field("chunk", &self.chunk).finish()
    }
}

impl PartSealer {
    fn new(cipher: ChunkCipher, part: u32, layout: PartLayout, chunk_size: u32) -> PartSealer {
        let cs = chunk_size as usize;
        let cap = cs.min(layout.len as usize);
        PartSealer {
            cipher,
            part,
            layout,
            chunk_size: cs,
            chunk: 0,
            absorbed: 0,
            plain: Zeroizing::new(Vec::with_capacity(cap)),
            out: Vec::with_capacity(cap + TAG_LEN),
            out_pos: 0,
        }
    }

    /// Plaintext length of the chunk being filled.
    fn chunk_len(&self) -> usize {
        let cs = self.chunk_size as u64;
        let len = if self.chunk + 1 < self.layout.chunks {
            cs
        } else {
            self.layout.len - (self.layout.chunks - 1) * cs
        };
        len as usize
    }

    fn all_sealed(&self) -> bool {
        self.chunk == self.layout.chunks
    }

    /// Seals `plaintext` (one whole chunk) into `out`.
    fn seal_chunk(cipher: &ChunkCipher, nonce: Nonce, plaintext: &[u8], out: &mut Vec<u8>) {
        out.clear();
        out.resize(plaintext.len() + TAG_LEN, 0);
        cipher.seal(nonce, plaintext, out);
    }

    fn nonce(&self) -> Nonce {
        chunk_nonce(self.chunk, self.chunk + 1 == self.layout.chunks)
    }

    fn too_long(&self, extra: usize) -> Error {
        Error::PartLengthMismatch {
            part: self.part,
            declared: self.layout.len,
            actual: self.absorbed + extra as u64,
        }
    }
}

impl SealCore for PartSealer {
    fn push(&mut self, input: &[u8]) -> Result<usize> {
        if !self.pending().is_empty() {
            return Ok(0);
        }
        if self.all_sealed() {
            return if input.is_empty() { Ok(0) } else { Err(self.too_long(input.len())) };
        }
        let want = self.chunk_len() - self.plain.len();
        let take = want.min(input.len());
        if self.plain.is_empty() && take == want {
            // The whole chunk is in the caller's buffer: seal straight from it, no copy.
            Self::seal_chunk(&self.cipher, self.nonce(), &input[..take], &mut self.out);
        } else {
            self.plain.extend_from_slice(&input[..take]);
            if self.plain.len() < self.chunk_len() {
                self.absorbed += take as u64;
                return Ok(take);
            }
            Self::seal_chunk(&self.cipher, self.nonce(), &self.plain, &mut self.out);
            zeroize::Zeroize::zeroize(&mut *self.plain);
        }
        self.absorbed += take as u64;
        self.chunk += 1;
        Ok(take)
    }

    fn pending(&self) -> &[u8] {
        &self.out[self.out_pos..]
    }

    fn consume(&mut self, n: usize) {
        self.out_pos += n;
        if self.out_pos >= self.out.len() {
            self.out.clear();
            self.out_pos = 0;
        }
    }

    fn push_into(&mut self, input: &[u8], output: &mut [u8]) -> Result<(usize, usize)> {
        if self.pending().is_empty() && self.plain.is_empty() && !self.all_sealed() {
            let len = self.chunk_len();
            if len > 0 && input.len() >= len && output.len() >= len + TAG_LEN {
                self.cipher.seal(self.nonce(), &input[..len], &mut output[..len + TAG_LEN]);
                self.absorbed += len as u64;
                self.chunk += 1;
                return Ok((len, len + TAG_LEN));
            }
        }
        buffered_push_into(self, input, output)
    }

    fn finish(&mut self) -> Result<bool> {
        if !self.pending().is_empty() {
            return Ok(false);
        }
        if self.all_sealed() {
            return Ok(true);
        }
        if self.chunk_len() == 0 {
            // An empty part is a single empty, final chunk.
            self.push(&[])?;
            return Ok(false);
        }
        Err(Error::PartLengthMismatch {
            part: self.part,
            declared: self.layout.len,
            actual: self.absorbed,
        })
    }
}

/// The whole envelope, sequentially: header, then every part in order (sans-IO).
#[derive(Debug)]
pub struct SealStream {
    sealer: Sealer,
    header_pos: usize,
    current: Option<PartSealer>,
    next_part: u32,
}

impl SealStream {
    /// The envelope's layout (total length, part offsets).
    pub fn layout(&self) -> &Layout {
        self.sealer.header.layout()
    }

    /// Makes `current` a part that still wants bytes, sealing empty parts on the way.
    /// Returns `false` when every part is complete.
    fn advance(&mut self) -> Result<bool> {
        loop {
            if let Some(cur) = &mut self.current {
                if !cur.all_sealed() && cur.chunk_len() > 0 {
                    return Ok(true);
                }
                if !cur.all_sealed() {
                    cur.push(&[])?; // the lone chunk of an empty part
                }
                if !cur.pending().is_empty() {
                    return Ok(true);
                }
            }
            if self.next_part as usize == self.sealer.header.parts().len() {
                return Ok(false);
            }
            self.current = Some(self.sealer.part_sealer(self.next_part)?);
            self.next_part += 1;
        }
    }
}

impl SealCore for SealStream {
    fn push(&mut self, input: &[u8]) -> Result<usize> {
        if !self.pending().is_empty() || input.is_empty() {
            return Ok(0);
        }
        if !self.advance()? {
            let last = self.current.as_ref().ok_or(Error::Usage("no parts"))?;
            return Err(last.too_long(input.len()));
        }
        match &mut self.current {
            Some(cur) if cur.pending().is_empty() => cur.push(input),
            _ => Ok(0),
        }
    }

    fn push_into(&mut self, input: &[u8], output: &mut [u8]) -> Result<(usize, usize)> {
        if self.pending().is_empty()
            && !input.is_empty()
            && self.advance()?
            && let Some(cur) = self.current.as_mut().filter(|c| c.pending().is_empty())
        {
            return cur.push_into(input, output);
        }
        buffered_push_into(self, input, output)
    }

    fn pending(&self) -> &[u8] {
        let header = self.sealer.header.as_bytes();
        if self.header_pos < header.len() {
            &header[self.header_pos..]
        } else {
            self.current.as_ref().map_or(&[], |c| c.pending())
        }
    }

    fn consume(&mut self, n: usize) {
        let header_len = self.sealer.header.as_bytes().len();
        if self.header_pos < header_len {
            self.header_pos += n;
        } else if let Some(c) = &mut self.current {
            c.consume(n);
        }
    }

    fn finish(&mut self) -> Result<bool> {
        if !self.pending().is_empty() {
            return Ok(false);
        }
        if let Some(cur) = &mut self.current
            && !cur.finish()?
        {
            return Ok(false);
        }
        if self.advance()? {
            // A part with pending output, or one still short of its declared length.
            return match &mut self.current {
                Some(cur) if cur.pending().is_empty() => cur.finish(),
                _ => Ok(false),
            };
        }
        Ok(true)
    }
}
