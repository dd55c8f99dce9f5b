//! The platform client: the HTTP API of `docs/api.md` over reqwest and rustls.
//!
//! Every failure becomes a [`HelperError`] a person can act on: unreachable, TLS not
//! trusted, token revoked, quota exceeded, upload interrupted. Idempotent calls (create,
//! finalise, status) are retried with exponential backoff; uploads resume from the offset
//! the platform reports, so an interrupted upload never starts again from zero.
//!
//! Every wait is bounded (numbers in `docs/helper-config.md`): a control request, retries
//! included, by the request deadline; an upload by the time it may go without moving a
//! byte (not by its total time, which grows with the message); a first contact that cannot
//! connect is not retried, so an unreachable platform is reported within the connect
//! time-out. A finalise whose answer is lost is not reported as a failure before the
//! platform was asked how the message stands: it may be final already.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use sealpost_policy::Policy;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use zeroize::Zeroizing;

use crate::config::Settings;
use crate::error::{HelperError, Result};

/// `GET /api/v1/keys/platform`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct PlatformKey {
    /// Hex SHA-256 of the public key.
    pub key_id: String,
    /// PEM public key.
    pub public_key_pem: String,
}

/// A signed-in user.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct User {
    /// Address.
    pub email: String,
    /// `sender` or `admin`.
    pub role: String,
}

/// The answer to signing in.
#[derive(Deserialize)]
pub struct SignInAnswer {
    /// The device token (shown once).
    pub token: Zeroizing<String>,
    /// Its id, to revoke it.
    pub token_id: i64,
    /// Who signed in.
    pub user: User,
}

/// A registered key found by lookup.
#[derive(Clone, Debug, Deserialize)]
pub struct FoundKey {
    /// Whose key.
    pub email: String,
    /// PEM public key.
    pub public_key_pem: String,
}

/// The tenant's compliance key.
#[derive(Clone, Debug, Deserialize)]
pub struct ComplianceKey {
    /// PEM public key.
    pub public_key_pem: String,
}

/// `GET /api/v1/keys/lookup`.
#[derive(Clone, Debug, Deserialize)]
pub struct Lookup {
    /// Recipients with registered keys.
    pub keys: Vec<FoundKey>,
    /// The compliance key, when policy asks for a compliance copy.
    pub compliance: Option<ComplianceKey>,
}

/// The delivery slip (`POST /api/v1/messages`).
#[derive(Clone, Debug, Serialize)]
pub struct DeliverySlip<'a> {
    /// Message id (UUID).
    pub id: String,
    /// To.
    pub to: &'a [String],
    /// Cc.
    pub cc: &'a [String],
    /// Bcc.
    pub bcc: &'a [String],
    /// Subject.
    pub subject: &'a str,
    /// Exact envelope size.
    pub envelope_size: u64,
}

/// Where an upload stands.
#[derive(Clone, Copy, Debug, Deserialize)]
pub struct UploadStatus {
    /// Bytes the platform has stored.
    pub received: u64,
}

/// The stub that goes out instead of the message.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct Stub {
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body.
    pub html: String,
}

/// `POST /api/v1/messages/{id}/finalise`.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Finalised {
    /// Message id.
    pub id: String,
    /// The link recipients open.
    pub link: String,
    /// The notification stub.
    pub stub: Stub,
    /// The tenant has the platform mail the recipients (each their own link): the mail
    /// client must not send the stub.
    #[serde(default)]
    pub notified_by_platform: bool,
}

/// What `GET /api/v1/messages/{id}` says of a message's state.
#[derive(Deserialize)]
struct MessageState {
    /// `uploading`, `sent`, `recalled` or `expired`.
    state: String,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    code: String,
    message: String,
}

/// The longest each question after an unanswered finalise may take, so that the whole of
/// finalise stays well inside the mail client's patience (120 s without news).
const CONFIRM_LIMIT: Duration = Duration::from_secs(10);

/// Addresses per key lookup (the platform's limit is larger).
const LOOKUP_BATCH: usize = 50;

/// Progress reports during an upload: bytes the platform has, out of the total.
pub type Progress<'a> = &'a (dyn Fn(u64, u64) + Send + Sync);

/// What an upload reads from: an envelope's bytes, however they are held. The client owns this
/// seam so that it needs nothing of how an envelope is sealed or where its bytes wait (the send
/// pipeline's `SealedEnvelope` implements it); dependencies run one way, send → client.
pub trait UploadSource: Sync {
    /// A reader of the envelope's bytes.
    type Reader: std::io::Read + Send + 'static;

    /// The envelope's exact size in bytes.
    fn envelope_size(&self) -> u64;

    /// A reader from `offset` on; any number may exist at once. Reads may wait for bytes that
    /// are still being sealed, and fail when sealing fails.
    fn reader_from(&self, offset: u64) -> Self::Reader;

    /// The largest upload request the source can serve, when it holds only part of the
    /// envelope at a time.
    fn max_segment(&self) -> Option<u64> {
        None
    }

    /// The platform has acknowledged everything before `offset`: the source may let it go.
    fn acknowledged(&self, _offset: u64) {}
}

/// A client for one platform, optionally signed in.
#[derive(Clone)]
pub struct PlatformClient {
    base: String,
    http: reqwest::Client,
    token: Option<Arc<Zeroizing<String>>>,
    attempts: u32,
    segment: u64,
    deadline: Duration,
    stall: Duration,
    /// The platform has answered this client at least once: from then on, a failure to
    /// connect may be passing and is retried; before, the platform is reported unreachable.
    answered: Arc<std::sync::atomic::AtomicBool>,
}

impl std::fmt::Debug for PlatformClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlatformClient").field("base", &self.base).finish_non_exhaustive()
    }
}

impl PlatformClient {
    /// A client for `base` (`https://host[:port]`) with the settings' TLS trust and timeouts.
    pub fn new(base: &str, settings: &Settings) -> Result<PlatformClient> {
        let base = crate::config::normalise_platform(base).map_err(HelperError::Config)?;
        let mut b = reqwest::Client::builder()
            .https_only(true)
            .connect_timeout(settings.connect_timeout)
            .read_timeout(settings.read_timeout)
            .user_agent(concat!("sealpost-helper/", env!("CARGO_PKG_VERSION")))
            .tcp_nodelay(true);
        if let Some(ca) = &settings.tls_ca_file {
            let pem = std::fs::read(ca)
                .map_err(|e| HelperError::Config(format!("tls_ca_file {}: {e}", ca.display())))?;
            for cert in reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| HelperError::Config(format!("tls_ca_file {}: {e}", ca.display())))?
            {
                b = b.add_root_certificate(cert);
            }
        }
        let http = b.build().map_err(|e| {
            // reqwest's own text is only "builder error": say what failed beneath it.
            let mut why = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                why = format!("{why}: {s}");
                source = s.source();
            }
            HelperError::Config(format!("HTTP client: {why}"))
        })?;
        Ok(PlatformClient {
            base,
            http,
            token: None,
            attempts: settings.upload_attempts,
            segment: settings.upload_segment_bytes,
            deadline: settings.request_deadline,
            stall: settings.upload_stall,
            answered: Arc::default(),
        })
    }

    /// The same client, signed in with a device token.
    pub fn with_token(mut self, token: Zeroizing<String>) -> PlatformClient {
        self.token = Some(Arc::new(token));
        self
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let r = self.http.request(method, format!("{}{path}", self.base));
        match &self.token {
            Some(t) => r.bearer_auth(t.as_str()),
            None => r,
        }
    }

    async fn send(&self, r: RequestBuilder) -> Result<Response> {
        let resp = r.send().await.map_err(|e| self.transport(e))?;
        self.answered.store(true, Ordering::Relaxed);
        if resp.status().is_success() {
            return Ok(resp);
        }
        Err(refusal(resp).await)
    }

    async fn json<T: DeserializeOwned>(&self, r: RequestBuilder) -> Result<T> {
        let resp = self.send(r).await?;
        resp.json().await.map_err(|e| self.transport(e))
    }

    /// Runs an idempotent call, retrying what may be passing (network, 5xx, 429) until the
    /// request deadline: each attempt gets the time that is left, and a call still unanswered
    /// then fails as [`HelperError::PlatformTimeout`]. A first contact that cannot connect is
    /// not retried (see [`PlatformClient::answered`]).
    async fn retrying<T, F, Fut>(&self, mut call: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let deadline = Instant::now() + self.deadline;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let left = deadline.saturating_duration_since(Instant::now());
            let result = tokio::time::timeout(left, call()).await.unwrap_or_else(|_| {
                Err(HelperError::PlatformTimeout {
                    url: self.base.clone(),
                    seconds: self.deadline.as_secs(),
                })
            });
            match result {
                Err(e) if is_transient(&e) && !self.never_connected(&e) => {
                    let pause = backoff(attempt);
                    if deadline.saturating_duration_since(Instant::now()) <= pause {
                        return Err(e);
                    }
                    tracing::warn!(attempt, error = %e, "retrying");
                    tokio::time::sleep(pause).await;
                }
                other => return other,
            }
        }
    }

    /// One attempt of a call, bounded by the request deadline and at most `limit`.
    async fn once<T>(
        &self,
        limit: Duration,
        call: impl std::future::Future<Output = Result<T>>,
    ) -> Result<T> {
        let limit = limit.min(self.deadline);
        tokio::time::timeout(limit, call).await.unwrap_or_else(|_| {
            Err(HelperError::PlatformTimeout { url: self.base.clone(), seconds: limit.as_secs() })
        })
    }

    /// The platform could not be connected to and has never answered this client: it is
    /// unreachable (refused, no route, no name, no TLS), which retrying would only hide
    /// from the user for longer.
    fn never_connected(&self, e: &HelperError) -> bool {
        matches!(e, HelperError::Unreachable { connect: true, .. })
            && !self.answered.load(Ordering::Relaxed)
    }

    fn transport(&self, e: reqwest::Error) -> HelperError {
        let mut chain = String::new();
        let mut source: Option<&dyn std::error::Error> = Some(&e);
        while let Some(s) = source {
            chain.push_str(&s.to_string());
            chain.push_str(": ");
            source = s.source();
        }
        let chain = chain.trim_end_matches(": ").to_string();
        // reqwest hides which TLS stack failed; rustls's certificate errors all say so.
        if chain.contains("certificate") || chain.contains("InvalidCertificate") {
            HelperError::Tls(chain)
        } else {
            HelperError::Unreachable {
                url: self.base.clone(),
                detail: chain,
                connect: e.is_connect(),
            }
        }
    }

    /// The platform's current public key.
    pub async fn platform_key(&self) -> Result<PlatformKey> {
        self.retrying(|| self.json(self.request(Method::GET, "/api/v1/keys/platform"))).await
    }

    /// Signs in; `totp` when the account has a second factor.
    pub async fn sign_in(
        &self,
        email: &str,
        password: &str,
        totp: Option<&str>,
        device: &str,
    ) -> Result<SignInAnswer> {
        let body = serde_json::json!({
            "email": email, "password": password, "device": device, "totp": totp,
        });
        let r = self.request(Method::POST, "/api/v1/auth/sign-in").json(&body);
        self.json(r).await
    }

    /// Revokes this device's token.
    pub async fn revoke_current_token(&self) -> Result<()> {
        self.send(self.request(Method::DELETE, "/api/v1/tokens/current")).await.map(drop)
    }

    /// Who the token belongs to.
    pub async fn me(&self) -> Result<User> {
        self.retrying(|| self.json(self.request(Method::GET, "/api/v1/me"))).await
    }

    /// Registers (or rotates to) the user's own public key.
    pub async fn register_key(&self, public_key_pem: &str) -> Result<()> {
        let body = serde_json::json!({ "public_key_pem": public_key_pem });
        let r = self.request(Method::PUT, "/api/v1/keys/mine").json(&body);
        self.send(r).await.map(drop)
    }

    /// The registered keys of these recipients, and the compliance key when policy asks
    /// (asked in batches the platform accepts).
    pub async fn lookup(&self, emails: &[String]) -> Result<Lookup> {
        let mut all = Lookup { keys: Vec::new(), compliance: None };
        let batches: Vec<&[String]> =
            if emails.is_empty() { vec![&[]] } else { emails.chunks(LOOKUP_BATCH).collect() };
        for batch in batches {
            let list = batch.join(",");
            let found: Lookup = self
                .retrying(|| {
                    let r = self.request(Method::GET, "/api/v1/keys/lookup");
                    self.json(r.query(&[("email", &list)]))
                })
                .await?;
            all.keys.extend(found.keys);
            all.compliance = found.compliance;
        }
        Ok(all)
    }

    /// The tenant policy.
    pub async fn policy(&self) -> Result<Policy> {
        self.retrying(|| self.json(self.request(Method::GET, "/api/v1/policy"))).await
    }

    /// Creates the delivery slip (idempotent on the id).
    pub async fn create_message(&self, slip: &DeliverySlip<'_>) -> Result<UploadStatus> {
        self.retrying(|| self.json(self.request(Method::POST, "/api/v1/messages").json(slip))).await
    }

    /// How many envelope bytes the platform has.
    pub async fn upload_status(&self, id: &str) -> Result<UploadStatus> {
        let path = format!("/api/v1/messages/{id}/envelope");
        self.retrying(|| self.json(self.request(Method::GET, &path))).await
    }

    /// Uploads the envelope from wherever the platform stands, in segments, resuming after
    /// failures; cancellable between and during requests. Gives up after `upload_attempts`
    /// failures in a row, or once the platform has taken no byte and answered nothing for
    /// the stall time (an attempt that stalls that long is ended).
    pub async fn upload<S: UploadSource>(
        &self,
        id: &str,
        envelope: &S,
        start: u64,
        progress: Progress<'_>,
        cancel: &CancellationToken,
    ) -> Result<()> {
        let total = envelope.envelope_size();
        let mut offset = start;
        let mut failures = 0;
        progress(offset, total);
        let segment = envelope.max_segment().map_or(self.segment, |m| m.min(self.segment));
        let stalled = || HelperError::PlatformTimeout {
            url: self.base.clone(),
            seconds: self.stall.as_secs(),
        };
        // When the platform last took a byte or answered.
        let mut moved = Instant::now();
        while offset < total {
            let len = segment.min(total - offset);
            let sent = Arc::new(AtomicU64::new(0));
            let request = self.upload_segment(envelope, id, offset, len, sent.clone());
            tokio::pin!(request);
            let mut tick = tokio::time::interval(Duration::from_millis(200));
            let mut seen = 0;
            let attempt = loop {
                tokio::select! {
                    r = &mut request => break r,
                    _ = tick.tick() => {
                        let now = sent.load(Ordering::Relaxed);
                        if now != seen {
                            (seen, moved) = (now, Instant::now());
                        } else if moved.elapsed() >= self.stall {
                            break Err(stalled());
                        }
                        progress(offset + now, total);
                    }
                    () = cancel.cancelled() => return Err(HelperError::Cancelled),
                }
            };
            match attempt {
                Ok(received) => {
                    failures = 0;
                    moved = Instant::now();
                    offset = received;
                    envelope.acknowledged(received);
                }
                Err(e) if is_transient(&e) || is_offset_mismatch(&e) => {
                    failures += 1;
                    if failures >= self.attempts || moved.elapsed() >= self.stall {
                        return Err(HelperError::UploadInterrupted { detail: e.to_string() });
                    }
                    tracing::warn!(failures, error = %e, "upload interrupted; resuming");
                    tokio::select! {
                        () = tokio::time::sleep(backoff(failures)) => {}
                        () = cancel.cancelled() => return Err(HelperError::Cancelled),
                    }
                    // One question, bounded like the upload: a wrong guess costs only an
                    // offset_mismatch, which tells the right offset.
                    let path = format!("/api/v1/messages/{id}/envelope");
                    let asked = self.once(
                        self.stall,
                        self.json::<UploadStatus>(self.request(Method::GET, &path)),
                    );
                    offset = match asked.await {
                        Ok(s) => s.received,
                        Err(e) if is_transient(&e) => offset,
                        Err(e) => return Err(e),
                    };
                }
                Err(e) => return Err(e),
            }
            progress(offset, total);
        }
        Ok(())
    }

    async fn upload_segment<S: UploadSource>(
        &self,
        envelope: &S,
        id: &str,
        offset: u64,
        len: u64,
        sent: Arc<AtomicU64>,
    ) -> Result<u64> {
        let reader = envelope.reader_from(offset);
        let body = reqwest::Body::wrap_stream(read_stream(reader, len, sent));
        let r = self
            .request(Method::PATCH, &format!("/api/v1/messages/{id}/envelope"))
            .header("Upload-Offset", offset)
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .header(reqwest::header::CONTENT_LENGTH, len)
            .body(body);
        let status: UploadStatus = self.json(r).await?;
        Ok(status.received)
    }

    /// Finalises the upload: the platform checks the envelope and answers with the link and
    /// the stub. Finalise is idempotent, so it is retried until the request deadline; when it
    /// still has no answer, the request may have been carried out with only its answer lost,
    /// so the platform is asked how the message stands before anything is reported: a
    /// message still uploading was not sent (the first error stands), a final one is
    /// finalised once more for its answer, and anything else is
    /// [`HelperError::FinaliseUnconfirmed`] — never "nothing was sent" when something may
    /// have been.
    pub async fn finalise(&self, id: &str) -> Result<Finalised> {
        let path = format!("/api/v1/messages/{id}/finalise");
        let lost = match self.retrying(|| self.json(self.request(Method::POST, &path))).await {
            Err(e) if is_transient(&e) => e,
            done => return done,
        };
        tracing::warn!(message = id, error = %lost, "finalise unanswered; asking how the message stands");
        let unconfirmed =
            |detail: String| HelperError::FinaliseUnconfirmed { id: id.to_string(), detail };
        let slip = format!("/api/v1/messages/{id}");
        let state =
            self.once(CONFIRM_LIMIT, self.json::<MessageState>(self.request(Method::GET, &slip)));
        match state.await {
            Ok(s) if s.state == "uploading" => Err(lost),
            Ok(s) if s.state == "sent" => {
                let again = self.once(CONFIRM_LIMIT, self.json(self.request(Method::POST, &path)));
                again.await.map_err(|e| unconfirmed(format!("it is final on the platform; {e}")))
            }
            Ok(s) => Err(unconfirmed(format!("the platform says it is {}", s.state))),
            Err(e) => Err(unconfirmed(format!("{lost}; then {e}"))),
        }
    }

    /// Sets the message's unlock code: recipients must also give it (passed on out of band)
    /// before they can read. Set before finalising, so no recipient can open it without.
    pub async fn set_unlock_code(&self, id: &str, code: &str) -> Result<()> {
        let path = format!("/api/v1/messages/{id}/unlock-code");
        let body = serde_json::json!({ "code": code });
        self.retrying(|| async {
            self.send(self.request(Method::PUT, &path).json(&body)).await.map(drop)
        })
        .await
    }

    /// Makes a message unreadable from now on (`POST …/recall`).
    pub async fn recall(&self, id: &str) -> Result<()> {
        let path = format!("/api/v1/messages/{id}/recall");
        self.retrying(|| async { self.send(self.request(Method::POST, &path)).await.map(drop) })
            .await
    }

    /// Tells the platform the mail client sent the stub.
    pub async fn mark_sent(&self, id: &str) -> Result<()> {
        let path = format!("/api/v1/messages/{id}/sent");
        self.retrying(|| async { self.send(self.request(Method::POST, &path)).await.map(drop) })
            .await
    }
}

/// Streams `len` bytes of `reader` in 256 KiB pieces, reading on a blocking thread.
fn read_stream<R: std::io::Read + Send + 'static>(
    reader: R,
    len: u64,
    sent: Arc<AtomicU64>,
) -> impl futures_util::Stream<Item = std::io::Result<Bytes>> + Send + 'static {
    const PIECE: usize = 256 << 10;
    futures_util::stream::unfold((Some(reader), len), move |(reader, left)| {
        let sent = sent.clone();
        async move {
            let mut reader = reader?;
            if left == 0 {
                return None;
            }
            let want = PIECE.min(left as usize);
            let read = tokio::task::spawn_blocking(move || {
                let mut buf = vec![0u8; want];
                reader.read_exact(&mut buf).map(|()| (reader, buf))
            })
            .await
            .map_err(std::io::Error::other)
            .and_then(|r| r);
            match read {
                Ok((reader, buf)) => {
                    sent.fetch_add(want as u64, Ordering::Relaxed);
                    Some((Ok(Bytes::from(buf)), (Some(reader), left - want as u64)))
                }
                Err(e) => Some((Err(e), (None, 0))),
            }
        }
    })
    .boxed()
}

async fn refusal(resp: Response) -> HelperError {
    let status = resp.status();
    let (code, message) = match resp.json::<ErrorBody>().await {
        Ok(b) => (b.error.code, b.error.message),
        Err(_) => (format!("http_{}", status.as_u16()), format!("HTTP {status}")),
    };
    match status {
        StatusCode::UNAUTHORIZED if code == "bad_credentials" || code == "totp_required" => {
            HelperError::SignInFailed { code, message }
        }
        StatusCode::UNAUTHORIZED => HelperError::TokenRevoked,
        StatusCode::TOO_MANY_REQUESTS if code == "locked" => {
            HelperError::SignInFailed { code, message }
        }
        StatusCode::PAYLOAD_TOO_LARGE => HelperError::QuotaExceeded(message),
        _ => HelperError::Platform { status: status.as_u16(), code, message },
    }
}

fn is_transient(e: &HelperError) -> bool {
    match e {
        HelperError::Unreachable { .. } | HelperError::PlatformTimeout { .. } => true,
        HelperError::Platform { status, .. } => *status >= 500 || *status == 429 || *status == 408,
        _ => false,
    }
}

fn is_offset_mismatch(e: &HelperError) -> bool {
    matches!(e, HelperError::Platform { code, .. } if code == "offset_mismatch")
}

/// 250 ms, 500 ms, 1 s, … capped at 8 s.
fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(250u64 << attempt.saturating_sub(1).min(5))
}
