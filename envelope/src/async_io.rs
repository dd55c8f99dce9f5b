//! `tokio::io::AsyncWrite` over a sans-IO sealer ([`crate::SealCore`]) — the same state
//! machines as the blocking [`crate::SealWriter`], driven from async code.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::AsyncWrite;

use crate::error::Error;
use crate::seal::SealCore;

/// Seals everything written to it into `inner`. `shutdown()` completes the envelope: it fails
/// if a part is shorter than declared, and writes the last chunks.
#[derive(Debug)]
pub struct AsyncSealWriter<S, W> {
    core: S,
    inner: W,
}

impl<S, W> AsyncSealWriter<S, W> {
    /// Wraps a sealing state machine and a destination.
    pub fn new(core: S, inner: W) -> Self {
        AsyncSealWriter { core, inner }
    }

    /// Gives back the destination (after `shutdown()`).
    pub fn into_inner(self) -> W {
        self.inner
    }
}

impl<S: SealCore + Unpin, W: AsyncWrite + Unpin> AsyncSealWriter<S, W> {
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.core.pending().is_empty() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, self.core.pending()))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.core.consume(n);
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: SealCore + Unpin, W: AsyncWrite + Unpin> AsyncWrite for AsyncSealWriter<S, W> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        loop {
            ready!(this.poll_drain(cx))?;
            let n = this.core.push(buf).map_err(Error::into_io)?;
            if n > 0 {
                return Poll::Ready(Ok(n));
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_drain(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            ready!(this.poll_drain(cx))?;
            if this.core.finish().map_err(Error::into_io)? {
                break;
            }
        }
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}
