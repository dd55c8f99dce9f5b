//! The real `sealpost-platform` binary, killed with SIGKILL in the middle of an upload and
//! started again on the same data folder: every acknowledged byte is still there, nothing
//! half-written counts, and the upload resumes and finalises; an admin's export then decrypts
//! it whole from the store.

use std::io::{BufRead, BufReader};

use futures_util::StreamExt;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::{Certificate, Client, StatusCode};
use sealpost_envelope::{Body, Manifest, MessageId, Metadata, PublicKey, Role, Sealer};
use serde_json::{Value, json};

/// Starts the server; returns it and the bootstrap admin's password when it prints one.
fn start(dir: &std::path::Path, port: u16) -> (Child, Option<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sealpost-platform"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(dir)
        .env("SEALPOST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the platform");
    let mut password = None;
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    for line in lines.by_ref() {
        let line = line.expect("line");
        if let Some(rest) = line.split("with password ").nth(1) {
            password = Some(rest.trim().to_string());
        }
        if line.contains("listening on") {
            break;
        }
    }
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    (child, password)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

#[tokio::test]
async fn kill_9_during_an_upload_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().expect("tmp");
    let port = free_port();
    let (mut server, password) = start(dir.path(), port);
    let password = password.expect("first start prints the bootstrap password");
    let cert = std::fs::read(dir.path().join("tls/cert.pem")).expect("cert");
    let client = Client::builder()
        .add_root_certificate(Certificate::from_pem(&cert).expect("pem"))
        .build()
        .expect("client");
    let base = format!("https://localhost:{port}");

    let login: Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": "admin@sealpost.localhost", "password": password}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("json");
    let token = login["token"].as_str().expect("token").to_string();
    let key: Value = client
        .get(format!("{base}/api/v1/keys/platform"))
        .send()
        .await
        .expect("key")
        .json()
        .await
        .expect("json");
    let key =
        PublicKey::parse(key["public_key_pem"].as_str().expect("pem").as_bytes()).expect("key");

    // A 3 MB message.
    let id = MessageId::random().expect("id");
    let attachment: Vec<u8> = (0..3_000_000u32).map(|i| (i % 253) as u8).collect();
    let mut manifest = Manifest::new(
        Metadata {
            from: "admin@sealpost.localhost".into(),
            to: vec!["bob@outside.example".into()],
            subject: "Crash test".into(),
            date: "2026-11-22T10:00:00Z".into(),
            ..Metadata::default()
        },
        Body { text: Some("survives".into()), html: None },
    );
    manifest.attach("big.bin", "application/octet-stream", &attachment);
    let json = manifest.to_json();
    let envelope = Sealer::builder(id)
        .recipient(Role::Platform, &key)
        .parts_for(&manifest, &json)
        .build()
        .expect("sealer")
        .seal_to_vec(&[&json, &attachment])
        .expect("seal");
    let slip = json!({"id": id.to_string(), "to": ["bob@outside.example"], "subject": "Crash test", "envelope_size": envelope.len()});
    let r = client
        .post(format!("{base}/api/v1/messages"))
        .bearer_auth(&token)
        .json(&slip)
        .send()
        .await
        .expect("create");
    assert_eq!(r.status(), StatusCode::CREATED);
    let upload_url = format!("{base}/api/v1/messages/{id}/envelope");
    let acked = 1_000_000;
    let r = client
        .patch(&upload_url)
        .bearer_auth(&token)
        .header("Upload-Offset", "0")
        .body(envelope[..acked].to_vec())
        .send()
        .await
        .expect("upload");
    assert_eq!(r.status(), StatusCode::OK);

    // The next segment starts streaming and never finishes: the server dies mid-request.
    let half = bytes::Bytes::copy_from_slice(&envelope[acked..acked + 600_000]);
    let stalled = futures_util::stream::iter(vec![Ok::<_, std::io::Error>(half)])
        .chain(futures_util::stream::pending());
    let in_flight = tokio::spawn(
        client
            .patch(&upload_url)
            .bearer_auth(&token)
            .header("Upload-Offset", acked.to_string())
            .body(reqwest::Body::wrap_stream(stalled))
            .send(),
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    server.kill().expect("SIGKILL");
    server.wait().expect("reaped");
    let _ = in_flight.await;

    // Start again on the same folder and port.
    let (mut server, password_again) = start(dir.path(), port);
    assert!(password_again.is_none(), "the bootstrap password is printed only on first start");
    let status: Value = client
        .get(&upload_url)
        .bearer_auth(&token)
        .send()
        .await
        .expect("status")
        .json()
        .await
        .expect("json");
    assert_eq!(status["received"], acked, "exactly the acknowledged bytes survived");
    let leftovers =
        walk(&dir.path().join("envelopes")).into_iter().filter(|p| p.ends_with(".partial")).count();
    assert_eq!(leftovers, 0, "half-written segments are removed at start");

    let mut offset = acked;
    while offset < envelope.len() {
        let end = (offset + 1_000_000).min(envelope.len());
        let r = client
            .patch(&upload_url)
            .bearer_auth(&token)
            .header("Upload-Offset", offset.to_string())
            .body(envelope[offset..end].to_vec())
            .send()
            .await
            .expect("resume");
        assert_eq!(r.status(), StatusCode::OK);
        offset = end;
    }
    let r = client
        .post(format!("{base}/api/v1/messages/{id}/finalise"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("finalise");
    assert_eq!(r.status(), StatusCode::OK, "{:?}", r.text().await);

    // What survived reads back whole: an admin's compliance export decrypts it from the store.
    let out = dir.path().join("export");
    let export = Command::new(env!("CARGO_BIN_EXE_sealpost-platform"))
        .args(["--data-dir"])
        .arg(dir.path())
        .args(["admin", "export-message", "--id", &id.to_string(), "--out"])
        .arg(&out)
        .env("SEALPOST_LOG", "warn")
        .output()
        .expect("export");
    assert!(export.status.success(), "{}", String::from_utf8_lossy(&export.stderr));
    assert_eq!(std::fs::read(out.join("attachments/1-big.bin")).expect("attachment"), attachment);
    assert_eq!(std::fs::read_to_string(out.join("body.txt")).expect("body"), "survives");
    let again = Command::new(env!("CARGO_BIN_EXE_sealpost-platform"))
        .args(["--data-dir"])
        .arg(dir.path())
        .args(["admin", "export-message", "--id", &id.to_string(), "--out"])
        .arg(&out)
        .output()
        .expect("export");
    assert!(!again.status.success(), "an export never writes into an existing folder");
    server.kill().expect("stop");
    let _ = server.wait();
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path.display().to_string());
        }
    }
    out
}
