//! The native-messaging host: Thunderbird starts the helper with `connectNative` and talks to
//! it over stdin/stdout for as long as the port is open.
//!
//! - A reader thread cuts stdin into frames (capped, see [`crate::framing`]); a frame over the
//!   cap is skipped without being held in memory and answered with an error.
//! - A writer thread owns stdout: only protocol frames are ever written there (logs go to the
//!   log file).
//! - Requests are handled in order on the async runtime; an upload (`send_end`) runs as its
//!   own task so that `cancel`, `status` and other requests are answered meanwhile.
//! - Attachment bytes arrive either as base64 in `send_piece` requests or raw over loopback
//!   HTTP ([`crate::loopback`], much faster through Thunderbird); both are sealed here, by the
//!   same code, in the order they come.
//!
//! Bad input of any kind gets an error reply; the host only stops when stdin ends.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

use sealpost_envelope::MessageId;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::error::{HelperError, Result};
use crate::framing::{FrameError, read_frame, write_frame};
use crate::loopback::{Loopback, ToHost};
use crate::protocol::{self, RawRequest, need, reply};
use crate::send::{Phase, StreamedSend, UnlockCode};
use crate::sign_in::Context;

/// What the host reads: a frame from stdin (or, for the bridge, an HTTP request's body).
pub(crate) enum Inbound {
    Frame(Vec<u8>),
    /// A frame over the cap was skipped.
    TooLarge {
        len: u32,
        max: u32,
    },
}

/// Outbound frames: replies and progress, in the order they are made.
#[derive(Clone)]
pub(crate) struct Out(pub(crate) mpsc::UnboundedSender<Value>);

impl Out {
    fn send(&self, v: Value) {
        // The writer thread ends only when stdout is gone, and then nobody is listening.
        let _ = self.0.send(v);
    }
}

/// Serves one mail-client connection until `input` ends.
pub async fn serve<R, W>(ctx: Context, input: R, output: W) -> Result<()>
where
    R: Read + Send + 'static,
    W: Write + Send + 'static,
{
    let max = ctx.settings.max_frame_bytes;
    let (in_tx, in_rx) = mpsc::channel::<Inbound>(4);
    std::thread::spawn(move || read_frames(input, max, in_tx));
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<Value>();
    let writer = std::thread::spawn(move || {
        let mut output = output;
        while let Some(v) = out_rx.blocking_recv() {
            let bytes = serde_json::to_vec(&v).expect("JSON values serialise");
            if let Err(e) = write_frame(&mut output, &bytes) {
                tracing::error!(error = %e, "cannot write to the mail client");
                break;
            }
        }
    });
    run(ctx, in_rx, Out(out_tx)).await;
    let _ = tokio::task::spawn_blocking(move || writer.join()).await;
    Ok(())
}

/// Answers what arrives on `inbound` on `out` until `inbound` ends, then cancels whatever is
/// still running. Native messaging ([`serve`]) and the Outlook bridge (`crate::bridge`) both
/// run their requests through here, so each request means the same on either path.
pub(crate) async fn run(ctx: Context, mut in_rx: mpsc::Receiver<Inbound>, out: Out) {
    let (piece_tx, mut piece_rx) = mpsc::channel::<ToHost>(2);
    let mut host = Host {
        ctx,
        out: out.clone(),
        sends: HashMap::new(),
        scratch: Vec::new(),
        loopback: None,
        pieces: piece_tx,
    };
    loop {
        let inbound = tokio::select! {
            inbound = in_rx.recv() => match inbound {
                Some(inbound) => inbound,
                None => break,
            },
            Some(from_loopback) = piece_rx.recv() => {
                match from_loopback {
                    ToHost::Piece(piece) => {
                        let written = host.write_piece(&piece.send, piece.attachment, &piece.bytes);
                        let _ = piece.done.send(written);
                    }
                    ToHost::Broken { send } => {
                        host.forget(&send);
                    }
                }
                continue;
            }
        };
        match inbound {
            Inbound::Frame(frame) => host.handle(&frame).await,
            Inbound::TooLarge { len, max } => out.send(protocol::error_reply(
                &None,
                None,
                &HelperError::BadRequest(format!(
                    "frame of {len} bytes is over the limit of {max} bytes; it was skipped"
                )),
            )),
        }
    }
    // The input ended: cancel whatever is still running and let the writer drain.
    for s in host.sends.values() {
        s.cancel();
    }
}

fn read_frames<R: Read>(mut input: R, max: u32, tx: mpsc::Sender<Inbound>) {
    loop {
        let inbound = match read_frame(&mut input, max) {
            Ok(Some(frame)) => Inbound::Frame(frame),
            Ok(None) => return,
            Err(FrameError::TooLarge { len, max }) => {
                // Skip the body without holding it, then carry on with the next frame.
                let skipped =
                    std::io::copy(&mut (&mut input).take(len as u64), &mut std::io::sink());
                if !matches!(skipped, Ok(n) if n == len as u64) {
                    return;
                }
                Inbound::TooLarge { len, max }
            }
            Err(e) => {
                tracing::warn!(error = %e, "mail client input ended");
                return;
            }
        };
        if tx.blocking_send(inbound).is_err() {
            return;
        }
    }
}

struct Host {
    ctx: Context,
    out: Out,
    sends: HashMap<String, StreamedSend>,
    /// Reused buffer for decoded pieces.
    scratch: Vec<u8>,
    /// Opened at the first `send_begin`; `None` until then, or if it could not be opened.
    loopback: Option<Loopback>,
    /// Where the loopback listener hands its pieces.
    pieces: mpsc::Sender<ToHost>,
}

impl Host {
    /// Seals bytes of attachment `index` of `send`; a broken stream cannot be repaired, so an
    /// error drops the send and nothing of it leaves.
    fn write_piece(&mut self, send: &str, index: usize, bytes: &[u8]) -> Result<u64> {
        let sending = self.sends.get_mut(send).ok_or_else(|| unknown_send(send))?;
        let written = sending.write(index, bytes);
        if written.is_err() {
            self.forget(send);
        }
        written
    }

    /// The send is over for this host: no more requests or loopback bytes for it, and
    /// whatever of it still runs (an upload after `send_end`) stops.
    fn forget(&mut self, send: &str) -> Option<StreamedSend> {
        if let Some(loopback) = &self.loopback {
            loopback.close(send);
        }
        let sending = self.sends.remove(send);
        if let Some(s) = &sending {
            s.cancel();
        }
        sending
    }

    /// Where `send` takes its attachments over loopback, opening the listener the first time;
    /// `None` (pieces over native messaging only) if it cannot be opened.
    async fn admit(&mut self, send: &str) -> Option<Value> {
        if self.loopback.is_none() {
            match Loopback::start(self.pieces.clone()).await {
                Ok(l) => self.loopback = Some(l),
                Err(e) => {
                    tracing::warn!(error = %e, "no loopback listener; attachments come as pieces");
                    return None;
                }
            }
        }
        self.loopback
            .as_ref()?
            .admit(send)
            .inspect_err(|e| tracing::warn!(error = %e, "no loopback token"))
            .ok()
    }

    async fn handle(&mut self, frame: &[u8]) {
        let request = match protocol::parse(frame) {
            Ok(r) => r,
            Err((id, e)) => return self.out.send(protocol::error_reply(&id, None, &e)),
        };
        let id = request.id.clone();
        let kind = request.kind.to_string();
        match self.dispatch(request).await {
            Ok(Some(fields)) => self.out.send(reply(&id, &kind, fields)),
            Ok(None) => {} // answered later by a task
            Err(e) => {
                tracing::info!(request = %kind, code = e.code(), "request failed");
                self.out.send(protocol::error_reply(&id, Some(&kind), &e));
            }
        }
    }

    async fn dispatch(&mut self, r: RawRequest<'_>) -> Result<Option<Value>> {
        let kind = r.kind;
        match kind {
            "hello" => {
                let status = self.ctx.status(false).await?;
                Ok(Some(json!({
                    "version": env!("CARGO_PKG_VERSION"),
                    "protocol": protocol::PROTOCOL_VERSION,
                    "signed_in": status.signed_in,
                    "platform": status.platform,
                    "email": status.email,
                    "max_piece_bytes": protocol::MAX_PIECE_BYTES,
                })))
            }
            "status" => Ok(Some(
                serde_json::to_value(self.ctx.status(r.check).await?).expect("serialisable"),
            )),
            "sign_in" => {
                let email = need(r.email, kind, "email")?;
                let password = need(r.password, kind, "password")?;
                let device = r.device.unwrap_or_else(|| "Thunderbird".into());
                let e = self
                    .ctx
                    .sign_in(r.platform.as_deref(), &email, &password, r.totp.as_deref(), &device)
                    .await?;
                Ok(Some(json!({
                    "platform": e.platform, "email": e.email,
                    "platform_key_id": e.platform_key.key_id, "own_key_id": e.own_key_id,
                })))
            }
            "sign_out" => Ok(Some(json!({ "revoked": self.ctx.sign_out().await? }))),
            "classify" => {
                let candidate = need(r.candidate, kind, "candidate")?;
                let client = match self.ctx.connect().await {
                    Ok((_, c)) => Some(c),
                    Err(HelperError::NotSignedIn) => None,
                    Err(e) => return Err(e),
                };
                let policy = self.ctx.policy(client.as_ref()).await;
                let decision = sealpost_policy::classify(&policy, &candidate, r.toggle);
                Ok(Some(serde_json::to_value(decision).expect("serialisable")))
            }
            "send_begin" => {
                let message = need(r.message, kind, "message")?;
                let attachments = r.attachments.unwrap_or_default();
                let unlock_code =
                    r.unlock_code.as_deref().map(|c| UnlockCode::new(c)).transpose()?;
                let sending =
                    StreamedSend::begin(&self.ctx, message, attachments, unlock_code).await?;
                let send = sending.id().to_string();
                let envelope_size = sending.envelope_size();
                self.sends.insert(send.clone(), sending);
                let upload = self.admit(&send).await;
                Ok(Some(json!({
                    "send": send, "message_id": send, "envelope_size": envelope_size,
                    "upload": upload,
                })))
            }
            "send_piece" => {
                let send = need(r.send, kind, "send")?;
                let index = need(r.attachment, kind, "attachment")?;
                let data = need(r.data, kind, "data")?;
                let mut scratch = std::mem::take(&mut self.scratch);
                scratch.clear();
                let decoded = base64_simd::STANDARD
                    .decode_append(data.as_bytes(), &mut scratch)
                    .map_err(|e| HelperError::BadRequest(format!("piece data is not base64: {e}")));
                let written = decoded
                    .and_then(|()| match scratch.len() > protocol::MAX_PIECE_BYTES {
                        true => Err(HelperError::BadRequest("piece over max_piece_bytes".into())),
                        false => self.write_piece(&send, index, &scratch),
                    })
                    .inspect_err(|_| {
                        // A broken stream cannot be repaired: drop the send, nothing leaves.
                        self.forget(&send);
                    });
                self.scratch = scratch;
                let received = written?;
                Ok(Some(json!({ "send": send, "received": received })))
            }
            "send_end" => {
                let send = need(r.send, kind, "send")?;
                let sending = self.sends.get_mut(&send).ok_or_else(|| unknown_send(&send))?;
                let delivery = sending.end()?;
                if let Some(loopback) = &self.loopback {
                    loopback.close(&send);
                }
                let out = self.out.clone();
                let id = r.id.clone();
                tokio::spawn(async move {
                    // Upload progress at most five times a second, and always its end.
                    let last = std::sync::Mutex::new(Instant::now() - Duration::from_secs(1));
                    let report = |phase: Phase, done: u64, total: u64| {
                        let mut last = last.lock().expect("not poisoned");
                        if phase == Phase::Sealing
                            || done == total
                            || last.elapsed() >= Duration::from_millis(200)
                        {
                            *last = Instant::now();
                            out.send(protocol::progress(&id, phase.as_str(), done, total));
                        }
                    };
                    let result = delivery.run(&report).await;
                    out.send(match result {
                        Ok(f) => reply(
                            &id,
                            "send_end",
                            json!({
                                "message_id": f.id,
                                "link": f.link,
                                "stub": f.stub,
                                "notified_by_platform": f.notified_by_platform,
                            }),
                        ),
                        Err(e) => {
                            tracing::info!(code = e.code(), "send failed; nothing was sent");
                            protocol::error_reply(&id, Some("send_end"), &e)
                        }
                    });
                });
                Ok(None)
            }
            "cancel" => {
                let send = need(r.send, kind, "send")?;
                // Forgetting a send cancels whatever of it still runs.
                let cancelled = self.forget(&send).is_some();
                Ok(Some(json!({ "send": send, "cancelled": cancelled })))
            }
            "mark_sent" => {
                let id = message_id_of(r.message_id, kind)?;
                crate::send::mark_sent(&self.ctx, id).await?;
                self.forget(&id.to_string());
                Ok(Some(json!({ "message_id": id.to_string() })))
            }
            "recall" => {
                let id = message_id_of(r.message_id, kind)?;
                crate::send::recall(&self.ctx, id).await?;
                Ok(Some(json!({ "message_id": id.to_string(), "recalled": true })))
            }
            other => Err(HelperError::BadRequest(format!("unknown request type `{other}`"))),
        }
    }
}

/// The request's `message_id`, a Sealpost message id.
fn message_id_of(field: Option<String>, kind: &str) -> Result<MessageId> {
    need(field, kind, "message_id")?
        .parse()
        .map_err(|_| HelperError::BadRequest("message_id is not a UUID".into()))
}

fn unknown_send(send: &str) -> HelperError {
    HelperError::BadRequest(format!(
        "no send {send} in progress (cancelled, failed or never begun)"
    ))
}
