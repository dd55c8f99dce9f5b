//! Bounds on what one client can hold open: connections per peer address, and the time a
//! stalled request body may sit silent. (The TLS handshake and request-header deadlines are
//! axum-server's and hyper's own; `startup::serve` sets them from the settings.)
//!
//! The per-address cap counts TCP peers, before TLS, so refused connections cost no handshake;
//! behind a load balancer every client shares its address, so size the cap for it there. The
//! count is this node's, on purpose: it protects this node's sockets and memory, which is
//! what a connection costs; limits that must hold across nodes (sign-in attempts, lockouts)
//! live in the database.

use std::collections::HashMap;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use axum_server::accept::Accept;
use futures_util::StreamExt;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// Accepts TCP connections up to `per_ip` at a time from one peer address (more are closed at
/// once), with `TCP_NODELAY` set.
#[derive(Clone, Debug)]
pub struct LimitAcceptor {
    per_ip: usize,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl LimitAcceptor {
    /// At most `per_ip` connections from one address.
    pub fn new(per_ip: usize) -> LimitAcceptor {
        LimitAcceptor { per_ip, open: Arc::default() }
    }
}

impl<S: Send + 'static> Accept<TcpStream, S> for LimitAcceptor {
    type Stream = Counted;
    type Service = S;
    type Future = std::future::Ready<std::io::Result<(Counted, S)>>;

    fn accept(&self, stream: TcpStream, service: S) -> Self::Future {
        std::future::ready((|| {
            let ip = stream.peer_addr()?.ip();
            {
                let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
                let n = open.entry(ip).or_insert(0);
                if *n >= self.per_ip {
                    metrics::counter!("sealpost_connections_refused_total").increment(1);
                    // Dropping the stream closes it.
                    return Err(std::io::Error::other(format!(
                        "{ip} already has {} connections open",
                        self.per_ip
                    )));
                }
                *n += 1;
            }
            // Without it, Nagle's algorithm holds a response's last small write until the
            // client acknowledges the previous one: ~40 ms per request with delayed ACKs.
            stream.set_nodelay(true)?;
            Ok((Counted { stream, ip, open: self.open.clone() }, service))
        })())
    }
}

/// A TCP connection counted against its peer's cap until it is dropped.
#[derive(Debug)]
pub struct Counted {
    stream: TcpStream,
    ip: IpAddr,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl Drop for Counted {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = open.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// A request body that goes `idle` without a byte ends with an error: the handler reading it
/// fails (an upload's half-written segment is removed) instead of waiting for ever. A body
/// that keeps moving, however slowly, is never cut.
pub async fn body_idle_timeout(idle: Duration, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let stream = futures_util::stream::unfold(body.into_data_stream(), move |mut s| async move {
        match tokio::time::timeout(idle, s.next()).await {
            Ok(Some(item)) => Some((item.map_err(axum::BoxError::from), s)),
            Ok(None) => None,
            Err(_) => {
                let stalled = format!("no bytes arrived for {} s", idle.as_secs());
                Some((Err(axum::BoxError::from(stalled)), s))
            }
        }
    });
    // After a stall the stream ends: the error is the body's last word.
    let mut failed = false;
    let stream = stream.take_while(move |item| {
        let go = !failed;
        failed |= item.is_err();
        std::future::ready(go)
    });
    next.run(Request::from_parts(parts, Body::from_stream(stream))).await
}
