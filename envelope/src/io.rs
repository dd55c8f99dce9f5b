//! `std::io::Write` over a sans-IO sealer ([`crate::SealCore`]).

use std::io::{self, Write};

use crate::error::{Error, Result};
use crate::seal::SealCore;

/// Seals everything written to it into `inner`. Call [`SealWriter::finish`] at the end: it
/// checks that every part received its declared length and writes the last chunks.
#[derive(Debug)]
pub struct SealWriter<S, W> {
    core: S,
    inner: W,
}

impl<S: SealCore, W: Write> SealWriter<S, W> {
    /// Wraps a sealing state machine and a destination.
    pub fn new(core: S, inner: W) -> Self {
        SealWriter { core, inner }
    }

    fn drain(&mut self) -> io::Result<()> {
        let pending = self.core.pending();
        if !pending.is_empty() {
            let n = pending.len();
            self.inner.write_all(pending)?;
            self.core.consume(n);
        }
        Ok(())
    }

    /// Writes the remaining ciphertext, flushes, and returns the destination.
    pub fn finish(mut self) -> Result<W> {
        loop {
            self.drain()?;
            if self.core.finish()? {
                break;
            }
        }
        self.inner.flush()?;
        Ok(self.inner)
    }
}

impl<S: SealCore, W: Write> Write for SealWriter<S, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            self.drain()?;
            let n = self.core.push(buf).map_err(Error::into_io)?;
            if n > 0 {
                return Ok(n);
            }
            if self.core.pending().is_empty() {
                return Err(Error::Usage("sealer accepted no input and has no output").into_io());
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.drain()?;
        self.inner.flush()
    }
}
