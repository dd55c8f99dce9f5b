//! The native-messaging host, spoken to as Thunderbird does: the real binary, framed JSON.

use std::io::Write;
use std::process::{Child, ChildStdin, ChildStdout, Stdio};

use base64::Engine;
use futures_util::StreamExt;
use sealpost_helper::framing::{MAX_OUTBOUND_FRAME, read_frame, write_frame};
use serde_json::{Value, json};

use crate::common::{ALICE, Desk, Platform, Watcher, open, require_secret_service, samples};

struct Host {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: ChildStdout,
}

impl Host {
    fn start(desk: &Desk) -> Host {
        // As Thunderbird starts it: the manifest path and the extension id as arguments.
        let mut child = desk
            .command()
            .args(["/tmp/net.sealpost.helper.json", "sealpost@sealpost.net"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("host");
        let (stdin, stdout) = (child.stdin.take(), child.stdout.take().expect("stdout"));
        Host { child, stdin, stdout }
    }

    fn raw(&mut self, bytes: &[u8]) {
        self.stdin.as_mut().expect("open").write_all(bytes).expect("write");
        self.stdin.as_mut().expect("open").flush().expect("flush");
    }

    /// Sends a request; the mail client may send frames larger than the host's 1 MiB.
    fn send(&mut self, v: Value) {
        let body = v.to_string().into_bytes();
        let mut frame = (body.len() as u32).to_ne_bytes().to_vec();
        frame.extend(body);
        self.raw(&frame);
    }

    /// The next frame; every frame must be within the mail client's 1 MiB limit.
    fn next(&mut self) -> Value {
        let frame = read_frame(&mut self.stdout, MAX_OUTBOUND_FRAME as u32)
            .expect("a well-formed frame")
            .expect("a frame before the end");
        serde_json::from_slice(&frame).expect("JSON")
    }

    /// The next reply, collecting progress events on the way.
    fn reply(&mut self, events: &mut Vec<Value>) -> Value {
        loop {
            let v = self.next();
            if v.get("event").is_some() {
                events.push(v);
            } else {
                return v;
            }
        }
    }

    fn call(&mut self, v: Value) -> Value {
        self.send(v);
        self.reply(&mut Vec::new())
    }

    /// Closes stdin and checks the host ends cleanly with nothing more on stdout.
    fn close(mut self) {
        drop(self.stdin.take());
        let rest = crate::common::read_to_end(&mut self.stdout);
        let status = self.child.wait().expect("wait");
        assert!(rest.is_empty(), "stdout carries only protocol frames: {rest:?}");
        assert!(status.success(), "the host ends cleanly when the port closes: {status}");
    }
}

fn error_code(v: &Value) -> &str {
    assert_eq!(v["ok"], false, "{v}");
    v["error"]["code"].as_str().expect("code")
}

#[test]
fn bad_input_gets_error_replies_and_the_host_carries_on() {
    let desk = Desk::with_settings("");
    let mut h = Host::start(&desk);

    let hello = h.call(json!({"id": 1, "type": "hello"}));
    assert_eq!(
        (hello["ok"].clone(), hello["signed_in"].clone()),
        (json!(true), json!(false)),
        "{hello}"
    );
    assert_eq!(hello["protocol"], 1);

    // Not JSON, not an object, no type, unknown type, a missing field, an unknown field.
    let mut frame = |bytes: &[u8]| {
        let mut v = Vec::new();
        write_frame(&mut v, bytes).expect("frame");
        h.raw(&v);
        h.next()
    };
    let r = frame(b"{not json");
    assert_eq!((error_code(&r), &r["id"]), ("bad_request", &Value::Null));
    assert_eq!(error_code(&frame(b"[1,2]")), "bad_request");
    let r = frame(br#"{"id": 7}"#);
    assert_eq!((error_code(&r), &r["id"]), ("bad_request", &json!(7)), "the id is salvaged");
    let r = frame(br#"{"id": "abc", "type": "launch_missiles"}"#);
    assert_eq!(error_code(&r), "bad_request");
    assert_eq!(r["id"], "abc");
    assert!(r["error"]["message"].as_str().expect("msg").contains("unknown request type"), "{r}");
    let r = frame(br#"{"id": 8, "type": "send_piece", "attachment": 0}"#);
    assert!(r["error"]["message"].as_str().expect("msg").contains("needs `send`"), "{r}");
    let r = frame(br#"{"id": 9, "type": "hello", "surprise": true}"#);
    assert_eq!(error_code(&r), "bad_request");
    let r = frame(
        br#"{"id": 10, "type": "send_piece", "send": "nope", "attachment": 0, "data": "AAAA"}"#,
    );
    assert!(r["error"]["message"].as_str().expect("msg").contains("no send nope"), "{r}");
    let r = frame(&[0xff, 0xfe, b'{']);
    assert_eq!(error_code(&r), "bad_request", "invalid UTF-8");

    // A frame over the cap is skipped (never held in memory) and the stream stays in sync.
    let big = 9u32 << 20;
    h.raw(&big.to_ne_bytes());
    h.raw(&vec![b'x'; big as usize]);
    let r = h.next();
    assert!(r["error"]["message"].as_str().expect("msg").contains("over the limit"), "{r}");
    assert_eq!(h.call(json!({"id": 11, "type": "hello"}))["ok"], true, "still in sync");

    // Not signed in: sending is refused with a code the extension can act on; classifying
    // works with the fail-closed defaults.
    let r = h.call(json!({"id": 12, "type": "send_begin",
        "message": {"from": ALICE, "to": ["bob@outside.example"], "subject": "x"}}));
    assert_eq!(error_code(&r), "not_signed_in");
    let r = h.call(json!({"id": 13, "type": "classify", "toggle": null,
        "candidate": {"recipients": ["bob@acme.example"], "subject": "lunch"}}));
    assert_eq!(
        (r["secure"].clone(), r["reasons"][0]["code"].clone()),
        (json!(true), json!("external_recipient")),
        "{r}"
    );
    h.close();
}

#[test]
fn truncated_input_ends_the_host_without_a_crash() {
    let desk = Desk::with_settings("");
    for cut in [2usize, 4, 10] {
        let mut h = Host::start(&desk);
        let mut v = Vec::new();
        write_frame(&mut v, br#"{"id": 1, "type": "hello"}"#).expect("frame");
        h.raw(&v[..cut]);
        h.close();
    }
}

/// Thunderbird's path: classify, then stream the message and its attachments in pieces,
/// then the link and the stub come back.
#[test]
fn a_secure_send_over_native_messaging() {
    require_secret_service();
    let platform = Platform::start();
    platform.set_policy(json!({
        "internal_domains": ["acme.example"], "secure_external": true,
        "subject_keywords": ["confidential"], "secure_attachments": false,
        "dlp_patterns": ["\\b\\d{4}-\\d{4}-\\d{4}-\\d{4}\\b"],
        "notification_mode": "sender_smtp", "stub_subject": "Secure message: {subject}",
        "stub_keeps_subject": true, "stub_intro": "You have a secure message.",
        "max_envelope_bytes": 1073741824u64, "default_expiry_days": 0, "compliance_copy": false
    }));
    let desk = Desk::new(&platform);
    desk.sign_in(&platform);
    let mut h = Host::start(&desk);
    let hello = h.call(json!({"id": 1, "type": "hello"}));
    assert_eq!(
        (hello["signed_in"].clone(), hello["email"].clone()),
        (json!(true), json!(ALICE)),
        "{hello}"
    );
    let piece_bytes = hello["max_piece_bytes"].as_u64().expect("piece size") as usize;

    let classify = |h: &mut Host, to: &str, subject: &str, text: &str, toggle: Value| {
        h.call(json!({"id": 2, "type": "classify", "toggle": toggle,
            "candidate": {"recipients": [to], "subject": subject, "text": text, "attachments": 0}}))
    };
    let internal = classify(&mut h, "bob@acme.example", "Lunch", "noon?", json!(false));
    assert_eq!(internal["secure"], false, "{internal}");
    let toggled = classify(&mut h, "bob@acme.example", "Lunch", "noon?", json!(true));
    assert_eq!(toggled["reasons"][0]["code"], "user_choice");
    let keyword = classify(&mut h, "bob@acme.example", "Confidential plan", "", json!(null));
    assert_eq!(keyword["reasons"][0]["code"], "subject_keyword");
    let dlp = classify(&mut h, "bob@acme.example", "x", "card 4417-1234-5678-9113", json!(null));
    assert_eq!(dlp["reasons"][0]["code"], "dlp_pattern");
    let external = classify(&mut h, "eve@outside.example", "x", "", json!(false));
    assert_eq!(
        (external["secure"].clone(), external["required_by_policy"].clone()),
        (json!(true), json!(true))
    );

    let big: Vec<u8> =
        (0..9_000_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let small = "Grüße, Ünïcødé\n".repeat(100).into_bytes();
    let begin = h.call(json!({"id": 3, "type": "send_begin",
    "message": {"from": ALICE, "to": ["eve@outside.example"], "cc": ["bob@acme.example"],
                "bcc": ["secret@hidden.example"], "subject": "Q3 figures",
                "text": "Numbers attached.", "html": "<p>Numbers attached.</p>"},
    "attachments": [
        {"name": "figures.bin", "content_type": "application/octet-stream", "size": big.len()},
        {"name": "notes – ü.txt", "content_type": "text/plain", "size": small.len()},
        {"name": "empty.txt", "content_type": "text/plain", "size": 0}
    ]}));
    assert_eq!(begin["ok"], true, "{begin}");
    let send = begin["send"].as_str().expect("send id").to_string();
    let b64 = base64::engine::general_purpose::STANDARD;
    for (index, bytes) in [(0, &big), (1, &small)] {
        for piece in bytes.chunks(piece_bytes) {
            let r = h
                .call(json!({"id": 4, "type": "send_piece", "send": send, "attachment": index,
                "data": b64.encode(piece)}));
            assert_eq!(r["ok"], true, "{r}");
        }
    }
    h.send(json!({"id": 5, "type": "send_end", "send": send}));
    let mut events = Vec::new();
    let done = h.reply(&mut events);
    assert_eq!(done["ok"], true, "{done}");
    assert!(done["link"].as_str().expect("link").contains("/m/"), "{done}");
    let stub_text = done["stub"]["text"].as_str().expect("stub");
    assert!(stub_text.contains(done["link"].as_str().expect("link")));
    assert!(!stub_text.contains("Numbers attached"), "no content in the stub");
    assert!(events.iter().any(|e| e["phase"] == "uploading"), "progress was reported: {events:?}");
    let last = events.last().expect("events");
    assert_eq!(last["done"], last["total"], "the last progress event is complete");

    let r = h.call(json!({"id": 6, "type": "mark_sent", "message_id": done["message_id"]}));
    assert_eq!(r["ok"], true, "{r}");

    // What the platform stored opens, with the sender's own key from the keychain, to
    // exactly what was handed over; the envelope names no BCC recipient.
    let stored = platform.stored_envelopes();
    assert_eq!(stored.len(), 1);
    let (manifest, attachments) = open(&stored[0], &desk.private_key(&platform));
    assert_eq!(manifest.metadata.to, ["eve@outside.example"]);
    assert_eq!(manifest.body.text.as_deref(), Some("Numbers attached."));
    assert_eq!(attachments, [big, small, Vec::new()]);
    assert_eq!(manifest.attachments[1].name, "notes – ü.txt");
    assert!(!String::from_utf8_lossy(&manifest.to_json()).contains("hidden.example"));
    h.close();
}

/// The sender set an unlock code in the mail client: it arrives with `send_begin`, a bad one is
/// refused before anything is sealed, and the platform has it before the message is final.
#[test]
fn an_unlock_code_from_the_mail_client_locks_the_message() {
    require_secret_service();
    let platform = Platform::start();
    let desk = Desk::new(&platform);
    desk.sign_in(&platform);
    let mut h = Host::start(&desk);
    let begin = |h: &mut Host, id: u64, code: Value| {
        h.call(json!({"id": id, "type": "send_begin", "unlock_code": code,
            "message": {"from": ALICE, "to": ["eve@outside.example"], "subject": "Locked",
                        "text": "MARKER-LOCKED"}}))
    };
    for (id, bad) in [(1, json!("12345")), (2, json!("    ")), (3, json!("x".repeat(65)))] {
        let r = begin(&mut h, id, bad);
        assert_eq!(error_code(&r), "bad_request", "{r}");
        assert!(r["error"]["message"].as_str().expect("msg").contains("6 to 64 characters"));
    }
    for (id, code, locked) in [(4, json!("  blue heron 42 "), true), (6, Value::Null, false)] {
        let r = begin(&mut h, id, code);
        assert_eq!(r["ok"], true, "{r}");
        let done = h.call(json!({"id": id + 1, "type": "send_end", "send": r["send"]}));
        assert_eq!(done["ok"], true, "{done}");
        let slip = platform.sent_message(done["message_id"].as_str().expect("id"));
        assert_eq!(slip["unlock_code"], locked, "{slip}");
    }
    h.close();
    assert_eq!(platform.stored_envelopes().len(), 2, "only the two good sends were uploaded");
}

#[test]
fn a_cancelled_send_leaves_nothing_behind() {
    require_secret_service();
    let platform = Platform::start();
    let desk = Desk::new(&platform);
    desk.sign_in(&platform);
    let mut h = Host::start(&desk);
    let begin = h.call(json!({"id": 1, "type": "send_begin",
        "message": {"from": ALICE, "to": ["eve@outside.example"], "subject": "never"},
        "attachments": [{"name": "a.bin", "size": 10}]}));
    let send = begin["send"].as_str().expect("send").to_string();
    let r = h.call(
        json!({"id": 2, "type": "send_piece", "send": send, "attachment": 0, "data": "AAAA"}),
    );
    assert_eq!(r["received"], 3);
    let r = h.call(json!({"id": 3, "type": "cancel", "send": send}));
    assert_eq!(r["cancelled"], true);
    let r = h.call(json!({"id": 4, "type": "send_end", "send": send}));
    assert_eq!(error_code(&r), "bad_request", "a cancelled send cannot be finished");

    // A send whose attachment is shorter than announced fails and uploads nothing.
    let begin = h.call(json!({"id": 5, "type": "send_begin",
        "message": {"from": ALICE, "to": ["eve@outside.example"], "subject": "short"},
        "attachments": [{"name": "a.bin", "size": 10}]}));
    let send = begin["send"].as_str().expect("send").to_string();
    h.call(json!({"id": 6, "type": "send_piece", "send": send, "attachment": 0, "data": "AAAA"}));
    let r = h.call(json!({"id": 7, "type": "send_end", "send": send}));
    assert_eq!(error_code(&r), "bad_request");
    assert!(
        r["error"]["message"].as_str().expect("msg").contains("announced as 10 bytes but 3"),
        "{r}"
    );
    // And one from someone else's address is refused before anything is sealed.
    let r = h.call(json!({"id": 8, "type": "send_begin",
        "message": {"from": "mallory@acme.example", "to": ["eve@outside.example"], "subject": "x"}}));
    assert_eq!(error_code(&r), "wrong_sender");
    assert!(
        r["error"]["message"].as_str().expect("msg").contains("signed in to Sealpost as"),
        "{r}"
    );
    h.close();
    assert!(platform.stored_envelopes().is_empty(), "nothing was uploaded");
}

/// The mail-client path seals into a spool file before uploading: the spool, read through the
/// host's own open files while the send runs, holds no plaintext.
#[test]
fn no_plaintext_reaches_the_disk_through_the_mail_client_path() {
    require_secret_service();
    let platform = Platform::start();
    let desk = Desk::new(&platform);
    desk.sign_in(&platform);
    let mut h = Host::start(&desk);
    let marker = samples::MARKER;
    let attachment = samples::marker_attachment();
    let watcher = Watcher::start(
        h.child.id(),
        vec![desk.home.path().to_path_buf(), platform.dir.path().to_path_buf()],
        marker,
    );
    let begin = h.call(json!({"id": 1, "type": "send_begin",
        "message": {"from": ALICE, "to": ["eve@outside.example"], "subject": "marker",
                    "text": format!("The body says {}", String::from_utf8_lossy(marker))},
        "attachments": [{"name": "m.bin", "size": attachment.len()}]}));
    let send = begin["send"].as_str().expect("send").to_string();
    let b64 = base64::engine::general_purpose::STANDARD;
    for piece in attachment.chunks(4 << 20) {
        let r = h.call(json!({"id": 2, "type": "send_piece", "send": send, "attachment": 0,
            "data": b64.encode(piece)}));
        assert_eq!(r["ok"], true, "{r}");
    }
    let done = h.call(json!({"id": 3, "type": "send_end", "send": send}));
    assert_eq!(done["ok"], true, "{done}");
    let seen = watcher.stop();
    h.close();
    assert_eq!(seen.plaintext_in, None, "plaintext on disk");
    assert!(seen.spool_seen, "the watcher saw the spool while it was in use: {seen:?}");
}

/// `PUT url` with `body` as the extension does (a bearer token; `origin` as a browser would
/// set it): the status and the answer's text.
fn put(url: &str, token: &str, origin: Option<&str>, body: Vec<u8>) -> (u16, String) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("rt");
    runtime.block_on(async {
        let mut request = reqwest::Client::new().put(url).bearer_auth(token).body(body);
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        let response = request.send().await.expect("the loopback listener answers");
        (response.status().as_u16(), response.text().await.expect("text"))
    })
}

/// Attachment bytes over loopback HTTP, the fast way in from Thunderbird: only with the send's
/// own token, never from a web page, mixed with pieces in one send, sealed exactly; closed
/// once the send ends; a body over the announced size breaks that send and nothing leaves.
#[test]
fn attachments_over_loopback_arrive_as_sent_and_only_with_their_token() {
    require_secret_service();
    let platform = Platform::start();
    let desk = Desk::new(&platform);
    desk.sign_in(&platform);
    let mut h = Host::start(&desk);
    let big: Vec<u8> =
        (0..9_000_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8).collect();
    let small = b"the second attachment, as a piece".to_vec();
    let begin = |h: &mut Host, id: u64, sizes: &[usize]| {
        let attachments: Vec<Value> = sizes
            .iter()
            .enumerate()
            .map(|(i, size)| json!({"name": format!("a{i}.bin"), "size": size}))
            .collect();
        let r = h.call(json!({"id": id, "type": "send_begin",
            "message": {"from": ALICE, "to": ["eve@outside.example"], "subject": "loopback"},
            "attachments": attachments}));
        assert_eq!(r["ok"], true, "{r}");
        let url = r["upload"]["url"].as_str().expect("an upload url").to_string();
        assert!(url.starts_with("http://127.0.0.1:"), "{url}");
        (
            r["send"].as_str().expect("send").to_string(),
            url,
            r["upload"]["token"].as_str().expect("token").to_string(),
        )
    };
    let (send, url, token) = begin(&mut h, 1, &[big.len(), small.len()]);
    let (other, other_url, other_token) = begin(&mut h, 2, &[10]);
    assert_ne!(token, other_token, "a token per send");

    // Refused before the body is read (a short one, so that it fits the socket's buffer).
    let first = format!("{url}0");
    assert_eq!(put(&first, "", None, vec![0; 16]).0, 403, "no token");
    assert_eq!(put(&first, &other_token, None, vec![0; 16]).0, 403, "another send's token");
    assert_eq!(put(&first, &token, Some("https://evil.example"), vec![0; 16]).0, 403, "a web page");
    let (status, text) = put(&first, &token, Some("moz-extension://1b2c"), big.clone());
    assert_eq!(status, 200, "{text}");
    assert_eq!(serde_json::from_str::<Value>(&text).expect("json")["received"], big.len());
    let r = h.call(json!({"id": 3, "type": "send_piece", "send": send, "attachment": 1,
        "data": base64::engine::general_purpose::STANDARD.encode(&small)}));
    assert_eq!(r["received"], small.len(), "{r}");
    let done = h.call(json!({"id": 4, "type": "send_end", "send": send}));
    assert_eq!(done["ok"], true, "{done}");
    assert_eq!(put(&first, &token, None, vec![1]).0, 403, "closed once the send ended");

    // Eleven bytes for an attachment of ten: the send breaks and is gone.
    let (status, text) = put(&format!("{other_url}0"), &other_token, None, vec![7; 11]);
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("announced as 10 bytes but more arrived"), "{text}");
    let r = h.call(json!({"id": 5, "type": "send_end", "send": other}));
    assert_eq!(error_code(&r), "bad_request", "{r}");
    h.close();

    let stored = platform.stored_envelopes();
    assert_eq!(stored.len(), 1, "only the whole send was uploaded");
    let (_, attachments) = open(&stored[0], &desk.private_key(&platform));
    assert_eq!(attachments, [big, small]);
}

/// One `PUT` at a time per send, and a body that breaks off ends its send in the host too
/// (nothing of it can be finished or uploaded).
#[test]
fn a_send_takes_one_put_at_a_time_and_a_broken_body_ends_it() {
    require_secret_service();
    let platform = Platform::start();
    let desk = Desk::new(&platform);
    desk.sign_in(&platform);
    let mut h = Host::start(&desk);
    let r = h.call(json!({"id": 1, "type": "send_begin",
        "message": {"from": ALICE, "to": ["eve@outside.example"], "subject": "one at a time"},
        "attachments": [{"name": "a.bin", "size": 2_000_000}]}));
    let (url, token) = (
        format!("{}0", r["upload"]["url"].as_str().expect("url")),
        r["upload"]["token"].as_str().expect("token").to_string(),
    );
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("rt");
    let (first, second) = runtime.block_on(async {
        // The first body sends half, then breaks off once the second request has been answered.
        let (go_on, wait) = tokio::sync::oneshot::channel::<()>();
        let body = futures_util::stream::iter([Ok::<_, std::io::Error>(vec![1u8; 1_000_000])])
            .chain(futures_util::stream::once(async move {
                let _ = wait.await;
                Err(std::io::Error::other("cable pulled"))
            }));
        let client = reqwest::Client::new();
        let first = client
            .put(&url)
            .bearer_auth(&token)
            .header("content-length", "2000000")
            .body(reqwest::Body::wrap_stream(body))
            .send();
        let first = tokio::spawn(first);
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let second = client.put(&url).bearer_auth(&token).body(vec![2u8; 16]).send().await;
        let second = second.expect("answered").status().as_u16();
        let _ = go_on.send(());
        (first.await.expect("joined").map(|r| r.status().as_u16()), second)
    });
    assert_eq!(second, 409, "a second PUT while the first runs");
    assert!(!matches!(first, Ok(200)), "the broken body is not taken: {first:?}");
    let done = h.call(json!({"id": 2, "type": "send_end", "send": r["send"]}));
    assert_eq!(error_code(&done), "bad_request", "the broken send is gone: {done}");
    h.close();
    assert!(platform.stored_envelopes().is_empty(), "nothing was uploaded");
}
