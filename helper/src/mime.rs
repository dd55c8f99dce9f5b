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

use std::io::BufRead;

use base64::Engine;
use mail_parser::{MessageParser, MimeHeaders};

use crate::error::{HelperError, Result};
use crate::outgoing::{AttachmentInfo, MessageDetails};

/// Longest header block (of the message or of one part).
const MAX_HEADER_BLOCK: usize = 1 << 20;
/// Longest text or HTML body.
const MAX_BODY: usize = 32 << 20;
/// Bytes handed on per piece of a line with no line break in sight.
const MAX_LINE_PIECE: usize = 64 << 10;
/// Deepest nesting of multiparts.
const MAX_DEPTH: usize = 32;

/// What [`scan`] finds.
#[derive(Clone, Debug)]
pub struct Scanned {
    /// Sender, recipients, subject, bodies.
    pub details: MessageDetails,
    /// Attachments with their decoded sizes.
    pub attachments: Vec<AttachmentInfo>,
}

/// The first pass: details, bodies and attachment sizes.
pub fn scan<R: BufRead>(input: R) -> Result<Scanned> {
    let mut v = Scanner::default();
    let top = walk(input, &mut v)?;
    let details = top_details(&top, v.text, v.html)?;
    Ok(Scanned { details, attachments: v.attachments })
}

/// The second pass: calls `sink(attachment index, bytes)` with every attachment's decoded
/// bytes, in order.
pub fn stream_attachments<R: BufRead>(
    input: R,
    sink: impl FnMut(usize, &[u8]) -> Result<()>,
) -> Result<()> {
    let mut v = Streamer { sink, index: None, next: 0 };
    walk(input, &mut v).map(drop)
}

/// What the walk reports.
trait Visitor {
    fn body(&mut self, html: bool, text: String);
    fn attachment_begin(&mut self, info: AttachmentInfo);
    fn attachment_data(&mut self, bytes: &[u8]) -> Result<()>;
}

#[derive(Default)]
struct Scanner {
    text: Option<String>,
    html: Option<String>,
    attachments: Vec<AttachmentInfo>,
}

impl Visitor for Scanner {
    fn body(&mut self, html: bool, text: String) {
        if html { self.html = Some(text) } else { self.text = Some(text) }
    }
    fn attachment_begin(&mut self, info: AttachmentInfo) {
        self.attachments.push(info);
    }
    fn attachment_data(&mut self, bytes: &[u8]) -> Result<()> {
        let last = self.attachments.last_mut().expect("data follows a begin");
        last.size += bytes.len() as u64;
        Ok(())
    }
}

struct Streamer<F> {
    sink: F,
    index: Option<usize>,
    next: usize,
}

impl<F: FnMut(usize, &[u8]) -> Result<()>> Visitor for Streamer<F> {
    fn body(&mut self, _: bool, _: String) {}
    fn attachment_begin(&mut self, _: AttachmentInfo) {
        self.index = Some(self.next);
        self.next += 1;
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

/// One line (or piece of a very long line) and the line break that ended it.
struct Line {
    content: Vec<u8>,
    eol: Vec<u8>,
    /// Whether this piece starts a line (false for the rest of an over-long line).
    starts_line: bool,
}

struct Lines<R> {
    r: R,
    at_line_start: bool,
}

impl<R: BufRead> Lines<R> {
    fn next(&mut self) -> Result<Option<Line>> {
        let starts_line = self.at_line_start;
        let mut content = Vec::new();
        loop {
            let buf = self.r.fill_buf()?;
            if buf.is_empty() {
                self.at_line_start = true;
                return Ok((!content.is_empty()).then(|| Line {
                    content,
                    eol: Vec::new(),
                    starts_line,
                }));
            }
            let room = MAX_LINE_PIECE - content.len();
            let window = &buf[..buf.len().min(room)];
            if let Some(i) = memchr(b'\n', window) {
                content.extend_from_slice(&window[..=i]);
                self.r.consume(i + 1);
                let cr = content.len() >= 2 && content[content.len() - 2] == b'\r';
                let eol = content.split_off(content.len() - if cr { 2 } else { 1 });
                self.at_line_start = true;
                return Ok(Some(Line { content, eol, starts_line }));
            }
            let n = window.len();
            content.extend_from_slice(window);
            self.r.consume(n);
            if content.len() == MAX_LINE_PIECE {
                self.at_line_start = false;
                return Ok(Some(Line { content, eol: Vec::new(), starts_line }));
            }
        }
    }

    /// The header block up to and including the blank line, or EOF.
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
}

fn memchr(needle: u8, hay: &[u8]) -> Option<usize> {
    hay.iter().position(|&b| b == needle)
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

/// Which boundary, if any, `line` is.
fn boundary_of(line: &Line, boundaries: &[String]) -> Option<End> {
    if !line.starts_line || !line.content.starts_with(b"--") {
        return None;
    }
    let rest = &line.content[2..];
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
fn walk<R: BufRead, V: Visitor>(input: R, v: &mut V) -> Result<Vec<u8>> {
    let mut lines = Lines { r: input, at_line_start: true };
    let top = lines.header_block()?;
    if !top.contains(&b':') {
        return Err(HelperError::Message("this is not a MIME message (no headers)".into()));
    }
    let mut w = Walker { lines, boundaries: Vec::new(), bodies: Bodies::default(), v };
    w.entity(&top)?;
    Ok(top)
}

struct Walker<'v, R, V> {
    lines: Lines<R>,
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

impl<R: BufRead, V: Visitor> Walker<'_, R, V> {
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
                            let part_headers = self.lines.header_block()?;
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
        while let Some(line) = self.lines.next()? {
            if let Some(end) = boundary_of(&line, &self.boundaries) {
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
            let mut raw = headers.to_vec();
            let end = self.body_lines(|bytes| {
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
        self.v.attachment_begin(AttachmentInfo { name, content_type, size: 0, content_id });
        let mut decoder = Decoder::new(encoding);
        let mut out = Vec::with_capacity(MAX_LINE_PIECE);
        let v = &mut *self.v;
        let end = {
            let mut feed = |piece: &[u8], first_of_line: bool, eol: &[u8]| -> Result<()> {
                out.clear();
                decoder.feed(piece, first_of_line, eol, &mut out)?;
                if !out.is_empty() {
                    v.attachment_data(&out)?;
                }
                Ok(())
            };
            let end = leaf_lines(&mut self.lines, &self.boundaries, &mut feed)?;
            out.clear();
            decoder.finish(&mut out)?;
            if !out.is_empty() {
                v.attachment_data(&out)?;
            }
            end
        };
        Ok(end)
    }

    /// A body's raw bytes (line breaks kept, except the one before the boundary).
    fn body_lines(&mut self, mut sink: impl FnMut(&[u8]) -> Result<()>) -> Result<End> {
        leaf_lines(&mut self.lines, &self.boundaries, &mut |piece, first, eol| {
            if first {
                sink(eol)?;
            }
            sink(piece)
        })
    }
}

/// Takes a piece of a line, whether it starts a line, and the previous line's break.
type Feed<'a> = &'a mut dyn FnMut(&[u8], bool, &[u8]) -> Result<()>;

/// Feeds a leaf body to `feed(piece, starts_line, previous line's break)` up to the next
/// boundary. The line break before a boundary belongs to the boundary, so each line's break
/// is handed over with the *next* line, and the last one is dropped.
fn leaf_lines<R: BufRead>(
    lines: &mut Lines<R>,
    boundaries: &[String],
    feed: Feed<'_>,
) -> Result<End> {
    let mut held_eol: Option<Vec<u8>> = None;
    while let Some(line) = lines.next()? {
        if let Some(end) = boundary_of(&line, boundaries) {
            return Ok(end);
        }
        match (&held_eol, line.starts_line) {
            (Some(eol), true) => feed(&line.content, true, eol)?,
            _ => feed(&line.content, false, b"")?,
        }
        if !line.eol.is_empty() || line.starts_line {
            held_eol = Some(line.eol);
        }
    }
    // At the end of the input the last line break is content (no boundary claims it).
    if let Some(eol) = held_eol.filter(|e| !e.is_empty()) {
        feed(b"", true, &eol)?;
    }
    Ok(End::Eof)
}

/// Streaming transfer decoding. base64 and quoted-printable are decoded here, line by line,
/// because the crates for them decode whole buffers only.
struct Decoder {
    encoding: Encoding,
    /// base64 characters not yet decoded (fewer than 4, or a full group awaiting more).
    carry: Vec<u8>,
    /// quoted-printable: the previous line ended in a soft break.
    soft_break: bool,
    started: bool,
}

impl Decoder {
    fn new(encoding: Encoding) -> Decoder {
        Decoder { encoding, carry: Vec::new(), soft_break: false, started: false }
    }

    fn feed(
        &mut self,
        piece: &[u8],
        starts_line: bool,
        eol: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<()> {
        match self.encoding {
            Encoding::Identity => {
                if starts_line && self.started {
                    out.extend_from_slice(eol);
                }
                out.extend_from_slice(piece);
            }
            Encoding::Base64 => {
                self.carry.extend(
                    piece
                        .iter()
                        .copied()
                        .filter(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=')),
                );
                let whole = self.carry.len() / 4 * 4;
                // Keep the last group back until the end: it may carry padding.
                let take = if whole == self.carry.len() { whole.saturating_sub(4) } else { whole };
                if take > 0 {
                    decode_base64(&self.carry[..take], out)?;
                    self.carry.drain(..take);
                }
            }
            Encoding::QuotedPrintable => {
                if starts_line && self.started && !self.soft_break {
                    out.extend_from_slice(b"\r\n");
                }
                let trimmed = piece.trim_ascii_end();
                self.soft_break = trimmed.ends_with(b"=");
                let line = if self.soft_break { &trimmed[..trimmed.len() - 1] } else { trimmed };
                decode_qp_line(line, out);
            }
        }
        self.started = true;
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<u8>) -> Result<()> {
        if self.encoding == Encoding::Base64 && !self.carry.is_empty() {
            decode_base64(&self.carry, out)?;
            self.carry.clear();
        }
        Ok(())
    }
}

fn decode_base64(chars: &[u8], out: &mut Vec<u8>) -> Result<()> {
    const LENIENT: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );
    LENIENT
        .decode_vec(chars, out)
        .map_err(|e| HelperError::Message(format!("an attachment's base64 is broken: {e}")))
}

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
        message_id: m.message_id().map(|id| format!("<{id}>")),
        date: m.date().map(|d| d.to_rfc3339()),
        headers: Vec::new(),
    })
}
