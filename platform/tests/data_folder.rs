//! The real binary and the data folder it keeps: an `admin` command run beside a live server
//! leaves the server's uploads in flight alone, and everything the platform writes (database,
//! its log, envelope segments, keys, certificate) is readable by its own user only.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use reqwest::StatusCode;
use support::{Server, admin, test_database, wait_for};

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_command_beside_a_live_upload_leaves_it_alone_and_every_file_is_private() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let database = test_database(&data).await;
    let server = Server::start(&data, &database, None);
    let password = server.bootstrap_password.clone().expect("bootstrap password");
    let client = support::client(&data, false);
    let base = format!("https://localhost:{}", server.port);
    let token = support::sign_in(&client, &base, "admin@sealpost.localhost", &password).await;
    let key = support::platform_key(&client, &base).await;
    let attachment: Vec<u8> = (0..2_000_000u32).map(|i| (i % 251) as u8).collect();
    let support::TestMessage { id, envelope, .. } =
        support::created_message(&client, &base, &token, &key, &attachment).await;

    // An upload half-written when the admin command runs.
    let (feed, body) = support::fed_body();
    let upload = tokio::spawn(
        client
            .patch(format!("{base}/api/v1/messages/{id}/envelope"))
            .bearer_auth(&token)
            .header("Upload-Offset", "0")
            .body(body)
            .send(),
    );
    let half = envelope.len() / 2;
    feed.send(bytes::Bytes::copy_from_slice(&envelope[..half])).await.expect("feed");
    let envelopes = data.join("envelopes");
    let partial = wait_for("the upload to be half-written", Duration::from_secs(20), || {
        support::walk(&envelopes)
            .into_iter()
            .find(|p| p.to_string_lossy().ends_with(".partial"))
            .filter(|p| std::fs::metadata(p).is_ok_and(|m| m.len() > 0))
    });
    admin(&data, &database, &["create-tenant", "--name", "acme", "--domain", "acme.example"]);
    assert!(partial.exists(), "an admin command must not touch a live server's uploads");
    feed.send(bytes::Bytes::copy_from_slice(&envelope[half..])).await.expect("feed");
    drop(feed);
    let r = upload.await.expect("task").expect("upload");
    assert_eq!(r.status(), StatusCode::OK, "{:?}", r.text().await);
    let r = client
        .post(format!("{base}/api/v1/messages/{id}/finalise"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("finalise");
    assert_eq!(r.status(), StatusCode::OK, "{:?}", r.text().await);

    // Database, log, segment, keys, certificate: none readable by group or others.
    let mut seen = Vec::new();
    for path in support::walk(&data).into_iter().chain([data.clone()]) {
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o077, 0, "{} is mode {:o}", path.display(), mode & 0o777);
        seen.push(path.file_name().expect("name").to_string_lossy().into_owned());
    }
    for expected in ["master.key", "key.pem", "sealpost.db", "sealpost.db-wal"] {
        if expected.starts_with("sealpost.db") && !database.starts_with("sqlite") {
            continue;
        }
        assert!(seen.iter().any(|s| s == expected), "{expected} not found in {seen:?}");
    }
    assert!(
        support::walk(&envelopes).iter().any(|p| !p.to_string_lossy().ends_with(".partial")),
        "a segment was stored"
    );
}
