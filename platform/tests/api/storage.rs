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
    let request = tokio::spawn(app.upload_request(&token, &m.id, 0, body).send());
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

/// Flips one byte at `offset` of the single stored segment file of a message.
fn damage(folder: &std::path::Path, offset: u64) {
    use std::os::unix::fs::FileExt;
    let files = segments(folder);
    assert_eq!(files.len(), 1, "one segment file");
    let f = std::fs::OpenOptions::new().read(true).write(true).open(&files[0]).expect("open");
    let mut b = [0u8; 1];
    f.read_exact_at(&mut b, offset).expect("read");
    f.write_all_at(&[b[0] ^ 0x5a], offset).expect("write");
}

#[tokio::test]
async fn a_message_damaged_at_rest_says_so_on_the_read_page_and_before_a_download_starts() {
    let app = spawn_app().await;
    let Some(folder) = envelope_folder(&app) else { return };
    let token = app.user(app.acme, "alice@acme.example", Role::Sender).await;
    let key = app.platform_key().await;
    let m = message("alice@acme.example", &["bob@outside.example"], "Damaged", &key, 200_000);
    assert_eq!(app.post(Some(&token), "/api/v1/messages", m.slip.clone()).await.status(), 201);
    assert_eq!(app.upload(&token, &m.id, 0, m.envelope.clone()).await.status(), StatusCode::OK);
    let path = format!("/api/v1/messages/{}/finalise", m.id);
    assert_eq!(app.post(Some(&token), &path, serde_json::json!({})).await.status(), StatusCode::OK);
    let row = sealpost_platform::store::messages::get(&app.state.db, &m.id).await.expect("db");
    let link = row.expect("message").link_token.expect("link");
    use sealpost_platform::store::center::{Proof, new_session};
    let session =
        new_session(&app.state.db, "alice@acme.example", Proof::Password).await.expect("session");
    let cookie = format!("__Host-sealpost-session={}", session.as_str());
    let get = |path: String| app.client.get(app.url(&path)).header("Cookie", cookie.clone()).send();
    let read = format!("/c/read/{link}");
    let download = format!("/c/read/{link}/attachments/1");
    assert_eq!(get(read.clone()).await.expect("read").status(), StatusCode::OK);
    let whole = get(download.clone()).await.expect("download");
    assert_eq!(whole.status(), StatusCode::OK);
    assert_eq!(whole.bytes().await.expect("bytes").len(), m.attachments[0].len());

    // The attachment's last chunk is damaged: the download says so before it starts.
    damage(&folder, m.envelope.len() as u64 - 100);
    let r = get(download.clone()).await.expect("download");
    assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(r.text().await.expect("page").contains("This message is damaged"));
    // The header is damaged: the read page says so.
    damage(&folder, 40);
    let r = get(read).await.expect("read");
    assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(r.text().await.expect("page").contains("This message is damaged"));
    let metrics = app.get(None, "/metrics").await.text().await.expect("metrics");
    assert!(metrics.contains("sealpost_damaged_messages_total"), "{metrics}");
}

/// A tmpfs of `size` mounted over a new temporary folder, unmounted when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> SmallDisk {
        let dir = tempfile::tempdir().expect("tmp");
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .expect("run mount");
        assert!(
            status.success(),
            "this test fills a small tmpfs it mounts itself: run it as root (or with \
             CAP_SYS_ADMIN), as CI does"
        );
        SmallDisk { dir }
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(self.dir.path()).status();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_disk_answers_storage_full_and_fails_the_health_check_until_there_is_room() {
    if std::env::var_os("SEALPOST_TEST_S3_ENDPOINT").is_some() {
        return; // this run keeps envelopes in a bucket, which has no disk to fill
    }
    let disk = SmallDisk::mount("8m");
    let data = disk.dir.path().join("data");
    let app = crate::helpers::spawn_app_with(|s| {
        s.data_dir = data.clone();
        if s.database_url.as_deref().is_some_and(|u| u.starts_with("sqlite")) {
            s.database_url =
                Some(format!("sqlite://{}?mode=rwc", data.join("sealpost.db").display()));
        }
    })
    .await;
    let token = app.user(app.acme, "alice@acme.example", Role::Sender).await;
    let key = app.platform_key().await;
    let m = message("alice@acme.example", &["bob@outside.example"], "Full", &key, 300_000);
    assert_eq!(app.post(Some(&token), "/api/v1/messages", m.slip.clone()).await.status(), 201);

    // Fill the disk.
    let filler = disk.dir.path().join("filler");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&filler).expect("filler");
        let block = vec![0u8; 64 << 10];
        while f.write_all(&block).is_ok() {}
        let _ = f.sync_all();
    }
    let r = app.upload(&token, &m.id, 0, m.envelope.clone()).await;
    assert_eq!(
        crate::helpers::error_code(r).await,
        (StatusCode::INSUFFICIENT_STORAGE, "storage_full".into())
    );
    let health = app.get(None, "/healthz").await;
    assert_eq!(health.status(), StatusCode::SERVICE_UNAVAILABLE);
    let v: serde_json::Value = health.json().await.expect("json");
    assert_eq!(v["status"], "storage full");
    let ready = app.get(None, "/readyz").await;
    assert_eq!(
        ready.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "the balancer sends uploads elsewhere"
    );
    assert!(partials(&data.join("envelopes")).is_empty(), "a failed write leaves nothing behind");

    // Room again: ready again (once the last verdict is stale), and the upload goes through.
    std::fs::remove_file(&filler).expect("remove filler");
    wait_for("the health check to pass", Duration::from_secs(30), || {
        let app = &app;
        tokio::task::block_in_place(|| {
            tokio::runtime::Handle::current().block_on(async {
                (app.get(None, "/healthz").await.status() == StatusCode::OK).then_some(())
            })
        })
    });
    assert_eq!(app.upload(&token, &m.id, 0, m.envelope.clone()).await.status(), StatusCode::OK);
}
