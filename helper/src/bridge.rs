//! The Outlook bridge: `sealpost-helper bridge` serves the native-messaging requests
//! (`hello`, `classify`, `send_begin`, `send_piece`, `send_end`, …; `docs/native-messaging.md`)
//! over HTTP on `127.0.0.1`, for the Outlook add-in, whose pages cannot start a native host.
//! The requests run through the same host loop as Thunderbird's (`host::run`), so the
//! keychain, key pinning, recipient keys, the sender's key and compliance hold alike.
//!
//! Who may call it, checked on every request:
//! - **Only the platform's pages.** A request must carry `Origin` equal to the signed-in
//!   platform's origin; CORS answers name exactly that origin, and Chromium's Private Network
//!   Access preflight (`Access-Control-Request-Private-Network`) is answered with
//!   `Access-Control-Allow-Private-Network: true` for it alone. Anything else gets 403 and no
//!   CORS headers, so a browser shows other pages nothing.
//! - **Only a paired add-in.** `POST /v1/pair` hands out the pairing secret (32 random bytes,
//!   kept in the OS keychain, read once at start) while pairing is open — until the first pairing, or for
//!   [`PAIRING_WINDOW`] after `sealpost-helper bridge --pair` — and every other request needs
//!   `Authorization: Bearer <secret>`, compared in constant time.
//!
//! Bounds: request bodies at most the host's `max_frame_bytes`; one answer waited for at most
//! [`ANSWER_WAIT`] (an upload's `send_end` included); requests handled one at a time, in order,
//! as over native messaging.
//!
//! Routes: `POST /v1/pair` → `{"secret"}`; `POST /v1/request` with one request object (its
//! `id` is the bridge's to set) → the host's reply; `GET /v1/progress/{send}` → the latest
//! `progress` event of a send.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_lc_rs::constant_time::verify_slices_are_equal;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use serde_json::{Value, json};
use tokio::sync::{Mutex as AsyncMutex, mpsc, oneshot};
use zeroize::Zeroizing;

use crate::error::{HelperError, Result};
use crate::host::{Inbound, Out};
use crate::sign_in::Context;

/// The port the add-in looks for the bridge on, unless IT set `bridge_port`.
pub const DEFAULT_PORT: u16 = 47_474;
/// How often a bridge started at login (`--autostart`) looks for a sign-in before it serves.
pub const SIGN_IN_POLL: std::time::Duration = std::time::Duration::from_secs(5);
/// How long `--pair` keeps pairing open.
pub const PAIRING_WINDOW: Duration = Duration::from_secs(120);
/// The longest one request waits for its answer (Outlook gives a send about 300 s in all).
pub const ANSWER_WAIT: Duration = Duration::from_secs(280);
/// The keychain account of the pairing secret with the platform at `origin`.
fn pairing_account(origin: &str) -> String {
    format!("outlook-bridge-pairing:{origin}")
}

/// Why the bridge refused, as the add-in reads it: `{"error": {"code", "message"}}`.
fn refuse(status: StatusCode, code: &str, message: &str) -> Response {
    (status, axum::Json(json!({ "error": { "code": code, "message": message } }))).into_response()
}

#[derive(Clone)]
struct Bridge {
    /// The one origin allowed: the signed-in platform's.
    origin: Arc<String>,
    keychain: crate::keychain::Keychain,
    /// The pairing secret as requests carry it (base64url), read from the keychain once at
    /// start and kept here: checking a request costs no keychain call.
    secret: Arc<Mutex<Option<Zeroizing<String>>>>,
    /// Until when `POST /v1/pair` answers; `None`: closed.
    pairing_until: Arc<Mutex<Option<Instant>>>,
    /// Into the host loop, one request at a time.
    to_host: mpsc::Sender<Inbound>,
    /// Requests waiting for their reply, by the id the bridge gave them.
    waiting: Arc<Mutex<HashMap<u64, oneshot::Sender<Value>>>>,
    next_id: Arc<Mutex<u64>>,
    /// The latest progress event of each send, and which send a `send_end` request is for.
    progress: Arc<Mutex<HashMap<String, Value>>>,
    uploads: Arc<Mutex<HashMap<u64, String>>>,
    /// Requests enter the host in the order they arrive, one at a time.
    turn: Arc<AsyncMutex<()>>,
}

/// Runs the bridge on `127.0.0.1:port` until the process ends. `pair` opens pairing for
/// [`PAIRING_WINDOW`]; it is also open while nothing has been paired yet.
pub async fn serve(ctx: Context, port: u16, pair: bool) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
        .await
        .map_err(|e| {
            HelperError::Config(format!("the bridge cannot listen on port {port}: {e}"))
        })?;
    let (bridge, app) = prepare(ctx, pair)?;
    tracing::info!(port, origin = %bridge.origin, "Outlook bridge listening");
    println!("Outlook bridge listening on http://127.0.0.1:{port} for {}", bridge.origin);
    axum::serve(listener, app).await.map_err(HelperError::Io)
}

/// The bridge's router, with the host loop running behind it.
fn prepare(ctx: Context, pair: bool) -> Result<(Bridge, Router)> {
    let platform = ctx.saved_sign_in()?.map(|s| s.platform).ok_or(HelperError::NotSignedIn)?;
    let origin = origin_of(&platform)
        .ok_or_else(|| HelperError::Config(format!("{platform} is not an https:// address")))?;
    let keychain = ctx.keychain.clone();
    let secret = keychain.get(&pairing_account(&origin))?.map(|s| encode_secret(&s));
    let pairing_until = (pair || secret.is_none()).then(|| Instant::now() + PAIRING_WINDOW);
    let max_body = ctx.settings.max_frame_bytes as usize;
    let (to_host, in_rx) = mpsc::channel(4);
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<Value>();
    tokio::spawn(crate::host::run(ctx, in_rx, Out(out_tx)));
    let bridge = Bridge {
        origin: Arc::new(origin),
        keychain,
        secret: Arc::new(Mutex::new(secret)),
        pairing_until: Arc::new(Mutex::new(pairing_until)),
        to_host,
        waiting: Arc::default(),
        next_id: Arc::default(),
        progress: Arc::default(),
        uploads: Arc::default(),
        turn: Arc::default(),
    };
    let routing = bridge.clone();
    tokio::spawn(async move {
        while let Some(v) = out_rx.recv().await {
            routing.deliver(v);
        }
    });
    let app = Router::new()
        .route("/v1/pair", post(pair_route))
        .route("/v1/request", post(request_route))
        .route("/v1/progress/{send}", get(progress_route))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(middleware::from_fn_with_state(bridge.clone(), guard))
        .with_state(bridge.clone());
    Ok((bridge, app))
}

/// `https://host[:port]` of a platform address.
fn origin_of(platform: &str) -> Option<String> {
    let rest = platform.strip_prefix("https://")?;
    let host = rest.split('/').next().filter(|h| !h.is_empty())?;
    Some(format!("https://{}", host.to_ascii_lowercase()))
}

impl Bridge {
    /// Hands a reply or event from the host to whoever waits for it.
    fn deliver(&self, mut v: Value) {
        let Some(id) = v.get("id").and_then(Value::as_u64) else { return };
        if v.get("event").and_then(Value::as_str) == Some("progress") {
            if let Some(send) = self.uploads.lock().expect("not poisoned").get(&id).cloned() {
                if let Some(obj) = v.as_object_mut() {
                    obj.remove("id");
                    obj.insert("send".into(), json!(send));
                }
                self.progress.lock().expect("not poisoned").insert(send, v);
            }
            return;
        }
        self.uploads.lock().expect("not poisoned").remove(&id);
        if let Some(waiter) = self.waiting.lock().expect("not poisoned").remove(&id) {
            let _ = waiter.send(v);
        }
    }

    fn paired(&self, headers: &HeaderMap) -> bool {
        let Some(given) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
        else {
            return false;
        };
        match &*self.secret.lock().expect("not poisoned") {
            Some(expected) => {
                verify_slices_are_equal(given.as_bytes(), expected.as_bytes()).is_ok()
            }
            None => false,
        }
    }
}

/// Every request: the exact origin, CORS for it alone, the private-network preflight.
async fn guard(State(b): State<Bridge>, request: Request, next: Next) -> Response {
    let origin = request.headers().get(header::ORIGIN).and_then(|v| v.to_str().ok());
    if origin != Some(b.origin.as_str()) {
        return refuse(
            StatusCode::FORBIDDEN,
            "wrong_origin",
            "the Sealpost bridge answers only the signed-in platform's pages",
        );
    }
    let preflight = request.method() == Method::OPTIONS;
    let private_network = request
        .headers()
        .get("access-control-request-private-network")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"true"));
    let mut response =
        if preflight { StatusCode::NO_CONTENT.into_response() } else { next.run(request).await };
    let h = response.headers_mut();
    let origin = HeaderValue::from_str(&b.origin).expect("an origin is a header value");
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    h.insert(header::VARY, HeaderValue::from_static("Origin"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if preflight {
        h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, POST"));
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("authorization, content-type"),
        );
        h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
        if private_network {
            h.insert("access-control-allow-private-network", HeaderValue::from_static("true"));
        }
    }
    response
}

async fn pair_route(State(b): State<Bridge>) -> Response {
    let open = b.pairing_until.lock().expect("not poisoned").is_some_and(|t| Instant::now() < t);
    if !open {
        return refuse(
            StatusCode::FORBIDDEN,
            "pairing_closed",
            "pairing is closed: run `sealpost-helper bridge --pair` on this computer, then try again within two minutes",
        );
    }
    let known = b.secret.lock().expect("not poisoned").clone();
    let secret = match known {
        Some(s) => s,
        None => {
            let fresh = Zeroizing::new(random_bytes::<32>());
            if let Err(e) = b.keychain.put(&pairing_account(&b.origin), &*fresh) {
                return refuse(StatusCode::SERVICE_UNAVAILABLE, e.code(), &e.to_string());
            }
            let encoded = encode_secret(&*fresh);
            *b.secret.lock().expect("not poisoned") = Some(encoded.clone());
            encoded
        }
    };
    // One pairing per opening: a second page cannot pair behind the first.
    *b.pairing_until.lock().expect("not poisoned") = None;
    axum::Json(json!({ "secret": &*secret })).into_response()
}

/// The pairing secret's bytes as requests carry them.
fn encode_secret(bytes: &[u8]) -> Zeroizing<String> {
    Zeroizing::new(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    aws_lc_rs::rand::fill(&mut b).expect("the system's random source works");
    b
}

async fn request_route(State(b): State<Bridge>, headers: HeaderMap, body: Bytes) -> Response {
    if !b.paired(&headers) {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "not_paired",
            "pair the add-in with this helper first",
        );
    }
    let Ok(Value::Object(mut request)) = serde_json::from_slice::<Value>(&body) else {
        return refuse(StatusCode::BAD_REQUEST, "bad_request", "the body must be one JSON object");
    };
    let turn = b.turn.lock().await;
    let id = {
        let mut next = b.next_id.lock().expect("not poisoned");
        *next += 1;
        *next
    };
    request.insert("id".into(), json!(id));
    let (tx, rx) = oneshot::channel();
    b.waiting.lock().expect("not poisoned").insert(id, tx);
    let upload = request.get("type").and_then(Value::as_str) == Some("send_end");
    if let (true, Some(send)) = (upload, request.get("send").and_then(Value::as_str)) {
        b.uploads.lock().expect("not poisoned").insert(id, send.to_string());
    }
    let frame = serde_json::to_vec(&request).expect("JSON values serialise");
    if b.to_host.send(Inbound::Frame(frame)).await.is_err() {
        return refuse(StatusCode::SERVICE_UNAVAILABLE, "stopped", "the helper is stopping");
    }
    // `send_end` answers only when the upload is done: later requests wait their turn
    // behind the ones the host answers at once, not behind an upload.
    if upload {
        drop(turn);
    }
    let answer = tokio::time::timeout(ANSWER_WAIT, rx).await;
    match answer {
        Ok(Ok(mut reply)) => {
            if let Some(obj) = reply.as_object_mut() {
                obj.remove("id");
            }
            axum::Json(reply).into_response()
        }
        _ => {
            b.waiting.lock().expect("not poisoned").remove(&id);
            refuse(StatusCode::GATEWAY_TIMEOUT, "timed_out", "the helper did not answer in time")
        }
    }
}

async fn progress_route(
    State(b): State<Bridge>,
    headers: HeaderMap,
    Path(send): Path<String>,
) -> Response {
    if !b.paired(&headers) {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "not_paired",
            "pair the add-in with this helper first",
        );
    }
    match b.progress.lock().expect("not poisoned").get(&send) {
        Some(p) => axum::Json(p.clone()).into_response(),
        None => refuse(StatusCode::NOT_FOUND, "no_progress", "no progress for this send yet"),
    }
}
