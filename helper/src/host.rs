//! The native-messaging host: Thunderbird starts the helper with `connectNative` and talks to
//! it over stdin/stdout for as long as the port is open.
//!
//! - A reader thread cuts stdin into frames (capped, see [`crate::framing`]); a frame over the
//!   cap is skipped without being held in memory and answered with an error.
//! - A writer thread owns stdout: only protocol frames are ever written there (logs go to the
//!   log file).
//! - Requests are handled in order on the async runtime; an upload (`send_end`) runs as its
//!   own task so that `cancel`, `status` and other requests are answered meanwhile.
//!
//! Bad input of any kind gets an error reply; the host only stops when stdin ends.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::sync::Arc;
use std::time::Duration;

use sealpost_envelope::MessageId;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::enrolment::Context;
use crate::error::{HelperError, Result};
use crate::framing::{FrameError, read_frame, write_frame};
use crate::outgoing::{Composer, SpoolPlace};
use crate::protocol::{self, RawRequest, RequestId, need, reply};
use crate::send::{Prepared, UnlockCode, deliver, prepare};

/// What the reader thread hands over.
enum Inbound {
    Frame(Vec<u8>),
    /// A frame over the cap was skipped.
    TooLarge {
        len: u32,
        max: u32,
    },
}

/// A send between `send_begin` and its end.
struct Sending {
    composer: Option<Composer>,
    prepared: Arc<Prepared>,
    unlock_code: Option<UnlockCode>,
    cancel: CancellationToken,
}

/// Outbound frames.
#[derive(Clone)]
struct Out(mpsc::UnboundedSender<Value>);

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
    let (in_tx, mut in_rx) = mpsc::channel::<Inbound>(4);
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
    let out = Out(out_tx);
    let mut host = Host { ctx, out: out.clone(), sends: HashMap::new(), scratch: Vec::new() };
    while let Some(inbound) = in_rx.recv().await {
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
    // stdin closed: cancel whatever is still running and let the writer drain.
    for s in host.sends.values() {
        s.cancel.cancel();
    }
    drop(host);
    drop(out);
    let _ = tokio::task::spawn_blocking(move || writer.join()).await;
    Ok(())
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
    sends: HashMap<String, Sending>,
    /// Reused buffer for decoded chunks.
    scratch: Vec<u8>,
}

impl Host {
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
                    "enrolled": status.enrolled,
                    "platform": status.platform,
                    "email": status.email,
                    "max_chunk_bytes": protocol::MAX_CHUNK_BYTES,
                })))
            }
            "status" => Ok(Some(
                serde_json::to_value(self.ctx.status(r.check).await?).expect("serialisable"),
            )),
            "login" => {
                let email = need(r.email, kind, "email")?;
                let password = need(r.password, kind, "password")?;
                let device = r.device.unwrap_or_else(|| "Thunderbird".into());
                let e = self
                    .ctx
                    .login(r.platform.as_deref(), &email, &password, r.totp.as_deref(), &device)
                    .await?;
                Ok(Some(json!({
                    "platform": e.platform, "email": e.email,
                    "platform_key_id": e.platform_key.key_id, "own_key_id": e.own_key_id,
                })))
            }
            "logout" => Ok(Some(json!({ "revoked": self.ctx.logout().await? }))),
            "classify" => {
                let candidate = need(r.candidate, kind, "candidate")?;
                let client = match self.ctx.connect().await {
                    Ok((_, c)) => Some(c),
                    Err(HelperError::NotEnrolled) => None,
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
                let prepared = prepare(&self.ctx, &message).await?;
                let id = MessageId::random()?;
                let spool = SpoolPlace::Disk(self.ctx.paths.spool_dir());
                let wraps = prepared.wraps.clone();
                let composer = crate::enrolment::blocking(move || {
                    Composer::begin(id, message, &attachments, &wraps, &spool)
                })
                .await?;
                let send = id.to_string();
                let envelope_size = composer.envelope_size();
                let cancel = CancellationToken::new();
                let sending = Sending {
                    composer: Some(composer),
                    prepared: Arc::new(prepared),
                    unlock_code,
                    cancel,
                };
                self.sends.insert(send.clone(), sending);
                Ok(Some(
                    json!({ "send": send, "message_id": send, "envelope_size": envelope_size }),
                ))
            }
            "send_chunk" => {
                let send = need(r.send, kind, "send")?;
                let index = need(r.attachment, kind, "attachment")?;
                let data = need(r.data, kind, "data")?;
                let mut scratch = std::mem::take(&mut self.scratch);
                scratch.clear();
                let decoded = base64_simd::STANDARD
                    .decode_append(data.as_bytes(), &mut scratch)
                    .map_err(|e| HelperError::BadRequest(format!("chunk data is not base64: {e}")));
                let written = decoded.and_then(|()| {
                    if scratch.len() > protocol::MAX_CHUNK_BYTES {
                        return Err(HelperError::BadRequest("chunk over max_chunk_bytes".into()));
                    }
                    self.open_send(&send)?.write(index, &scratch)
                });
                self.scratch = scratch;
                match written {
                    Ok(received) => Ok(Some(json!({ "send": send, "received": received }))),
                    Err(e) => {
                        // A broken stream cannot be repaired: drop the send, nothing leaves.
                        self.sends.remove(&send);
                        Err(e)
                    }
                }
            }
            "send_end" => {
                let send = need(r.send, kind, "send")?;
                let state = self.sends.get_mut(&send).ok_or_else(|| unknown_send(&send))?;
                let composer = state.composer.take().ok_or_else(|| {
                    HelperError::BadRequest(format!("send {send} has already ended"))
                })?;
                let (prepared, unlock_code) = (state.prepared.clone(), state.unlock_code.take());
                let cancel = state.cancel.clone();
                let out = self.out.clone();
                let id = r.id.clone();
                tokio::spawn(async move {
                    let code = unlock_code.as_ref();
                    let result =
                        finish_and_deliver(composer, &prepared, code, &cancel, &out, &id).await;
                    out.send(match result {
                        Ok(v) => reply(&id, "send_end", v),
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
                let cancelled = match self.sends.remove(&send) {
                    Some(s) => {
                        s.cancel.cancel();
                        true
                    }
                    None => false,
                };
                Ok(Some(json!({ "send": send, "cancelled": cancelled })))
            }
            "mark_sent" => {
                let message_id = need(r.message_id, kind, "message_id")?;
                let id: MessageId = message_id
                    .parse()
                    .map_err(|_| HelperError::BadRequest("message_id is not a UUID".into()))?;
                let (_, client) = self.ctx.connect().await?;
                client.mark_sent(&id.to_string()).await?;
                self.sends.remove(&id.to_string());
                Ok(Some(json!({ "message_id": id.to_string() })))
            }
            other => Err(HelperError::BadRequest(format!("unknown request type `{other}`"))),
        }
    }

    fn open_send(&mut self, send: &str) -> Result<&mut Composer> {
        let state = self.sends.get_mut(send).ok_or_else(|| unknown_send(send))?;
        state
            .composer
            .as_mut()
            .ok_or_else(|| HelperError::BadRequest(format!("send {send} has already ended")))
    }
}

fn unknown_send(send: &str) -> HelperError {
    HelperError::BadRequest(format!(
        "no send {send} in progress (cancelled, failed or never begun)"
    ))
}

async fn finish_and_deliver(
    composer: Composer,
    prepared: &Prepared,
    unlock_code: Option<&UnlockCode>,
    cancel: &CancellationToken,
    out: &Out,
    id: &Option<RequestId>,
) -> Result<Value> {
    out.send(protocol::progress(id, "sealing", 0, composer.envelope_size()));
    let sealed = crate::enrolment::blocking(move || composer.finish()).await?;
    let last = std::sync::Mutex::new(std::time::Instant::now() - Duration::from_secs(1));
    let progress = |done: u64, total: u64| {
        let mut last = last.lock().expect("not poisoned");
        if done == total || last.elapsed() >= Duration::from_millis(200) {
            *last = std::time::Instant::now();
            out.send(protocol::progress(id, "uploading", done, total));
        }
    };
    let finalised = deliver(prepared, &sealed, unlock_code, &progress, cancel).await?;
    Ok(json!({
        "message_id": finalised.id,
        "link": finalised.link,
        "stub": finalised.stub,
        "notified_by_platform": finalised.notified_by_platform,
    }))
}
