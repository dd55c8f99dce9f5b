//! Reading a MIME message (`.eml`) as a stream, for `sealpost-helper send FILE.eml`.
//!
//! mail-parser parses each header block (encoded words, RFC 2231 file names, content types)
//! and decodes the text bodies, charsets included. It needs the whole message in memory and
//! decodes attachments into memory too, so the walk over the message structure — boundaries,
//! parts, and the base64 / quoted-printable decoding of attachments — is done here, line by
//! line, with memory bounded whatever the attachments' sizes.
//!
//! The envelope declares each attachment's size before its bytes, so a file is read twice:
//! [`scan`] learns the details, bodies and attachment sizes; [`stream_attachments`] then
//! hands the decoded attachment bytes over, in the same order.

use std::io::Read;

use base64::Engine;
use mail_parser::{MessageParser, MimeHeaders};
use sealpost_envelope::ContentHash;

use crate::error::{HelperError, Result};
use crate::send::{AttachmentInfo, MessageDetails};

/// Longest header block (of the message or of one part).
const MAX_HEADER_BLOCK: usize = 1 << 20;
/// Longest text or HTML body.
const MAX_BODY: usize = 32 << 20;
/// Bytes handed on per piece of a line with no line break in sight.
const MAX_LINE_PIECE: usize = 64 << 10;
/// Deepest nesting of multiparts.
const MAX_DEPTH: usize = 32;

/// What [`scan`] finds: the attachments come with their decoded sizes and SHA-256, so the
/// envelope's manifest can be sealed before the second pass starts.
#[derive(Clone, Debug)]
pub struct Scanned {
    /// Sender, recipients, subject, bodies.
    pub details: MessageDetails,
    /// Attachments with their decoded sizes: the message's own parts (which
    /// [`stream_attachments`] hands over), then the images its HTML embedded.
    pub attachments: Vec<AttachmentInfo>,
    /// The bytes of the images the HTML embedded as `data:` URLs (now parts referred to by
    /// `cid:`, see [`crate::embedded`]), the last of `attachments`.
    pub embedded: Vec<Vec<u8>>,
}

/// The first pass: details, bodies and attachment sizes.
pub fn scan<R: Read>(input: R) -> Result<Scanned> {
    let (to_hasher, work) = std::sync::mpsc::sync_channel(HASH_QUEUE);
    let hasher = std::thread::Builder::new()
        .name("scan-hash".into())
        .spawn(move || hash_attachments(work))?;
    let mut v = Scanner { to_hasher: Some(to_hasher), ..Scanner::default() };
    let walked = walk(input, &mut v).and_then(|top| v.hand_over().map(|()| top));
    v.to_hasher = None; // the hasher's queue ends here, whatever the walk did
    let hashes = hasher.join().map_err(|_| HelperError::Message("hashing failed".into()))?;
    let top = walked?;
    let (html, images) = match v.html {
        Some(html) => {
            let (html, images) = crate::embedded::take_embedded_images(html)?;
            (Some(html), images)
        }
        None => (None, Vec::new()),
    };
    let details = top_details(&top, v.text, html)?;
    let mut attachments = v.attachments;
    for (a, h) in attachments.iter_mut().zip(hashes) {
        a.sha256 = Some(h.finish_hex());
    }
    let mut embedded = Vec::with_capacity(images.len());
    for image in images {
        let mut hash = ContentHash::new();
        hash.update(&image.bytes);
        attachments.push(AttachmentInfo {
            name: image.name,
            content_type: image.content_type,
            size: image.bytes.len() as u64,
            content_id: Some(image.content_id),
            sha256: Some(hash.finish_hex()),
        });
        embedded.push(image.bytes);
    }
    Ok(Scanned { details, attachments, embedded })
}

/// Only the top header block: sender, recipients, subject (no bodies, no attachments). Quick,
/// so that the platform can be asked for keys while [`scan`] reads the rest.
pub fn headers<R: Read>(input: R) -> Result<MessageDetails> {
    let top = Input::new(input).header_block()?;
    if !top.contains(&b':') {
        return Err(HelperError::Message("this is not a MIME message (no headers)".into()));
    }
    top_details(&top, None, None)
}

/// The second pass: calls `sink(attachment index, bytes)` with every attachment's decoded
/// bytes, in order.
pub fn stream_attachments<R: Read>(
    input: R,
    sink: impl FnMut(usize, &[u8]) -> Result<()>,
) -> Result<()> {
    let mut v = Streamer { sink, index: None, next: 0 };
    walk(input, &mut v).map(drop)
}

/// What the walk reports.
trait Visitor {
    fn body(&mut self, html: bool, text: String);
    fn attachment_begin(&mut self, info: AttachmentInfo) -> Result<()>;
    fn attachment_data(&mut self, bytes: &[u8]) -> Result<()>;
}

/// Decoded bytes handed to the hashing thread at a time.
const HASH_PIECE: usize = 1 << 20;
/// Pieces waiting for the hashing thread at most.
const HASH_QUEUE: usize = 4;

/// Work for the hashing thread: `None` starts the next attachment, bytes continue it.
type HashWork = Option<Vec<u8>>;

/// Runs on a thread of its own beside the walk that decodes, so that the first pass takes the
/// longer of decoding and SHA-256 instead of their sum (measured in `docs/PERFORMANCE.md`).
fn hash_attachments(work: std::sync::mpsc::Receiver<HashWork>) -> Vec<ContentHash> {
    let mut hashes: Vec<ContentHash> = Vec::new();
    for piece in work {
        match piece {
            None => hashes.push(ContentHash::new()),
            Some(bytes) => hashes.last_mut().expect("bytes follow a start").update(&bytes),
        }
    }
    hashes
}

#[derive(Default)]
struct Scanner {
    text: Option<String>,
    html: Option<String>,
    attachments: Vec<AttachmentInfo>,
    /// The hashing thread's queue, and the bytes gathered for its next piece.
    to_hasher: Option<std::sync::mpsc::SyncSender<HashWork>>,
    pending: Vec<u8>,
}

impl Scanner {
    fn send(&mut self, work: HashWork) -> Result<()> {
        let to = self.to_hasher.as_ref().expect("the hasher runs while the walk does");
        to.send(work).map_err(|_| HelperError::Message("hashing stopped".into()))
    }

    /// Hands the gathered bytes to the hashing thread.
    fn hand_over(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let piece = std::mem::replace(&mut self.pending, Vec::with_capacity(HASH_PIECE));
        self.send(Some(piece))
    }
}

impl Visitor for Scanner {
    fn body(&mut self, html: bool, text: String) {
        if html { self.html = Some(text) } else { self.text = Some(text) }
    }
    fn attachment_begin(&mut self, info: AttachmentInfo) -> Result<()> {
        self.attachments.push(info);
        self.hand_over()?;
        self.send(None)
    }
    fn attachment_data(&mut self, bytes: &[u8]) -> Result<()> {
        let last = self.attachments.last_mut().expect("data follows a begin");
        last.size += bytes.len() as u64;
        self.pending.extend_from_slice(bytes);
        if self.pending.len() >= HASH_PIECE { self.hand_over() } else { Ok(()) }
    }
}

struct Streamer<F> {
    sink: F,
    index: Option<usize>,
    next: usize,
}

impl<F: FnMut(usize, &[u8]) -> Result<()>> Visitor for Streamer<F> {
    fn body(&mut self, _: bool, _: String) {}
    fn attachment_begin(&mut self, _: AttachmentInfo) -> Result<()> {
        self.index = Some(self.next);
        self.next += 1;
        Ok(())
    }
    fn attachment_data(&mut self, bytes: &[u8]) -> Result<()> {
        (self.sink)(self.index.expect("data follows a begin"), bytes)
    }
}

/// Tracks which bodies have been taken, identically in both passes.
#[derive(Default)]
struct Bodies {
    text: bool,
    html: bool,
}

/// Reads the message through a buffer of its own: lines for header blocks and preambles, and
/// large slices for bodies, found with SIMD searches (`memchr`) for `\n--`, so that a body is
/// never walked line by line.
struct Input<R> {
    r: R,
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    eof: bool,
    at_line_start: bool,
}

/// One line (or piece of a very long line) and the line break that ended it.
struct Line {
    content: Vec<u8>,
    eol: Vec<u8>,
    /// Whether this piece starts a line (false for the rest of an over-long line).
    starts_line: bool,
}

/// Room for the longest boundary line looked at (RFC 2046 allows 70 characters).
const MAX_BOUNDARY_LINE: usize = 1024;
const BUFFER: usize = 256 << 10;

impl<R: Read> Input<R> {
    fn new(r: R) -> Input<R> {
        Input { r, buf: vec![0; BUFFER], pos: 0, end: 0, eof: false, at_line_start: true }
    }

    fn window(&self) -> &[u8] {
        &self.buf[self.pos..self.end]
    }

    fn consume(&mut self, n: usize) {
        if n > 0 {
            self.at_line_start = self.buf[self.pos + n - 1] == b'\n';
            self.pos += n;
        }
    }

    /// Moves what is left to the front and reads more; false at the end of the input.
    fn fill(&mut self) -> Result<bool> {
        if self.eof {
            return Ok(false);
        }
        self.buf.copy_within(self.pos..self.end, 0);
        self.end -= self.pos;
        self.pos = 0;
        loop {
            match self.r.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(true);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// The next line, or piece of an over-long line.
    fn next(&mut self) -> Result<Option<Line>> {
        let starts_line = self.at_line_start;
        loop {
            let w = self.window();
            let limit = w.len().min(MAX_LINE_PIECE);
            if let Some(i) = memchr::memchr(b'\n', &w[..limit]) {
                let cr = usize::from(i > 0 && w[i - 1] == b'\r');
                let line = Line {
                    content: w[..i - cr].to_vec(),
                    eol: w[i - cr..=i].to_vec(),
                    starts_line,
                };
                self.consume(i + 1);
                return Ok(Some(line));
            }
            if limit == MAX_LINE_PIECE || self.eof {
                if w.is_empty() {
                    return Ok(None);
                }
                let line = Line { content: w[..limit].to_vec(), eol: Vec::new(), starts_line };
                self.pos += limit;
                self.at_line_start = false;
                return Ok(Some(line));
            }
            self.fill()?;
        }
    }

    /// The header block up to and including the blank line, or the end of the input.
    fn header_block(&mut self) -> Result<Vec<u8>> {
        let mut block = Vec::new();
        while let Some(line) = self.next()? {
            let blank = line.starts_line && line.content.is_empty() && !line.eol.is_empty();
            block.extend_from_slice(&line.content);
            block.extend_from_slice(&line.eol);
            if block.len() > MAX_HEADER_BLOCK {
                return Err(HelperError::Message("a header block is over 1 MiB".into()));
            }
            if blank {
                break;
            }
        }
        Ok(block)
    }

    /// A leaf's body: hands `sink` its bytes, in large slices, up to the next boundary line.
    /// The line break before a boundary belongs to the boundary, so each slice's final line
    /// break is held back until more content follows.
    fn body(
        &mut self,
        boundaries: &[String],
        sink: &mut dyn FnMut(&[u8]) -> Result<()>,
    ) -> Result<End> {
        let mut held = Held::default();
        loop {
            if self.pos == self.end && !self.fill()? {
                held.flush(sink)?;
                return Ok(End::Eof);
            }
            let w = &self.buf[self.pos..self.end];
            let candidate = if self.at_line_start && w.starts_with(b"--") {
                Some(0)
            } else {
                memchr::memmem::find(w, b"\n--").map(|i| i + 1)
            };
            let Some(ls) = candidate else {
                // No boundary in sight; keep back a tail that could start one.
                // (A CR is kept too: it may be the first half of the break before a boundary.)
                let keep = if self.at_line_start && w.len() < 2 && b"--".starts_with(w) {
                    w.len()
                } else {
                    [&b"\r\n-"[..], b"\n-", b"\r\n", b"\n", b"\r"]
                        .iter()
                        .find(|tail| w.ends_with(tail))
                        .map_or(0, |tail| tail.len())
                };
                if keep == w.len() {
                    if !self.fill()? {
                        // The end of the input: what was kept back is content after all.
                        let rest = self.window().to_vec();
                        held.content(&rest, sink)?;
                        self.consume(rest.len());
                        held.flush(sink)?;
                        return Ok(End::Eof);
                    }
                    continue;
                }
                let n = w.len() - keep;
                held.content(&w[..n], sink)?;
                self.consume(n);
                continue;
            };
            let line_end = memchr::memchr(b'\n', &w[ls..]).map(|i| ls + i);
            if line_end.is_none() && !self.eof && w.len() - ls < MAX_BOUNDARY_LINE {
                // The candidate line is cut off by the buffer's end: read on, then look again.
                held.content(&w[..ls], sink)?;
                self.consume(ls);
                self.fill()?;
                continue;
            }
            let le = line_end.unwrap_or(w.len());
            if let Some(end) = boundary_of(&w[ls..le], boundaries) {
                held.content_then_boundary(&w[..ls], sink)?;
                self.consume((le + 1).min(w.len()));
                return Ok(end);
            }
            held.content(&w[..ls + 2], sink)?;
            self.consume(ls + 2);
        }
    }
}

/// The line break held back from the previous slice of a body.
#[derive(Default)]
struct Held {
    eol: Vec<u8>,
}

impl Held {
    /// Hands over `piece` (after the held break), holding back its own final line break.
    fn content(&mut self, piece: &[u8], sink: &mut dyn FnMut(&[u8]) -> Result<()>) -> Result<()> {
        if piece.is_empty() {
            return Ok(());
        }
        self.flush(sink)?;
        let cut = if piece.ends_with(b"\r\n") {
            2
        } else if piece.ends_with(b"\n") {
            1
        } else {
            0
        };
        let (body, eol) = piece.split_at(piece.len() - cut);
        if !body.is_empty() {
            sink(body)?;
        }
        self.eol = eol.to_vec();
        Ok(())
    }

    /// `piece` ends where a boundary line starts: its final line break is the boundary's.
    fn content_then_boundary(
        &mut self,
        piece: &[u8],
        sink: &mut dyn FnMut(&[u8]) -> Result<()>,
    ) -> Result<()> {
        if piece.is_empty() {
            self.eol.clear();
            return Ok(());
        }
        self.content(piece, sink)?;
        self.eol.clear();
        Ok(())
    }

    fn flush(&mut self, sink: &mut dyn FnMut(&[u8]) -> Result<()>) -> Result<()> {
        if !self.eol.is_empty() {
            sink(&std::mem::take(&mut self.eol))?;
        }
        Ok(())
    }
}

/// Where a part ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    /// At a delimiter of the multipart `depth` levels down the stack; `close` for `--b--`.
    Boundary {
        depth: usize,
        close: bool,
    },
    Eof,
}

/// Which boundary, if any, the line starting with `line` is (line breaks excluded).
fn boundary_of(line: &[u8], boundaries: &[String]) -> Option<End> {
    let rest = line.strip_prefix(b"--")?;
    let rest =
        &rest[..rest.len() - rest.iter().rev().take_while(|b| b.is_ascii_whitespace()).count()];
    boundaries.iter().enumerate().rev().find_map(|(depth, b)| {
        let after = rest.strip_prefix(b.as_bytes())?;
        match after {
            b"" => Some(End::Boundary { depth, close: false }),
            b"--" => Some(End::Boundary { depth, close: true }),
            _ => None,
        }
    })
}

/// Walks the whole message; returns the top header block.
fn walk<R: Read, V: Visitor>(input: R, v: &mut V) -> Result<Vec<u8>> {
    let mut input = Input::new(input);
    let top = input.header_block()?;
    if !top.contains(&b':') {
        return Err(HelperError::Message("this is not a MIME message (no headers)".into()));
    }
    let mut w = Walker { input, boundaries: Vec::new(), bodies: Bodies::default(), v };
    w.entity(&top)?;
    Ok(top)
}

struct Walker<'v, R, V> {
    input: Input<R>,
    boundaries: Vec<String>,
    bodies: Bodies,
    v: &'v mut V,
}

/// How a part's body is encoded.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Base64,
    QuotedPrintable,
    Identity,
}

impl<R: Read, V: Visitor> Walker<'_, R, V> {
    /// One entity (headers already read): a multipart's parts, or a leaf's body.
    fn entity(&mut self, headers: &[u8]) -> Result<End> {
        let parsed = MessageParser::default().parse_headers(headers);
        let ct = parsed.as_ref().and_then(|m| m.content_type());
        let is_multipart = ct.is_some_and(|c| c.ctype().eq_ignore_ascii_case("multipart"));
        let boundary = ct.and_then(|c| c.attribute("boundary")).map(str::to_string);
        match (is_multipart, boundary) {
            (true, Some(b)) if !b.is_empty() => {
                if self.boundaries.len() >= MAX_DEPTH {
                    return Err(HelperError::Message("multiparts nested too deep".into()));
                }
                self.boundaries.push(b);
                let own = self.boundaries.len() - 1;
                let mut end = self.skip_to_boundary()?;
                loop {
                    match end {
                        End::Boundary { depth, close: false } if depth == own => {
                            let part_headers = self.input.header_block()?;
                            end = self.entity(&part_headers)?;
                        }
                        End::Boundary { depth, close: true } if depth == own => {
                            self.boundaries.pop();
                            return self.skip_to_boundary();
                        }
                        // An outer boundary (this multipart was never closed) or the end.
                        other => {
                            self.boundaries.truncate(own);
                            return Ok(other);
                        }
                    }
                }
            }
            _ => self.leaf(headers, parsed.as_ref()),
        }
    }

    /// Skips a preamble or epilogue: lines up to the next boundary.
    fn skip_to_boundary(&mut self) -> Result<End> {
        while let Some(line) = self.input.next()? {
            if let Some(end) =
                line.starts_line.then(|| boundary_of(&line.content, &self.boundaries)).flatten()
            {
                return Ok(end);
            }
        }
        Ok(End::Eof)
    }

    fn leaf(&mut self, headers: &[u8], parsed: Option<&mail_parser::Message<'_>>) -> Result<End> {
        let ct = parsed.and_then(|m| m.content_type());
        let (ctype, subtype) = match ct {
            Some(c) => {
                (c.ctype().to_ascii_lowercase(), c.subtype().unwrap_or("").to_ascii_lowercase())
            }
            None => ("text".into(), "plain".into()),
        };
        let disposition_attachment = parsed
            .and_then(|m| m.content_disposition())
            .is_some_and(|d| d.ctype().eq_ignore_ascii_case("attachment"));
        let name = parsed.and_then(|m| m.attachment_name()).map(str::to_string);
        let html = subtype == "html";
        let is_body = ctype == "text"
            && (subtype == "plain" || html)
            && !disposition_attachment
            && name.is_none()
            && !(if html { self.bodies.html } else { self.bodies.text });
        let encoding = match parsed.and_then(|m| m.content_transfer_encoding()) {
            Some(e) if e.eq_ignore_ascii_case("base64") => Encoding::Base64,
            Some(e) if e.eq_ignore_ascii_case("quoted-printable") => Encoding::QuotedPrintable,
            _ => Encoding::Identity,
        };
        if is_body {
            if html {
                self.bodies.html = true
            } else {
                self.bodies.text = true
            }
            // Bodies are small: mail-parser decodes them, charsets and all.
            let mut raw = headers.to_vec();
            let end = self.input.body(&self.boundaries, &mut |bytes| {
                raw.extend_from_slice(bytes);
                if raw.len() > MAX_BODY {
                    return Err(HelperError::Message("a message body is over 32 MiB".into()));
                }
                Ok(())
            })?;
            let message = MessageParser::default().parse(&raw);
            let text =
                message.as_ref().and_then(|m| if html { m.body_html(0) } else { m.body_text(0) });
            self.v.body(html, text.map(|t| t.into_owned()).unwrap_or_default());
            return Ok(end);
        }
        let content_type =
            if subtype.is_empty() { ctype.clone() } else { format!("{ctype}/{subtype}") };
        let name = name.unwrap_or_else(|| default_name(&ctype, &subtype));
        let content_id = parsed
            .and_then(|m| m.content_id())
            .map(|c| c.trim_matches(|ch| ch == '<' || ch == '>').to_string());
        self.v.attachment_begin(AttachmentInfo {
            name,
            content_type,
            size: 0,
            content_id,
            sha256: None,
        })?;
        let mut decoder = Decoder::new(encoding);
        let v = &mut *self.v;
        let end = self.input.body(&self.boundaries, &mut |piece| {
            decoder.feed(piece, &mut |b| v.attachment_data(b))
        })?;
        decoder.finish(&mut |b| v.attachment_data(b))?;
        Ok(end)
    }
}

/// Receives decoded bytes.
type Out<'a> = &'a mut dyn FnMut(&[u8]) -> Result<()>;

/// Streaming transfer decoding of large slices. base64 and quoted-printable are decoded here
/// because the crates for them decode whole buffers only.
struct Decoder {
    encoding: Encoding,
    /// base64: characters not yet decoded; quoted-printable: an unfinished line.
    carry: Vec<u8>,
    out: Vec<u8>,
    /// quoted-printable: whether a decoded line came before (a hard line break is owed).
    started: bool,
    /// quoted-printable: the previous line ended in a soft break.
    soft_break: bool,
}

/// base64 characters decoded per batch.
const BASE64_BATCH: usize = 64 << 10;

impl Decoder {
    fn new(encoding: Encoding) -> Decoder {
        Decoder { encoding, carry: Vec::new(), out: Vec::new(), started: false, soft_break: false }
    }

    fn feed(&mut self, piece: &[u8], out: Out<'_>) -> Result<()> {
        match self.encoding {
            Encoding::Identity => out(piece),
            Encoding::Base64 => {
                // Line breaks out, the rest batched; the last group waits (it may be padded).
                let mut from = 0;
                for nl in memchr::memchr_iter(b'\n', piece).chain([piece.len()]) {
                    let segment = &piece[from..nl];
                    self.carry.extend_from_slice(segment.strip_suffix(b"\r").unwrap_or(segment));
                    from = nl + 1;
                }
                if self.carry.len() >= BASE64_BATCH {
                    let take = (self.carry.len() - 4) / 4 * 4;
                    self.decode_base64(take, out)?;
                }
                Ok(())
            }
            Encoding::QuotedPrintable => {
                self.carry.extend_from_slice(piece);
                let Some(last) = memchr::memrchr(b'\n', &self.carry) else { return Ok(()) };
                let lines = self.carry.drain(..=last).collect::<Vec<u8>>();
                for line in lines[..lines.len() - 1].split(|&b| b == b'\n') {
                    self.qp_line(line, out)?;
                }
                Ok(())
            }
        }
    }

    fn finish(&mut self, out: Out<'_>) -> Result<()> {
        match self.encoding {
            Encoding::Identity => Ok(()),
            Encoding::Base64 => self.decode_base64(self.carry.len(), out),
            Encoding::QuotedPrintable => {
                let rest = std::mem::take(&mut self.carry);
                if !rest.is_empty() {
                    self.qp_line(&rest, out)?;
                }
                Ok(())
            }
        }
    }

    /// Decodes the first `n` carried characters. Characters outside the alphabet are skipped,
    /// as mail readers do (checked only when the fast path fails).
    fn decode_base64(&mut self, n: usize, out: Out<'_>) -> Result<()> {
        self.out.clear();
        // SIMD decoding for well-formed input; the lenient path below for anything else.
        if base64_simd::STANDARD.decode_append(&self.carry[..n], &mut self.out).is_err() {
            let clean: Vec<u8> = self.carry[..n]
                .iter()
                .copied()
                .filter(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/'))
                .collect();
            let mut rest = Vec::new();
            let whole = if n == self.carry.len() { clean.len() } else { clean.len() / 4 * 4 };
            rest.extend_from_slice(&clean[whole..]);
            self.out.clear();
            LENIENT_BASE64.decode_vec(&clean[..whole], &mut self.out).map_err(|e| {
                HelperError::Message(format!("an attachment's base64 is broken: {e}"))
            })?;
            self.carry.drain(..n);
            self.carry.splice(0..0, rest);
        } else {
            self.carry.drain(..n);
        }
        if !self.out.is_empty() {
            out(&self.out)?;
        }
        Ok(())
    }

    fn qp_line(&mut self, line: &[u8], out: Out<'_>) -> Result<()> {
        self.out.clear();
        if self.started && !self.soft_break {
            self.out.extend_from_slice(b"\r\n");
        }
        let trimmed = line.trim_ascii_end();
        self.soft_break = trimmed.ends_with(b"=");
        let content = if self.soft_break { &trimmed[..trimmed.len() - 1] } else { trimmed };
        decode_qp_line(content, &mut self.out);
        self.started = true;
        out(&self.out)
    }
}

const LENIENT_BASE64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

fn decode_qp_line(line: &[u8], out: &mut Vec<u8>) {
    let hex = |b: Option<&u8>| b.and_then(|&b| (b as char).to_digit(16)).map(|d| d as u8);
    let mut i = 0;
    while i < line.len() {
        if line[i] == b'='
            && let (Some(h), Some(l)) = (hex(line.get(i + 1)), hex(line.get(i + 2)))
        {
            out.push(h << 4 | l);
            i += 3;
            continue;
        }
        out.push(line[i]);
        i += 1;
    }
}

fn default_name(ctype: &str, subtype: &str) -> String {
    match (ctype, subtype) {
        ("message", "rfc822") => "message.eml".into(),
        ("text", "plain") => "text.txt".into(),
        ("text", "html") => "page.html".into(),
        _ => "attachment".into(),
    }
}

/// The sender, recipients, subject, date and Message-ID from the top header block.
fn top_details(
    headers: &[u8],
    text: Option<String>,
    html: Option<String>,
) -> Result<MessageDetails> {
    let m = MessageParser::default()
        .parse_headers(headers)
        .ok_or_else(|| HelperError::Message("the message headers cannot be read".into()))?;
    let list = |a: Option<&mail_parser::Address<'_>>| -> Vec<String> {
        a.map(|a| a.iter().filter_map(|x| x.address().map(str::to_string)).collect())
            .unwrap_or_default()
    };
    let from = list(m.from())
        .into_iter()
        .next()
        .ok_or_else(|| HelperError::Message("the message has no From address".into()))?;
    Ok(MessageDetails {
        from,
        to: list(m.to()),
        cc: list(m.cc()),
        bcc: list(m.bcc()),
        subject: m.subject().unwrap_or_default().to_string(),
        text,
        html,
        internet_message_id: m.message_id().map(|id| format!("<{id}>")),
        date: m.date().map(|d| d.to_rfc3339()),
        headers: Vec::new(),
    })
}
