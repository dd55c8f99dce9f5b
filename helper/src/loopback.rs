//! Attachment bytes from the mail client over loopback HTTP.
//!
//! Native messaging carries JSON only: an attachment sent in `send_piece` requests travels as
//! base64 inside JSON through Thunderbird's pipe to the helper, and that pipe is the narrow
//! part — measured at ~29 MB/s of base64 (a 200 MiB attachment: 9.7 s of its 10.4 s secure
//! send; the helper's decode and seal took 0.43 s of it, see `docs/PERFORMANCE.md`). So the
//! host also listens on `127.0.0.1` (an ephemeral port, opened at the first `send_begin`) and
//! `send_begin` answers with where to `PUT` each attachment: the extension hands the `File`
//! to the browser's network stack, which streams it from disk, raw.
//!
//! - `PUT /sends/{send}/attachments/{index}` with `Authorization: Bearer <token>`: the token is
//!   32 random bytes, one per send, learnt only over native messaging, compared in constant
//!   time; a request with a web page's `Origin` is refused outright.
//! - The body is cut into pieces of at most [`PIECE_BYTES`] and handed to the host loop as
//!   [`Piece`]s, the same way in as a decoded `send_piece`: the host owns the sends, so
//!   ordering, sizes and a broken stream are judged in one place.
//! - Bounded in time as well as size: a body that stays silent for [`SILENCE`] is cut off
//!   (and the send is dropped, as for any broken stream); more bytes than the attachment was
//!   announced with are refused by the sealer; at most 8 connections are open at once, each
//!   closed once silent for [`SILENCE`] while the server waits to read; one `PUT` per send
//!   at a time.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use aws_lc_rs::constant_time::verify_slices_are_equal;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::put;
use base64::Engine;
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};

use crate::error::{HelperError, Result};

/// The most bytes handed to the sealer at once.
pub const PIECE_BYTES: usize = 1 << 20;

/// How long a request body may stay silent before it is cut off.
pub const SILENCE: Duration = Duration::from_secs(60);

/// Bytes of attachment `attachment` of send `send`, for the host loop to seal; it answers on
/// `done` with how many bytes of that attachment have arrived, or why the send broke.
#[derive(Debug)]
pub struct Piece {
    /// The send's id.
    pub send: String,
    /// Which attachment (from 0, as announced in `send_begin`).
    pub attachment: usize,
    /// The next bytes of it.
    pub bytes: Vec<u8>,
    /// The host's answer.
    pub done: oneshot::Sender<Result<u64>>,
}

/// The listener and the sends it accepts bytes for.
#[derive(Clone, Debug)]
pub struct Loopback {
    address: SocketAddr,
    tokens: Arc<Mutex<HashMap<String, String>>>,
}

#[derive(Clone)]
struct Shared {
    tokens: Arc<Mutex<HashMap<String, String>>>,
    /// Sends with a `PUT` running: one at a time each.
    busy: Arc<Mutex<HashSet<String>>>,
    pieces: mpsc::Sender<ToHost>,
}

/// What the listener tells the host loop.
#[derive(Debug)]
pub enum ToHost {
    /// Bytes to seal.
    Piece(Piece),
    /// A body broke off, went silent or did not fit: the send cannot be repaired and must go.
    Broken {
        /// The send's id.
        send: String,
    },
}

/// At most this many connections at once (a `PUT` per send is all the extension makes).
const MAX_CONNECTIONS: usize = 8;

/// The listener with its bounds: at most [`MAX_CONNECTIONS`] open (more wait in the kernel's
/// queue), each closed once it has sent nothing for [`SILENCE`] while the server waits to read
/// (a client that opens connections and says nothing cannot keep them).
struct Bounded {
    listener: tokio::net::TcpListener,
    slots: Arc<Semaphore>,
}

impl axum::serve::Listener for Bounded {
    type Io = Guarded;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Guarded, SocketAddr) {
        let permit =
            self.slots.clone().acquire_owned().await.expect("the semaphore is never closed");
        let (io, address) = axum::serve::Listener::accept(&mut self.listener).await;
        (Guarded { io, _permit: permit, silence: Box::pin(tokio::time::sleep(SILENCE)) }, address)
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }
}

/// A connection holding its slot, with a deadline on silence.
struct Guarded {
    io: tokio::net::TcpStream,
    _permit: OwnedSemaphorePermit,
    silence: Pin<Box<tokio::time::Sleep>>,
}

impl AsyncRead for Guarded {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match Pin::new(&mut self.io).poll_read(cx, buf) {
            Poll::Ready(r) => {
                let deadline = tokio::time::Instant::now() + SILENCE;
                self.silence.as_mut().reset(deadline);
                Poll::Ready(r)
            }
            Poll::Pending => match self.silence.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Err(std::io::ErrorKind::TimedOut.into())),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

impl AsyncWrite for Guarded {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

impl Loopback {
    /// Listens on an ephemeral port of 127.0.0.1; pieces go to `pieces`.
    pub async fn start(pieces: mpsc::Sender<ToHost>) -> Result<Loopback> {
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let address = listener.local_addr()?;
        let listener = Bounded { listener, slots: Arc::new(Semaphore::new(MAX_CONNECTIONS)) };
        let tokens = Arc::new(Mutex::new(HashMap::new()));
        let app = Router::new()
            .route("/sends/{send}/attachments/{index}", put(receive))
            .with_state(Shared { tokens: tokens.clone(), busy: Default::default(), pieces });
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::warn!(error = %e, "the loopback listener stopped");
            }
        });
        tracing::info!(%address, "listening for attachment bytes on loopback");
        Ok(Loopback { address, tokens })
    }

    /// Opens send `send` to bytes over loopback: what `send_begin` tells the mail client
    /// (`url` ends with `/`, followed by the attachment's index; `token` for the
    /// `Authorization` header).
    pub fn admit(&self, send: &str) -> Result<Value> {
        let mut secret = [0u8; 32];
        aws_lc_rs::rand::fill(&mut secret)
            .map_err(|_| HelperError::Config("no randomness for a loopback token".into()))?;
        let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret);
        self.tokens.lock().expect("not poisoned").insert(send.to_string(), token.clone());
        Ok(json!({
            "url": format!("http://{}/sends/{send}/attachments/", self.address),
            "token": token,
        }))
    }

    /// Closes send `send` to bytes over loopback (ended, cancelled or broken).
    pub fn close(&self, send: &str) {
        self.tokens.lock().expect("not poisoned").remove(send);
    }
}

async fn receive(
    State(shared): State<Shared>,
    Path((send, index)): Path<(String, usize)>,
    headers: HeaderMap,
    body: Body,
) -> (StatusCode, String) {
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok())
        && (origin.starts_with("http:") || origin.starts_with("https:") || origin == "null")
    {
        return (StatusCode::FORBIDDEN, "not for web pages".into());
    }
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let expected = shared.tokens.lock().expect("not poisoned").get(&send).cloned();
    let admitted =
        expected.is_some_and(|t| verify_slices_are_equal(t.as_bytes(), given.as_bytes()).is_ok());
    if !admitted {
        return (StatusCode::FORBIDDEN, "no such send, or not its token".into());
    }
    let Some(_running) = Running::start(&shared.busy, &send) else {
        return (StatusCode::CONFLICT, "this send already has an attachment arriving".into());
    };
    match stream(&shared, &send, index, body).await {
        Ok(received) => (StatusCode::OK, json!({ "received": received }).to_string()),
        Err(e) => {
            // A broken stream cannot be repaired: the send goes, here and in the host.
            shared.tokens.lock().expect("not poisoned").remove(&send);
            let _ = shared.pieces.send(ToHost::Broken { send: send.clone() }).await;
            (
                StatusCode::BAD_REQUEST,
                json!({ "code": e.code(), "message": e.to_string() }).to_string(),
            )
        }
    }
}

/// A `PUT` running for a send, until dropped.
struct Running<'a> {
    busy: &'a Mutex<HashSet<String>>,
    send: String,
}

impl<'a> Running<'a> {
    fn start(busy: &'a Mutex<HashSet<String>>, send: &str) -> Option<Running<'a>> {
        let first = busy.lock().expect("not poisoned").insert(send.to_string());
        first.then(|| Running { busy, send: send.to_string() })
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.busy.lock().expect("not poisoned").remove(&self.send);
    }
}

/// Streams the body into the host loop in pieces; how many bytes of the attachment arrived.
async fn stream(shared: &Shared, send: &str, index: usize, body: Body) -> Result<u64> {
    let mut chunks = body.into_data_stream();
    let mut buffer = Vec::with_capacity(PIECE_BYTES);
    let mut received = 0;
    loop {
        let chunk = tokio::time::timeout(SILENCE, chunks.next()).await.map_err(|_| {
            HelperError::BadRequest("the attachment's bytes stopped arriving".into())
        })?;
        let last = match chunk {
            Some(Ok(bytes)) => {
                buffer.extend_from_slice(&bytes);
                false
            }
            Some(Err(e)) => {
                return Err(HelperError::BadRequest(format!(
                    "the attachment's bytes broke off: {e}"
                )));
            }
            None => true,
        };
        while buffer.len() >= PIECE_BYTES || (last && !buffer.is_empty()) {
            let rest = buffer.split_off(buffer.len().min(PIECE_BYTES));
            let bytes = std::mem::replace(&mut buffer, rest);
            received = hand_over(shared, send, index, bytes).await?;
        }
        if last {
            return Ok(received);
        }
    }
}

async fn hand_over(shared: &Shared, send: &str, attachment: usize, bytes: Vec<u8>) -> Result<u64> {
    let (done, answer) = oneshot::channel();
    let piece = Piece { send: send.to_string(), attachment, bytes, done };
    let gone = || HelperError::BadRequest("the helper is shutting down".into());
    shared.pieces.send(ToHost::Piece(piece)).await.map_err(|_| gone())?;
    answer.await.map_err(|_| gone())?
}
