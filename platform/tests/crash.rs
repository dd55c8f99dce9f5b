//! The real `sealpost-platform` binary, killed with SIGKILL in the middle of an upload and
//! started again on the same data folder: every acknowledged byte is still there, nothing
//! half-written counts, and the upload resumes and finalises; an admin's export then decrypts
//! it whole from the store.

mod support;

use std::time::Duration;

use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::Value;
use support::{Server, admin, admin_output, test_database, wait_for};

#[tokio::test]
async fn kill_9_during_an_upload_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path();
    let database = test_database(data).await;
    let mut server = Server::start(data, &database, None);
    let port = server.port;
    let password =
        server.bootstrap_password.clone().expect("first start prints the bootstrap password");
    let client = support::client(data, false);
    let base = format!("https://localhost:{port}");
    let token = support::sign_in(&client, &base, "admin@sealpost.localhost", &password).await;
    let key = support::platform_key(&client, &base).await;

    // A 3 MB message.
    let attachment: Vec<u8> = (0..3_000_000u32).map(|i| (i % 253) as u8).collect();
    let support::TestMessage { id, envelope, .. } =
        support::created_message(&client, &base, &token, &key, &attachment).await;
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
    server.kill();
    let _ = in_flight.await;

    // Start again on the same folder and port.
    let mut server = Server::start_on(port, data, &database, None);
    assert!(
        server.bootstrap_password.is_none(),
        "the bootstrap password is printed only on first start"
    );
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
    // The sweeper's first round, as the server starts, removes the dead process's leftovers.
    wait_for("half-written segments to be removed", Duration::from_secs(20), || {
        partials(&data.join("envelopes")).is_empty().then_some(())
    });

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
    let out = data.join("export");
    let export = ["export-message", "--id", &id.to_string(), "--out", out.to_str().expect("utf-8")];
    admin(data, &database, &export);
    assert_eq!(std::fs::read(out.join("attachments/1-big.bin")).expect("attachment"), attachment);
    assert_eq!(std::fs::read_to_string(out.join("body.txt")).expect("body"), "survives");
    let again = admin_output(data, &database, &export);
    assert!(!again.status.success(), "an export never writes into an existing folder");
    server.kill();
}

fn partials(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    support::walk(dir).into_iter().filter(|p| p.to_string_lossy().ends_with(".partial")).collect()
}
