//! The envelope store under faults: uploads cut off mid-body, segments written but never
//! recorded, a full disk, envelopes damaged at rest.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use reqwest::StatusCode;
use sealpost_platform::blob::BlobStore;
use sealpost_platform::domain::Role;
use sealpost_platform::sweep;

use crate::helpers::{TestApp, message, spawn_app};
use crate::support::{self, wait_for};

/// The local envelope folder, or `None` when the run is about the S3 store.
fn envelope_folder(app: &TestApp) -> Option<PathBuf> {
    matches!(app.state.blobs, BlobStore::Local { .. })
        .then(|| app.state.settings.data_dir.join("envelopes"))
}

fn partials(folder: &std::path::Path) -> Vec<PathBuf> {
    support::walk(folder)
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".partial"))
        .collect()
}

fn segments(folder: &std::path::Path) -> Vec<PathBuf> {
    support::walk(folder)
        .into_iter()
        .filter(|p| !p.to_string_lossy().ends_with(".partial"))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upload_cut_off_mid_body_leaves_no_half_written_segment() {
    let app = spawn_app().await;
    let Some(folder) = envelope_folder(&app) else { return };
    let token = app.user(app.acme, "alice@acme.example", Role::Sender).await;
    let key = app.platform_key().await;
    let m = message("alice@acme.example", &["bob@outside.example"], "Cut off", &key, 600_000);
    let r = app.post(Some(&token), "/api/v1/messages", m.slip.clone()).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let (feed, body) = support::fed_body();
    let request = tokio::spawn(
        app.client
            .patch(app.url(&format!("/api/v1/messages/{}/envelope", m.id)))
            .bearer_auth(&token)
            .header("Upload-Offset", "0")
            .body(body)
            .send(),
    );
    feed.send(bytes::Bytes::copy_from_slice(&m.envelope[..300_000])).await.expect("feed");
    wait_for("the upload to be half-written", Duration::from_secs(20), || {
        partials(&folder).pop().filter(|p| std::fs::metadata(p).is_ok_and(|m| m.len() > 0))
    });
    // The sender's connection drops: the request's future is dropped mid-write.
    request.abort();
    drop(feed);
    wait_for("the half-written segment to be removed", Duration::from_secs(20), || {
        partials(&folder).is_empty().then_some(())
    });
    assert!(segments(&folder).is_empty(), "nothing of the cut-off upload is kept");
}

#[tokio::test]
async fn the_sweeper_removes_stray_segments_and_keeps_recorded_and_live_ones() {
    let app = spawn_app().await;
    let Some(folder) = envelope_folder(&app) else { return };
    let token = app.user(app.acme, "alice@acme.example", Role::Sender).await;
    let key = app.platform_key().await;
    // A recorded segment (larger than an inline one).
    let m = message("alice@acme.example", &["bob@outside.example"], "Kept", &key, 200_000);
    assert_eq!(app.post(Some(&token), "/api/v1/messages", m.slip.clone()).await.status(), 201);
    assert_eq!(app.upload(&token, &m.id, 0, m.envelope.clone()).await.status(), StatusCode::OK);
    let recorded = segments(&folder);
    assert_eq!(recorded.len(), 1);
    // A segment written but never recorded.
    let orphan = BlobStore::new_name();
    let piece = futures_util::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from_static(
        b"ciphertext nobody recorded",
    ))]);
    app.state.blobs.put_stream(&orphan, piece, 1 << 20).await.expect("orphan");
    // A crashed writer's leftover, and one a live writer holds.
    let shard = folder.join("ab");
    std::fs::create_dir_all(&shard).expect("shard");
    let dead = shard.join(format!("ab{}.partial", &BlobStore::new_name()[2..]));
    std::fs::write(&dead, b"half").expect("dead partial");
    let live = shard.join(format!("ab{}.partial", &BlobStore::new_name()[2..]));
    let held = std::fs::File::create(&live).expect("live partial");
    held.lock().expect("lock");

    // Within the grace period only the dead writer's leftover goes.
    let hour_ago = SystemTime::now() - Duration::from_secs(3600);
    let removed = sweep::stray_segments(&app.state, SystemTime::UNIX_EPOCH, hour_ago).await;
    assert_eq!(removed.expect("sweep"), 1);
    assert!(!dead.exists() && live.exists());
    assert_eq!(segments(&folder).len(), 2, "complete segments wait out the grace period");

    // Past it, the orphan goes; the recorded segment and the live upload stay.
    let later = SystemTime::now() + Duration::from_secs(60);
    let removed = sweep::stray_segments(&app.state, SystemTime::UNIX_EPOCH, later).await;
    assert_eq!(removed.expect("sweep"), 1);
    assert_eq!(segments(&folder), recorded);
    assert!(live.exists(), "an upload in flight is never touched");
    let r = app
        .post(Some(&token), &format!("/api/v1/messages/{}/finalise", m.id), serde_json::json!({}))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
}
