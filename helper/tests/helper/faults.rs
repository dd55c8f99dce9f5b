//! The network between the helper and the platform misbehaving, as a fault probe found it:
//! a finalise whose answer is lost, a platform that accepts connections and never answers,
//! one that cannot be reached at all. A small TLS proxy in front of the real platform (it
//! presents the platform's own certificate, so the helper trusts it as the platform) plays
//! each fault.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Output;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use serde_json::Value;

use crate::common::samples;
use crate::common::{ALICE, Desk, PASSWORD, Platform, require_secret_service, text};

/// What the proxy does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    /// Relays every request.
    None,
    /// Relays the first finalise to the platform, closes the helper's connection instead of
    /// relaying the answer, and then drops every connection for `outage`.
    LoseFinaliseAnswer { outage: Duration },
    /// Relays every finalise, and loses every answer to one.
    LoseEveryFinaliseAnswer,
    /// Completes TLS and reads requests, never answers.
    NoAnswer,
    /// Relays every request but uploads (`PATCH`), whose bodies it does not read and which
    /// it never answers.
    NoAnswerToUploads,
    /// Accepts TCP and never speaks: the TLS handshake does not complete.
    NoHandshake,
}

struct State {
    fault: Fault,
    /// Connections are dropped at once until then.
    down_until: Option<Instant>,
}

/// A TLS-terminating HTTP/1.1 proxy in front of a platform, one thread per connection, one
/// upstream connection per request.
struct Proxy {
    base: String,
    state: Arc<Mutex<State>>,
    finalises: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    accept: Option<std::thread::JoinHandle<()>>,
}

impl Proxy {
    fn start(platform: &Platform) -> Proxy {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let dir = platform.dir.path().join("tls");
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_file_iter(dir.join("cert.pem")).expect("cert").flatten().collect();
        let key = PrivateKeyDer::from_pem_file(dir.join("key.pem")).expect("key");
        let server = Arc::new(
            rustls::ServerConfig::builder()
                .with_no_client_auth()
                .with_single_cert(certs.clone(), key)
                .expect("server config"),
        );
        let mut roots = rustls::RootCertStore::empty();
        roots.add(certs[0].clone()).expect("root");
        let client = Arc::new(
            rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth(),
        );

        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("addr").port();
        let state = Arc::new(Mutex::new(State { fault: Fault::None, down_until: None }));
        let finalises = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let upstream = platform.port;
        let accept = {
            let (state, finalises, stop) = (state.clone(), finalises.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut held = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let tcp = match listener.accept() {
                        Ok((tcp, _)) => tcp,
                        Err(_) => {
                            std::thread::sleep(Duration::from_millis(5));
                            continue;
                        }
                    };
                    tcp.set_nonblocking(false).expect("blocking");
                    let (fault, down) = {
                        let s = state.lock().expect("state");
                        (s.fault, s.down_until.is_some_and(|t| Instant::now() < t))
                    };
                    if down {
                        drop(tcp);
                        continue;
                    }
                    if fault == Fault::NoHandshake {
                        held.push(tcp);
                        continue;
                    }
                    let conn = Connection {
                        server: server.clone(),
                        client: client.clone(),
                        upstream,
                        state: state.clone(),
                        finalises: finalises.clone(),
                        stop: stop.clone(),
                    };
                    std::thread::spawn(move || conn.serve(tcp));
                }
            })
        };
        Proxy {
            base: format!("https://localhost:{port}"),
            state,
            finalises,
            stop,
            accept: Some(accept),
        }
    }

    fn set(&self, fault: Fault) {
        self.state.lock().expect("state").fault = fault;
    }

    /// Stops listening: the port is closed from now on.
    fn close(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.accept.take() {
            t.join().expect("accept thread");
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.close();
    }
}

struct Connection {
    server: Arc<rustls::ServerConfig>,
    client: Arc<rustls::ClientConfig>,
    upstream: u16,
    state: Arc<Mutex<State>>,
    finalises: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl Connection {
    fn serve(self, tcp: TcpStream) {
        let tls = rustls::ServerConnection::new(self.server.clone()).expect("tls");
        let mut helper = BufReader::new(rustls::StreamOwned::new(tls, tcp));
        // One request after the other, as long as the helper keeps the connection.
        while let Some(head) = read_head(&mut helper) {
            let fault = self.state.lock().expect("state").fault;
            let upload = head.starts_with("PATCH ");
            if fault == Fault::NoAnswer || (fault == Fault::NoAnswerToUploads && upload) {
                while !self.stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(20));
                }
                return;
            }
            let Some(body) = read_body(&mut helper, &head) else { return };
            let finalise = head.lines().next().is_some_and(|l| l.contains("/finalise "));
            let answer = self.forward(&head, &body);
            if finalise {
                let n = self.finalises.fetch_add(1, Ordering::SeqCst) + 1;
                let lose = match fault {
                    Fault::LoseFinaliseAnswer { outage } if n == 1 => {
                        self.state.lock().expect("state").down_until =
                            Some(Instant::now() + outage);
                        true
                    }
                    Fault::LoseEveryFinaliseAnswer => true,
                    _ => false,
                };
                if lose {
                    return; // The platform did the work; the helper never hears of it.
                }
            }
            let out = helper.get_mut();
            if out.write_all(&answer).and_then(|()| out.flush()).is_err() {
                return;
            }
        }
    }

    /// Sends one request to the platform on a connection of its own and returns the whole
    /// answer (the platform closes after it).
    fn forward(&self, head: &str, body: &[u8]) -> Vec<u8> {
        let tcp = TcpStream::connect(("127.0.0.1", self.upstream)).expect("upstream");
        let name = ServerName::try_from("localhost").expect("name");
        let tls = rustls::ClientConnection::new(self.client.clone(), name).expect("tls");
        let mut up = rustls::StreamOwned::new(tls, tcp);
        let mut out: Vec<u8> = Vec::new();
        for line in head.split("\r\n").filter(|l| !l.is_empty()) {
            if !line.to_ascii_lowercase().starts_with("connection:") {
                out.extend_from_slice(line.as_bytes());
                out.extend_from_slice(b"\r\n");
            }
        }
        out.extend_from_slice(b"Connection: close\r\n\r\n");
        out.extend_from_slice(body);
        up.write_all(&out).expect("forward");
        up.flush().expect("flush");
        let mut answer = Vec::new();
        let mut buf = [0u8; 16 << 10];
        loop {
            match up.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
                // The platform may close without a TLS close_notify once it has answered.
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
                Err(e) => panic!("upstream: {e}"),
            }
        }
        answer
    }
}

/// One HTTP/1.1 request's head, or `None` at the end.
fn read_head(r: &mut impl BufRead) -> Option<String> {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).ok()? == 0 {
            return None;
        }
        head.push_str(&line);
        if line == "\r\n" {
            return Some(head);
        }
    }
}

/// A request's body, by its `Content-Length`.
fn read_body(r: &mut impl BufRead, head: &str) -> Option<Vec<u8>> {
    let len = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .map_or(0, |(_, v)| v.trim().parse::<usize>().expect("length"));
    let mut body = vec![0u8; len];
    r.read_exact(&mut body).ok()?;
    Some(body)
}

/// A desk whose helper talks to the platform through `proxy`, signed in as Alice, with
/// `extra` settings.
fn desk_behind(platform: &Platform, proxy: &Proxy, extra: &str) -> Desk {
    let desk = Desk::with_settings(&format!("tls_ca_file = {:?}\n{extra}", platform.cert()));
    let out = desk.run(
        &["sign-in", "--platform", &proxy.base, "--email", ALICE, "--password-stdin"],
        &format!("{PASSWORD}\n"),
    );
    assert!(out.status.success(), "sign-in: {}", text(&out).1);
    desk
}

/// Runs `send` and waits for it at most `limit` (then kills it: a helper that waits longer
/// than that fails the test instead of hanging it). Returns the output and the time taken.
fn send_within(desk: &Desk, args: &[&str], limit: Duration) -> (Output, Duration) {
    let start = Instant::now();
    let mut child = desk.spawn(&[&["send"], args].concat());
    while child.try_wait().expect("wait").is_none() {
        if start.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().expect("wait");
            panic!("the helper was still waiting after {limit:?}: {}", text(&out).1);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    (child.wait_with_output().expect("wait"), start.elapsed())
}

fn platform_sends_notices(platform: &Platform) {
    platform.set_policy(serde_json::json!({
        "internal_domains": ["acme.example"], "secure_external": true, "subject_keywords": [],
        "secure_attachments": false, "dlp_patterns": [], "notification_mode": "platform_sends",
        "stub_subject": "Secure message", "stub_keeps_subject": false, "stub_intro": "Hi.",
        "max_envelope_bytes": 1073741824u64, "default_expiry_days": 0, "compliance_copy": false
    }));
}

/// Alice's sent messages, as the platform lists them.
fn sent_list(platform: &Platform) -> Vec<Value> {
    let token = platform.admin(&["create-token", "--email", ALICE], None);
    let list = platform.api(token.trim(), "GET", "/api/v1/messages", None);
    list["messages"].as_array().expect("messages").clone()
}

fn notices(slip: &Value) -> usize {
    slip["events"].as_array().expect("events").iter().filter(|e| e["kind"] == "notified").count()
}

/// The platform finalises, the answer is lost and the network stays down for longer than a
/// few quick retries: the helper keeps asking (finalise is idempotent) until the platform
/// answers, and reports the one message as sent. The platform has one message and each
/// recipient (To, Cc, Bcc) one notice.
#[test]
fn a_lost_finalise_answer_is_confirmed_not_reported_as_a_failure() {
    require_secret_service();
    let platform = Platform::start();
    platform_sends_notices(&platform);
    let proxy = Proxy::start(&platform);
    let desk = desk_behind(&platform, &proxy, "");
    proxy.set(Fault::LoseFinaliseAnswer { outage: Duration::from_secs(6) });
    let (out, _) = send_within(&desk, &[samples::ALTERNATIVE, "--json"], Duration::from_secs(90));
    assert!(out.status.success(), "the message was finalised: {}", text(&out).1);
    let sent: Value = serde_json::from_str(&text(&out).0).expect("JSON");
    assert_eq!(sent["notified_by_platform"], true, "{sent}");
    assert!(proxy.finalises.load(Ordering::SeqCst) >= 2, "the first answer was lost");

    let list = sent_list(&platform);
    assert_eq!(list.len(), 1, "one message: {list:?}");
    let slip = platform.sent_message(list[0]["id"].as_str().expect("id"));
    assert_eq!(slip["id"], sent["id"]);
    assert_eq!(slip["state"], "sent");
    let recipients = slip["recipients"].as_array().expect("recipients");
    assert_eq!(recipients.len(), 4, "to, cc and bcc: {slip}");
    assert_eq!(notices(&slip), recipients.len(), "each recipient notified once: {slip}");
}

/// When finalise's answer never arrives, the helper does not say "nothing was sent": it asks
/// the platform how the message stands and, finding it final, says the outcome is unconfirmed
/// (so the user checks before sending again).
#[test]
fn a_finalise_that_never_answers_is_reported_as_unconfirmed() {
    require_secret_service();
    let platform = Platform::start();
    let proxy = Proxy::start(&platform);
    let desk = desk_behind(&platform, &proxy, "request_deadline_seconds = 3\n");
    proxy.set(Fault::LoseEveryFinaliseAnswer);
    let (out, _) = send_within(&desk, &[samples::ALTERNATIVE], Duration::from_secs(90));
    let err = text(&out).1;
    assert!(!out.status.success());
    assert!(err.contains("error[finalise_unconfirmed]"), "{err}");
    let list = sent_list(&platform);
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["state"], "sent", "the platform did finalise it");
    assert!(err.contains(list[0]["id"].as_str().expect("id")), "the message is named: {err}");
}

/// TLS is up but the platform never answers: the send fails, clearly, once the request
/// deadline has passed (5 s here; the default is 30 s) — not after minutes.
#[test]
fn a_platform_that_never_answers_is_given_up_on() {
    require_secret_service();
    let platform = Platform::start();
    let proxy = Proxy::start(&platform);
    let desk = desk_behind(&platform, &proxy, "request_deadline_seconds = 5\n");
    proxy.set(Fault::NoAnswer);
    let (out, took) = send_within(&desk, &[samples::ALTERNATIVE], Duration::from_secs(60));
    let err = text(&out).1;
    assert!(err.contains("error[platform_timeout]"), "{err}");
    eprintln!("no answer: gave up after {took:?}");
    assert!(took < Duration::from_secs(30), "gave up after {took:?}");
}

/// The platform stops taking the upload's bytes and never answers the upload request: the
/// upload gives up once nothing has moved for the stall time (3 s here; the default is 30 s),
/// however long the upload as a whole could have taken.
#[test]
fn an_upload_that_stalls_is_given_up_on() {
    require_secret_service();
    let platform = Platform::start();
    let proxy = Proxy::start(&platform);
    let desk = desk_behind(&platform, &proxy, "upload_stall_seconds = 3\n");
    proxy.set(Fault::NoAnswerToUploads);
    let (out, took) = send_within(&desk, &[samples::ALTERNATIVE], Duration::from_secs(60));
    let err = text(&out).1;
    assert!(err.contains("error[upload_interrupted]"), "{err}");
    eprintln!("stalled upload: gave up after {took:?}");
    assert!(took < Duration::from_secs(30), "gave up after {took:?}");
}

/// The platform cannot be reached at all — its port is closed, or it accepts TCP and never
/// completes TLS — before anything was uploaded: the user is told within seconds (the connect
/// time-out is 3 s and a first contact is not retried).
#[test]
fn an_unreachable_platform_is_reported_within_seconds() {
    require_secret_service();
    let platform = Platform::start();
    let mut proxy = Proxy::start(&platform);
    let desk = desk_behind(&platform, &proxy, "");

    proxy.set(Fault::NoHandshake);
    let (out, took) = send_within(&desk, &[samples::ALTERNATIVE], Duration::from_secs(120));
    let err = text(&out).1;
    assert!(err.contains("error[platform_unreachable]"), "no handshake: {err}");
    eprintln!("no handshake: told after {took:?}");
    assert!(took < Duration::from_secs(15), "no handshake: told after {took:?}");

    proxy.close();
    let (out, took) = send_within(&desk, &[samples::ALTERNATIVE], Duration::from_secs(120));
    let err = text(&out).1;
    assert!(err.contains("error[platform_unreachable]"), "closed port: {err}");
    eprintln!("closed port: told after {took:?}");
    assert!(took < Duration::from_secs(15), "closed port: told after {took:?}");
    assert!(platform.stored_envelopes().is_empty(), "nothing was uploaded");
}
