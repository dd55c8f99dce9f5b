//! The Outlook bridge, called as the add-in's pages call it: the real binary on 127.0.0.1,
//! requests with the platform's `Origin`, CORS and Private Network Access preflights, pairing,
//! and a whole secure send through the same requests as native messaging.

use std::io::{BufRead, BufReader};
use std::process::Child;

use base64::Engine;
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{ALICE, Desk, Platform, free_port, open, require_secret_service};

struct Bridge {
    child: Child,
    url: String,
}

impl Drop for Bridge {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_bridge(desk: &Desk, extra: &[&str]) -> Bridge {
    let port = free_port().to_string();
    let mut args = vec!["bridge", "--port", &port];
    args.extend_from_slice(extra);
    let mut child = desk.spawn(&args);
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let first = lines.next().expect("a line").expect("text");
    assert!(first.contains("listening"), "{first}");
    Bridge { child, url: format!("http://127.0.0.1:{port}") }
}

async fn call(c: &Client, bridge: &Bridge, origin: &str, secret: &str, body: Value) -> Value {
    let r = c
        .post(format!("{}/v1/request", bridge.url))
        .header("Origin", origin)
        .bearer_auth(secret)
        .json(&body)
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.expect("json")
}

#[tokio::test]
async fn only_the_platforms_pages_and_a_paired_add_in_reach_the_bridge() {
    require_secret_service();
    let platform = Platform::start();
    let desk = Desk::new(&platform);
    desk.sign_in(&platform);
    let bridge = start_bridge(&desk, &[]);
    let origin = platform.base.as_str();
    let c = Client::new();

    // The browser's preflight, Private Network Access included, from the platform's page.
    let preflight = |from: &str| {
        c.request(Method::OPTIONS, format!("{}/v1/request", bridge.url))
            .header("Origin", from)
            .header("Access-Control-Request-Method", "POST")
            .header("Access-Control-Request-Headers", "authorization,content-type")
            .header("Access-Control-Request-Private-Network", "true")
            .send()
    };
    let r = preflight(origin).await.expect("preflight");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(r.headers()["access-control-allow-origin"], origin);
    assert_eq!(r.headers()["access-control-allow-private-network"], "true");
    assert!(
        r.headers()["access-control-allow-headers"]
            .to_str()
            .expect("text")
            .contains("authorization")
    );
    for other in ["https://evil.example", "null", "https://localhost:1"] {
        let r = preflight(other).await.expect("preflight");
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{other}");
        assert!(r.headers().get("access-control-allow-origin").is_none(), "{other}");
    }
    let r = c.post(format!("{}/v1/pair", bridge.url)).send().await.expect("no origin");
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "a request without an Origin is refused");

    // Not paired yet: nothing but pairing answers.
    let r = c
        .post(format!("{}/v1/request", bridge.url))
        .header("Origin", origin)
        .json(&json!({"type": "hello"}))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // The first pairing answers; a second page cannot pair behind it.
    let pair = || c.post(format!("{}/v1/pair", bridge.url)).header("Origin", origin).send();
    let r = pair().await.expect("pair");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["access-control-allow-origin"], origin);
    let secret =
        r.json::<Value>().await.expect("json")["secret"].as_str().expect("secret").to_string();
    assert_eq!(secret.len(), 43, "32 random bytes");
    let again = pair().await.expect("pair");
    assert_eq!(again.status(), StatusCode::FORBIDDEN);
    assert!(again.text().await.expect("text").contains("--pair"), "it says how to pair again");

    let wrong = c
        .post(format!("{}/v1/request", bridge.url))
        .header("Origin", origin)
        .bearer_auth("A".repeat(43))
        .json(&json!({"type": "hello"}))
        .send()
        .await
        .expect("request");
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);

    let hello = call(&c, &bridge, origin, &secret, json!({"type": "hello"})).await;
    assert_eq!(hello["ok"], true, "{hello}");
    assert_eq!(hello["email"], ALICE);
    assert_eq!(hello["signed_in"], true);

    // A whole secure send, as the add-in makes it: classify, then the message in pieces.
    let verdict = call(&c, &bridge, origin, &secret, json!({"type": "classify", "toggle": null,
        "candidate": {"recipients": ["bob@outside.example"], "subject": "Q3", "text": "x", "html": null, "attachments": 1}})).await;
    assert_eq!(verdict["secure"], true, "{verdict}");
    let file: Vec<u8> =
        (0..5_000_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8).collect();
    let begin = call(&c, &bridge, origin, &secret, json!({"type": "send_begin",
        "message": {"from": ALICE, "to": ["bob@outside.example"], "cc": [], "bcc": ["dave@hidden.example"],
                    "subject": "Q3 from Outlook", "text": "Numbers attached.", "html": "<p>Numbers attached.</p>"},
        "attachments": [{"name": "figures.bin", "content_type": "application/octet-stream", "size": file.len()}]})).await;
    assert_eq!(begin["ok"], true, "{begin}");
    let send = begin["send"].as_str().expect("send").to_string();
    for piece in file.chunks(4 << 20) {
        let r = call(
            &c,
            &bridge,
            origin,
            &secret,
            json!({"type": "send_piece", "send": send, "attachment": 0,
            "data": base64::engine::general_purpose::STANDARD.encode(piece)}),
        )
        .await;
        assert_eq!(r["ok"], true, "{r}");
    }
    let done = call(&c, &bridge, origin, &secret, json!({"type": "send_end", "send": send})).await;
    assert_eq!(done["ok"], true, "{done}");
    assert!(done["link"].as_str().expect("link").contains("/m/"));
    let progress = c
        .get(format!("{}/v1/progress/{send}", bridge.url))
        .header("Origin", origin)
        .bearer_auth(&secret)
        .send()
        .await
        .expect("progress")
        .json::<Value>()
        .await
        .expect("json");
    assert_eq!(progress["done"], progress["total"], "{progress}");

    let stored = platform.stored_envelopes();
    assert_eq!(stored.len(), 1);
    let (manifest, attachments) = open(&stored[0], &desk.private_key(&platform));
    assert_eq!(manifest.metadata.subject, "Q3 from Outlook");
    assert_eq!(attachments, [file]);
    assert!(!String::from_utf8_lossy(&manifest.to_json()).contains("hidden.example"));

    // Outlook could not turn the item into the stub: the add-in recalls what it sealed.
    let id = done["message_id"].as_str().expect("message id");
    let r = call(&c, &bridge, origin, &secret, json!({"type": "recall", "message_id": id})).await;
    assert_eq!(r["recalled"], true, "{r}");
    assert_eq!(platform.sent_message(id)["state"], "recalled");
}

#[tokio::test]
async fn pairing_again_needs_the_person_at_the_computer() {
    require_secret_service();
    let platform = Platform::start();
    let desk = Desk::new(&platform);
    desk.sign_in(&platform);
    let origin = platform.base.as_str();
    let c = Client::new();
    let pair = |b: &Bridge| c.post(format!("{}/v1/pair", b.url)).header("Origin", origin).send();
    let first = start_bridge(&desk, &[]);
    assert_eq!(pair(&first).await.expect("pair").status(), StatusCode::OK);
    drop(first);
    // Restarted without --pair: already paired, so pairing stays closed.
    let second = start_bridge(&desk, &[]);
    assert_eq!(pair(&second).await.expect("pair").status(), StatusCode::FORBIDDEN);
    drop(second);
    let third = start_bridge(&desk, &["--pair"]);
    assert_eq!(pair(&third).await.expect("pair").status(), StatusCode::OK);
}

#[test]
fn the_bridge_needs_a_signed_in_helper() {
    let platform = Platform::start();
    let desk = Desk::new(&platform);
    let out = desk.run(&["bridge", "--port", &free_port().to_string()], "");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not_signed_in"), "{out:?}");
}

#[test]
fn started_at_login_the_bridge_waits_for_a_sign_in_then_serves() {
    require_secret_service();
    let platform = Platform::start();
    let desk = Desk::with_settings(&format!(
        "tls_ca_file = {:?}\nbridge_autostart = true\n",
        platform.cert()
    ));
    let port = free_port();
    let mut child = desk.spawn(&["bridge", "--autostart", "--port", &port.to_string()]);
    let listening = || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok();
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert!(
        child.try_wait().expect("wait").is_none(),
        "no sign-in yet: it waits, it does not exit"
    );
    assert!(!listening(), "and serves nobody meanwhile");
    desk.sign_in(&platform);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !listening() {
        assert!(std::time::Instant::now() < deadline, "the bridge never served after the sign-in");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let _ = child.kill();
    let _ = child.wait();
}
