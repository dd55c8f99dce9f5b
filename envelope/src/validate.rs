//! Keyless validation of an envelope as its bytes arrive — what the platform runs on an
//! upload stream before it holds (or needs) any key.
//!
//! It checks the prefix as soon as 14 bytes are in, bounds the header by [`Limits`] before
//! buffering it, parses it when complete, and from then on knows the exact total length: a
//! byte too many is an error at once; a byte too few is an error at [`Validator::finish`].

use crate::error::{Error, Result};
use crate::format::{Header, Limits, PREFIX_LEN};

/// Push-based structural validator.
#[derive(Debug)]
pub struct Validator {
    limits: Limits,
    /// Header bytes gathered so far (at most the bounded header length).
    buf: Vec<u8>,
    header_len: Option<usize>,
    header: Option<Header>,
    seen: u64,
}

impl Validator {
    /// A validator enforcing `limits`.
    pub fn new(limits: Limits) -> Validator {
        Validator { limits, buf: Vec::new(), header_len: None, header: None, seen: 0 }
    }

    /// Feeds the next bytes of the upload. Fails as soon as the bytes so far cannot be the
    /// start of a valid envelope.
    pub fn feed(&mut self, mut bytes: &[u8]) -> Result<()> {
        self.seen += bytes.len() as u64;
        // Gather the prefix, learn (and bound) the header length, then gather the header.
        while self.header.is_none() && !bytes.is_empty() {
            let want = self.header_len.unwrap_or(PREFIX_LEN) - self.buf.len();
            let take = want.min(bytes.len());
            self.buf.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.header_len.is_none() && self.buf.len() == PREFIX_LEN {
                let len = Header::peek_len(&self.buf, &self.limits)? as usize;
                self.buf.reserve_exact(len - PREFIX_LEN);
                self.header_len = Some(len);
            } else if Some(self.buf.len()) == self.header_len {
                self.header = Some(Header::parse(std::mem::take(&mut self.buf), &self.limits)?);
            }
        }
        if let Some(h) = &self.header {
            let total = h.layout().total_len();
            if self.seen > total {
                return Err(Error::TrailingData { extra: self.seen - total });
            }
        }
        Ok(())
    }

    /// The header, once all of it has arrived.
    pub fn header(&self) -> Option<&Header> {
        self.header.as_ref()
    }

    /// The total length the header declares, once known.
    pub fn expected_len(&self) -> Option<u64> {
        self.header.as_ref().map(|h| h.layout().total_len())
    }

    /// Bytes fed so far.
    pub fn bytes_seen(&self) -> u64 {
        self.seen
    }

    /// Declares the upload complete: fails unless exactly the declared bytes arrived.
    pub fn finish(self) -> Result<Header> {
        let expected = self.expected_len();
        match self.header {
            Some(h) if Some(self.seen) == expected => Ok(h),
            Some(h) => Err(Error::Truncated { expected: h.layout().total_len(), found: self.seen }),
            None => Err(Error::Truncated {
                expected: self.header_len.unwrap_or(PREFIX_LEN) as u64,
                found: self.seen,
            }),
        }
    }
}
