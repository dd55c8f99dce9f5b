//! The platform's API, end to end over HTTPS: real server, real database, real envelopes.
//! Run on PostgreSQL too with `SEALPOST_TEST_DATABASE_URL=postgres://…/postgres`.

mod helpers;
mod limits;
mod policy;
mod storage;
#[path = "../support/mod.rs"]
mod support;

use helpers::{PASSWORD, TestApp, error_code, message, spawn_app, spawn_app_with};
use reqwest::StatusCode;
use sealpost_envelope::{Decryptor, FileKey, Header, Limits};
use sealpost_platform::domain::Role;
use sealpost_platform::reading::file_key_purpose;
use sealpost_platform::store::audit::{self, Verdict};
use sealpost_platform::store::mailbox::{self, Folder};
use sealpost_platform::store::{PageMark, accounts, messages, platform_keys};
use serde_json::{Value, json};

/// Reads a stored envelope back from the blob store and opens it with the file key the
/// platform kept under the tenant key: what the Message Center will do.
async fn stored_plaintext(app: &TestApp, id: &str) -> (String, Vec<u8>) {
    let m = messages::get(&app.state.db, id).await.expect("db").expect("message");
    let segments = messages::segments(&app.state.db, id).await.expect("segments");
    let total = m.envelope_size.expect("complete");
    let envelope = sealpost_platform::reading::read_range(&app.state, id, &segments, 0, total)
        .await
        .expect("stored envelope");
    let tenant_key =
        accounts::data_key(&app.state.db, &app.state.master, m.tenant_id).await.expect("key");
    let raw =
        tenant_key.open(&file_key_purpose(id), &m.file_key_enc.expect("sealed key")).expect("open");
    let file_key = FileKey::from_bytes(raw[..].try_into().expect("32 bytes"));
    let header = Header::read_from(&mut &envelope[..], &Limits::default()).expect("header");
    let dec = Decryptor::with_file_key(header, file_key).expect("mac");
    let manifest = sealpost_envelope::Manifest::from_json(
        &dec.read_part_from_slice(0, &envelope).expect("p0"),
    )
    .expect("manifest");
    let att = dec.read_part_from_slice(1, &envelope).expect("p1");
    (manifest.body.text.unwrap_or_default(), att.to_vec())
}

#[tokio::test]
async fn health_and_platform_key_are_public() {
    let app = spawn_app().await;
    assert_eq!(app.get(None, "/healthz").await.status(), StatusCode::OK);
    let metrics = app.get(None, "/metrics").await.text().await.expect("text");
    assert!(
        metrics.contains(
            "sealpost_http_requests_total{route=\"/healthz\",method=\"GET\",status=\"200\"}"
        ),
        "{metrics}"
    );
    let key = app.platform_key().await;
    assert_eq!(key.key_id(), app.state.keys.read().await.active().key_id());
}

#[tokio::test]
async fn sign_in_issues_a_device_token_and_locks_after_repeated_failures() {
    let app = spawn_app().await;
    app.user(app.acme, "alice@acme.example", Role::Sender).await;
    let login = |password: &str| json!({"email": "Alice@Acme.example", "password": password, "device": "laptop"});
    let r = app.post(None, "/api/v1/auth/sign-in", login(PASSWORD)).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let token =
        r.json::<Value>().await.expect("json")["token"].as_str().expect("token").to_string();
    let me: Value = app.get(Some(&token), "/api/v1/me").await.json().await.expect("json");
    assert_eq!(me["email"], "alice@acme.example");
    // Helpers installed before the rename sign in at the old path.
    let legacy = app.post(None, "/api/v1/auth/login", login(PASSWORD)).await;
    assert_eq!(legacy.status(), StatusCode::CREATED);

    let unknown = app
        .post(
            None,
            "/api/v1/auth/sign-in",
            json!({"email": "nobody@acme.example", "password": "x"}),
        )
        .await;
    assert_eq!(error_code(unknown).await, (StatusCode::UNAUTHORIZED, "bad_credentials".into()));
    for _ in 0..4 {
        let r = app.post(None, "/api/v1/auth/sign-in", login("wrong password")).await;
        assert_eq!(error_code(r).await, (StatusCode::UNAUTHORIZED, "bad_credentials".into()));
    }
    let fifth = app.post(None, "/api/v1/auth/sign-in", login("wrong password")).await;
    assert_eq!(error_code(fifth).await, (StatusCode::TOO_MANY_REQUESTS, "locked".into()));
    // Locked means locked, even with the right password.
    let right = app.post(None, "/api/v1/auth/sign-in", login(PASSWORD)).await;
    assert_eq!(error_code(right).await, (StatusCode::TOO_MANY_REQUESTS, "locked".into()));

    // Signing out revokes the token in use.
    let r = app
        .client
        .delete(app.url("/api/v1/tokens/current"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("req");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.get(Some(&token), "/api/v1/me").await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn create_upload_interrupted_then_resumed_finalise_and_track() {
    let app = spawn_app().await;
    let alice = app.user(app.acme, "alice@acme.example", Role::Sender).await;
    let key = app.platform_key().await;
    let msg =
        message("alice@acme.example", &["bob@outside.example"], "Q3 figures", &key, 3_000_000);

    let r = app.post(Some(&alice), "/api/v1/messages", msg.slip.clone()).await;
    assert_eq!(r.status(), StatusCode::CREATED);

    // First part arrives.
    let r = app.upload(&alice, &msg.id, 0, msg.envelope[..500_000].to_vec()).await;
    assert_eq!(r.status(), StatusCode::OK, "{:?}", r.text().await);

    // The next request dies half-way: its bytes must not count.
    let partial = msg.envelope[500_000..900_000].to_vec();
    let failing = futures_util::stream::iter(vec![
        Ok::<_, std::io::Error>(bytes::Bytes::from(partial)),
        Err(std::io::Error::other("network cable pulled")),
    ]);
    let r = app
        .client
        .patch(app.url(&format!("/api/v1/messages/{}/envelope", msg.id)))
        .bearer_auth(&alice)
        .header("Upload-Offset", "500000")
        .body(reqwest::Body::wrap_stream(failing))
        .send()
        .await;
    assert!(r.is_err() || !r.expect("resp").status().is_success());

    // The client asks where to resume, and finishes in pieces no larger than the server allows.
    let status: Value = app
        .get(Some(&alice), &format!("/api/v1/messages/{}/envelope", msg.id))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(status["received"], 500_000);
    assert_eq!(status["envelope_size"], msg.envelope.len());
    let mut offset = 500_000;
    while offset < msg.envelope.len() {
        let end = (offset + (1 << 20)).min(msg.envelope.len());
        let r =
            app.upload(&alice, &msg.id, offset as u64, msg.envelope[offset..end].to_vec()).await;
        assert_eq!(r.status(), StatusCode::OK);
        offset = end;
    }

    let r =
        app.post(Some(&alice), &format!("/api/v1/messages/{}/finalise", msg.id), json!({})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let done: Value = r.json().await.expect("json");
    let link = done["link"].as_str().expect("link");
    assert!(link.starts_with(&app.base) && link.contains("/m/"), "{link}");
    assert!(
        !link.contains(&msg.id) && !link.contains("bob"),
        "links carry opaque ids only: {link}"
    );
    let stub = done["stub"].to_string();
    assert!(stub.contains(link));
    assert!(!stub.contains("4417") && !stub.contains("secret figures"), "no content in the stub");

    // What the platform stored opens to exactly what was sealed.
    let (text, attachment) = stored_plaintext(&app, &msg.id).await;
    assert_eq!(text, msg.body_text);
    assert_eq!(attachment, msg.attachments[0]);

    // Finalising again answers the same.
    let again: Value = app
        .post(Some(&alice), &format!("/api/v1/messages/{}/finalise", msg.id), json!({}))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(again["link"], done["link"]);

    // Tracking: the slip with recipients and events; search in the sent list.
    let slip: Value = app
        .get(Some(&alice), &format!("/api/v1/messages/{}", msg.id))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(slip["state"], "sent");
    let kinds: Vec<&str> = slip["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["kind"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(kinds, ["created", "uploaded"]);
    let emails: Vec<&str> = slip["recipients"]
        .as_array()
        .expect("r")
        .iter()
        .map(|r| r["email"].as_str().unwrap_or(""))
        .collect();
    assert!(emails.contains(&"bob@outside.example"));
    for (q, found) in
        [("bob@outside", 1), ("q3 FIG", 1), ("hidden@elsewhere", 0), ("nothing-like-it", 0)]
    {
        let list: Value = app
            .get(Some(&alice), &format!("/api/v1/messages?q={q}"))
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(list["messages"].as_array().expect("list").len(), found, "search {q:?}");
    }
}

/// Follows `next` through the sent list, `limit` at a time; the ids in the order listed.
async fn every_page_of_the_sent_list(app: &TestApp, token: &str, limit: u32) -> Vec<String> {
    let (mut ids, mut next) = (Vec::new(), None::<String>);
    loop {
        let before = next.map(|m| format!("&before={m}")).unwrap_or_default();
        let path = format!("/api/v1/messages?limit={limit}{before}");
        let page: Value = app.get(Some(token), &path).await.json().await.expect("json");
        for m in page["messages"].as_array().expect("list") {
            ids.push(m["id"].as_str().expect("id").to_string());
        }
        assert!(ids.len() <= 50, "the pages do not end: {ids:?}");
        match page["next"].as_str() {
            Some(mark) => next = Some(mark.to_string()),
            None => return ids,
        }
    }
}

#[tokio::test]
async fn pages_skip_and_repeat_nothing_when_messages_share_a_millisecond() {
    let app = spawn_app().await;
    let alice = app.user(app.acme, "alice@acme.example", Role::Sender).await;
    let key = app.platform_key().await;
    let mut sent = Vec::new();
    for i in 0..5 {
        let msg = message(
            "alice@acme.example",
            &["bob@outside.example"],
            &format!("Page {i}"),
            &key,
            100,
        );
        let r = app.post(Some(&alice), "/api/v1/messages", msg.slip.clone()).await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let r = app.upload(&alice, &msg.id, 0, msg.envelope.clone()).await;
        assert_eq!(r.status(), StatusCode::OK);
        let path = format!("/api/v1/messages/{}/finalise", msg.id);
        assert_eq!(app.post(Some(&alice), &path, json!({})).await.status(), StatusCode::OK);
        sent.push(msg.id);
    }
    // A busy sender's messages can share a millisecond: make all five do.
    let ms = 1_763_900_000_000_i64;
    let same = "UPDATE messages SET created_at = $1 WHERE sender_email = $2";
    let changed = app
        .state
        .db
        .execute(same, &[ms.into(), "alice@acme.example".into()])
        .await
        .expect("update");
    assert_eq!(changed, 5);
    sent.sort();
    sent.reverse();

    // The API's sent list, two at a time: each message once, newest (then highest id) first.
    assert_eq!(every_page_of_the_sent_list(&app, &alice, 2).await, sent);
    assert_eq!(every_page_of_the_sent_list(&app, &alice, 5).await, sent);

    // The Message Center's folders page the same way: bob's inbox, alice's sent folder.
    for (email, folder) in
        [("bob@outside.example", Folder::Inbox), ("alice@acme.example", Folder::Sent)]
    {
        let (mut ids, mut before) = (Vec::new(), None);
        loop {
            let page = mailbox::list(&app.state.db, email, folder, before.as_ref(), 2)
                .await
                .expect("page");
            ids.extend(page.iter().map(|m| m.id.clone()));
            match page.last() {
                Some(last) if page.len() == 2 => before = Some(PageMark::after(last)),
                _ => break,
            }
        }
        assert_eq!(ids, sent, "{email}'s {folder:?}");
    }

    // A bare time (links from before marks had ids) still means "created before it".
    let all = app.get(Some(&alice), &format!("/api/v1/messages?before={}", ms + 1)).await;
    let all: Value = all.json().await.expect("json");
    assert_eq!(all["messages"].as_array().expect("list").len(), 5);
    let none = app.get(Some(&alice), &format!("/api/v1/messages?before={ms}")).await;
    let none: Value = none.json().await.expect("json");
    assert_eq!(none["messages"].as_array().expect("list").len(), 0);
    // Anything else is refused, plainly.
    for bad in ["yesterday", "1763900000000.not-an-id", "1763900000000.", ".x"] {
        let r = app.get(Some(&alice), &format!("/api/v1/messages?before={bad}")).await;
        assert_eq!(error_code(r).await, (StatusCode::BAD_REQUEST, "bad_request".into()), "{bad}");
    }
}

#[tokio::test]
async fn small_uploads_live_with_their_row_large_ones_as_blobs_and_read_back_as_one() {
    let app = spawn_app().await;
    let alice = app.user(app.acme, "alice@acme.example", Role::Sender).await;
    let key = app.platform_key().await;
    let msg = message("alice@acme.example", &["bob@outside.example"], "Mixed", &key, 200_000);
    let r = app.post(Some(&alice), "/api/v1/messages", msg.slip.clone()).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    // Two small pieces (the header split between them), then one large.
    for (from, to) in [(0, 300), (300, 60_000), (60_000, msg.envelope.len())] {
        let r = app.upload(&alice, &msg.id, from as u64, msg.envelope[from..to].to_vec()).await;
        assert_eq!(r.status(), StatusCode::OK, "{:?}", r.text().await);
    }
    let r =
        app.post(Some(&alice), &format!("/api/v1/messages/{}/finalise", msg.id), json!({})).await;
    assert_eq!(r.status(), StatusCode::OK, "{:?}", r.text().await);
    let (text, attachment) = stored_plaintext(&app, &msg.id).await;
    assert_eq!((text, attachment), (msg.body_text.clone(), msg.attachments[0].clone()));

    let inline_limit = app.state.settings.inline_segment_bytes as i64;
    let segments = messages::segments(&app.state.db, &msg.id).await.expect("segments");
    let blobs = segments.iter().filter(|s| matches!(s.stored, messages::Stored::Blob(_))).count();
    for s in &segments {
        let inline = matches!(s.stored, messages::Stored::Inline(_));
        assert_eq!(inline, s.len <= inline_limit, "segment {} of {} bytes", s.seq, s.len);
    }
    if app.state.settings.blob_store == "local" {
        assert_eq!(inline_limit, 64 << 10, "the default");
        assert_eq!(blobs, 1);
        let files = walk(&app.state.settings.data_dir.join("envelopes"));
        assert_eq!(files.len(), 1, "one file, for the large segment only: {files:?}");
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() { found.extend(walk(&path)) } else { found.push(path) }
    }
    found
}

#[tokio::test]
async fn creating_is_idempotent_and_a_taken_id_is_refused() {
    let app = spawn_app().await;
    let alice = app.user(app.acme, "alice@acme.example", Role::Sender).await;
    let key = app.platform_key().await;
    let msg = message("alice@acme.example", &["bob@outside.example"], "Retry", &key, 10);
    assert_eq!(
        app.post(Some(&alice), "/api/v1/messages", msg.slip.clone()).await.status(),
        StatusCode::CREATED
    );
    assert_eq!(
        app.post(Some(&alice), "/api/v1/messages", msg.slip.clone()).await.status(),
        StatusCode::OK
    );
    let mut changed = msg.slip.clone();
    changed["subject"] = json!("Something else");
    let r = app.post(Some(&alice), "/api/v1/messages", changed).await;
    assert_eq!(error_code(r).await, (StatusCode::CONFLICT, "id_in_use".into()));
    let mut bad = msg.slip.clone();
    bad["to"] = json!(["not an address"]);
    bad["id"] = json!("5f0c4c4e-1c1f-4e7e-9a4e-2b1f9b0c7d11");
    assert_eq!(
        app.post(Some(&alice), "/api/v1/messages", bad).await.status(),
        StatusCode::BAD_REQUEST
    );
    let mut huge = msg.slip.clone();
    huge["envelope_size"] = json!(u64::MAX / 2);
    huge["id"] = json!("6f0c4c4e-1c1f-4e7e-9a4e-2b1f9b0c7d11");
    let r = app.post(Some(&alice), "/api/v1/messages", huge).await;
    assert_eq!(error_code(r).await.0, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn bad_uploads_get_clear_errors_and_change_nothing() {
    let app = spawn_app().await;
    let alice = app.user(app.acme, "alice@acme.example", Role::Sender).await;
    let key = app.platform_key().await;
    let msg = message("alice@acme.example", &["bob@outside.example"], "Checks", &key, 1000);
    app.post(Some(&alice), "/api/v1/messages", msg.slip.clone()).await;

    // Not an envelope.
    let mut garbage = msg.envelope[..200].to_vec();
    garbage[0] = b'X';
    let r = app.upload(&alice, &msg.id, 0, garbage).await;
    assert_eq!(error_code(r).await, (StatusCode::UNPROCESSABLE_ENTITY, "not_an_envelope".into()));
    assert_eq!(received(&app, &alice, &msg.id).await, 0);

    // An envelope sealed for another message id.
    let other = message("alice@acme.example", &["bob@outside.example"], "Checks", &key, 1000);
    let r = app.upload(&alice, &msg.id, 0, other.envelope.clone()).await;
    let (status, code) = error_code(r).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(code == "wrong_message" || code == "size_mismatch", "{code}");
    assert_eq!(received(&app, &alice, &msg.id).await, 0);

    // Wrong offset: told where to resume.
    let r = app.upload(&alice, &msg.id, 10, msg.envelope[..10].to_vec()).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["error"]["code"], "offset_mismatch");
    assert_eq!(v["error"]["received"], 0);

    // Finalise before everything arrived.
    app.upload(&alice, &msg.id, 0, msg.envelope[..100].to_vec()).await;
    let r =
        app.post(Some(&alice), &format!("/api/v1/messages/{}/finalise", msg.id), json!({})).await;
    assert_eq!(error_code(r).await, (StatusCode::CONFLICT, "upload_incomplete".into()));

    // More bytes than declared.
    let mut too_long = msg.envelope[100..].to_vec();
    too_long.push(0);
    let r = app.upload(&alice, &msg.id, 100, too_long).await;
    assert_eq!(error_code(r).await, (StatusCode::UNPROCESSABLE_ENTITY, "trailing_data".into()));
    assert_eq!(received(&app, &alice, &msg.id).await, 100);

    // The rest, correctly, then a replay of the last append.
    assert_eq!(
        app.upload(&alice, &msg.id, 100, msg.envelope[100..].to_vec()).await.status(),
        StatusCode::OK
    );
    let r = app.upload(&alice, &msg.id, 100, msg.envelope[100..].to_vec()).await;
    assert_eq!(error_code(r).await.0, StatusCode::CONFLICT);

    // A JSON body that is not JSON.
    let r = app
        .client
        .post(app.url("/api/v1/messages"))
        .bearer_auth(&alice)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("req");
    assert_eq!(error_code(r).await, (StatusCode::BAD_REQUEST, "bad_request".into()));

    // A subject that would add lines wherever it is echoed (the stub's subject).
    for subject in ["Hello\r\nBcc: eve@outside.example", "Hello\nX", "Hello\u{0}"] {
        let mut m = message("alice@acme.example", &["bob@outside.example"], "x", &key, 10);
        m.slip["subject"] = json!(subject);
        let r = app.post(Some(&alice), "/api/v1/messages", m.slip).await;
        assert_eq!(error_code(r).await, (StatusCode::BAD_REQUEST, "bad_request".into()));
    }
}

#[tokio::test]
async fn api_answers_are_never_cached_sniffed_or_sent_without_https() {
    let app = spawn_app().await;
    let alice = app.user(app.acme, "alice@acme.example", Role::Sender).await;
    for (token, path) in [(Some(alice.as_str()), "/api/v1/me"), (None, "/api/v1/messages/x")] {
        let r = app.get(token, path).await;
        let h = r.headers();
        assert_eq!(h["cache-control"], "no-store", "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert!(h["strict-transport-security"].to_str().expect("hsts").starts_with("max-age="));
    }
}

#[tokio::test]
async fn an_envelope_that_contradicts_its_delivery_slip_is_refused() {
    let app = spawn_app().await;
    let alice = app.user(app.acme, "alice@acme.example", Role::Sender).await;
    let key = app.platform_key().await;
    let msg =
        message("alice@acme.example", &["bob@outside.example"], "What the slip says", &key, 10);
    let mut slip = msg.slip.clone();
    slip["subject"] = json!("Something the envelope does not say");
    app.post(Some(&alice), "/api/v1/messages", slip).await;
    assert_eq!(app.upload(&alice, &msg.id, 0, msg.envelope.clone()).await.status(), StatusCode::OK);
    let r =
        app.post(Some(&alice), &format!("/api/v1/messages/{}/finalise", msg.id), json!({})).await;
    assert_eq!(error_code(r).await, (StatusCode::UNPROCESSABLE_ENTITY, "slip_mismatch".into()));
}

/// How many envelope bytes the platform holds for a message.
async fn received(app: &TestApp, token: &str, id: &str) -> i64 {
    let v: Value = app
        .get(Some(token), &format!("/api/v1/messages/{id}/envelope"))
        .await
        .json()
        .await
        .expect("json");
    v["received"].as_i64().expect("received")
}

/// Uploads and finalises a message for `token`; returns its id.
async fn sent_message(app: &TestApp, token: &str, from: &str) -> String {
    let key = app.platform_key().await;
    let msg = message(from, &["bob@outside.example"], "Hello", &key, 100);
    assert!(
        app.post(Some(token), "/api/v1/messages", msg.slip.clone()).await.status().is_success()
    );
    assert_eq!(app.upload(token, &msg.id, 0, msg.envelope.clone()).await.status(), StatusCode::OK);
    let r =
        app.post(Some(token), &format!("/api/v1/messages/{}/finalise", msg.id), json!({})).await;
    assert_eq!(r.status(), StatusCode::OK);
    msg.id
}

#[tokio::test]
async fn nobody_but_the_sender_and_their_admins_sees_a_message() {
    let app = spawn_app().await;
    let alice = app.user(app.acme, "alice@acme.example", Role::Sender).await;
    let carol = app.user(app.acme, "carol@acme.example", Role::Sender).await;
    let admin = app.user(app.acme, "admin@acme.example", Role::Admin).await;
    let mallory = app.user(app.other, "mallory@other.example", Role::Admin).await;
    let revoked = app.user(app.acme, "dave@acme.example", Role::Sender).await;
    let (dave, _) = accounts::user_by_email(&app.state.db, &"dave@acme.example".parse_email())
        .await
        .expect("db")
        .expect("dave");
    let tokens = accounts::list_tokens(&app.state.db, dave).await.expect("tokens");
    accounts::revoke_token(&app.state.db, dave, tokens[0].id).await.expect("revoke");
    let id = sent_message(&app, &alice, "alice@acme.example").await;

    // Every authenticated route, every way of not being signed in.
    let routes = [
        ("GET", format!("/api/v1/messages/{id}")),
        ("PATCH", format!("/api/v1/messages/{id}")),
        ("GET", format!("/api/v1/messages/{id}/envelope")),
        ("PATCH", format!("/api/v1/messages/{id}/envelope")),
        ("POST", format!("/api/v1/messages/{id}/finalise")),
        ("POST", format!("/api/v1/messages/{id}/recall")),
        ("POST", format!("/api/v1/messages/{id}/sent")),
        ("GET", "/api/v1/messages".to_string()),
        ("POST", "/api/v1/messages".to_string()),
        ("GET", "/api/v1/policy".to_string()),
        ("GET", "/api/v1/me".to_string()),
        ("POST", "/api/v1/me/totp".to_string()),
        ("POST", "/api/v1/me/totp/confirm".to_string()),
        ("DELETE", "/api/v1/me/totp".to_string()),
        ("GET", "/api/v1/tokens".to_string()),
        ("DELETE", "/api/v1/tokens/current".to_string()),
        ("GET", "/api/v1/keys/mine".to_string()),
        ("PUT", "/api/v1/keys/mine".to_string()),
        ("GET", "/api/v1/keys/lookup?email=bob@outside.example".to_string()),
    ];
    for (method, path) in &routes {
        for token in [None, Some("spdt_not-a-real-token"), Some(revoked.as_str())] {
            let mut r = app
                .client
                .request(method.parse().expect("method"), app.url(path))
                .header("Upload-Offset", "0")
                .json(&json!({}));
            if let Some(t) = token {
                r = r.bearer_auth(t);
            }
            let r = r.send().await.expect("request");
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{method} {path} with {token:?}");
        }
    }
    for (who, token) in [("another sender", &carol), ("another tenant's admin", &mallory)] {
        let r = app.get(Some(token), &format!("/api/v1/messages/{id}")).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{who}");
        let body = r.text().await.expect("text");
        assert!(!body.contains("bob@") && !body.contains("Hello"), "{who} sees no data: {body}");
        let r = app.post(Some(token), &format!("/api/v1/messages/{id}/recall"), json!({})).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{who} cannot recall");
        let r = app.post(Some(token), &format!("/api/v1/messages/{id}/finalise"), json!({})).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{who} cannot finalise");
        let list: Value =
            app.get(Some(token), "/api/v1/messages").await.json().await.expect("json");
        assert!(list["messages"].as_array().expect("list").is_empty(), "{who}'s sent list");
    }
    // The tenant's admin can see it; the sender's own view shows BCC only to the sender.
    let r = app.get(Some(&admin), &format!("/api/v1/messages/{id}")).await;
    assert_eq!(r.status(), StatusCode::OK);
    // Another tenant's user cannot reuse the id either.
    let key = app.platform_key().await;
    let mut stolen =
        message("mallory@other.example", &["x@outside.example"], "Mine", &key, 10).slip;
    stolen["id"] = json!(id);
    let r = app.post(Some(&mallory), "/api/v1/messages", stolen).await;
    assert_eq!(error_code(r).await, (StatusCode::CONFLICT, "id_in_use".into()));
    // Tokens are per user: carol cannot revoke alice's.
    let alice_tokens: Value =
        app.get(Some(&alice), "/api/v1/tokens").await.json().await.expect("json");
    let alice_token_id = alice_tokens["tokens"][0]["id"].as_i64().expect("id");
    let r = app
        .client
        .delete(app.url(&format!("/api/v1/tokens/{alice_token_id}")))
        .bearer_auth(&carol)
        .send()
        .await
        .expect("req");
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.get(Some(&alice), "/api/v1/me").await.status(), StatusCode::OK);
}

trait ParseEmail {
    fn parse_email(&self) -> sealpost_platform::domain::EmailAddress;
}

impl ParseEmail for str {
    fn parse_email(&self) -> sealpost_platform::domain::EmailAddress {
        sealpost_platform::domain::EmailAddress::parse(self).expect("email")
    }
}

#[tokio::test]
async fn recall_and_expiry_are_enforced_on_later_access() {
    let app = spawn_app().await;
    let alice = app.user(app.acme, "alice@acme.example", Role::Sender).await;
    let id = sent_message(&app, &alice, "alice@acme.example").await;
    let r = app.post(Some(&alice), &format!("/api/v1/messages/{id}/recall"), json!({})).await;
    assert_eq!(r.json::<Value>().await.expect("json")["state"], "recalled");
    let slip: Value =
        app.get(Some(&alice), &format!("/api/v1/messages/{id}")).await.json().await.expect("json");
    assert_eq!(slip["state"], "recalled");
    assert!(slip["events"].as_array().expect("e").iter().any(|e| e["kind"] == "recalled"));
    let r = app.post(Some(&alice), &format!("/api/v1/messages/{id}/finalise"), json!({})).await;
    assert_eq!(error_code(r).await, (StatusCode::GONE, "recalled".into()));

    // Expiry set in the past after creation: uploads are refused.
    let key = app.platform_key().await;
    let msg = message("alice@acme.example", &["bob@outside.example"], "Short-lived", &key, 10);
    app.post(Some(&alice), "/api/v1/messages", msg.slip.clone()).await;
    let r = app
        .client
        .patch(app.url(&format!("/api/v1/messages/{}", msg.id)))
        .bearer_auth(&alice)
        .json(&json!({"expires_at": 1}))
        .send()
        .await
        .expect("req");
    assert_eq!(r.json::<Value>().await.expect("json")["state"], "expired");
    let r = app.upload(&alice, &msg.id, 0, msg.envelope.clone()).await;
    assert_eq!(error_code(r).await, (StatusCode::GONE, "expired".into()));
}

#[tokio::test]
async fn key_rotation_keeps_envelopes_for_the_old_key_acceptable() {
    let app = spawn_app().await;
    let alice = app.user(app.acme, "alice@acme.example", Role::Sender).await;
    let old_key = app.platform_key().await;
    let first = sent_message(&app, &alice, "alice@acme.example").await;

    // Rotate (as `admin rotate-platform-key` does, from another process).
    let new_id =
        platform_keys::rotate(&app.state.db, &app.state.master, 3072).await.expect("rotate");
    // An envelope sealed for the old key (a helper that has not refreshed yet) still works…
    let msg = message("alice@acme.example", &["bob@outside.example"], "Old key", &old_key, 10);
    app.post(Some(&alice), "/api/v1/messages", msg.slip.clone()).await;
    app.upload(&alice, &msg.id, 0, msg.envelope.clone()).await;
    let r =
        app.post(Some(&alice), &format!("/api/v1/messages/{}/finalise", msg.id), json!({})).await;
    assert_eq!(r.status(), StatusCode::OK);
    // …and one for the new key is accepted by a node that had not loaded it yet.
    let new_key = sealpost_envelope::PublicKey::from_spki_der(
        &sqlx::query_as::<_, (Vec<u8>,)>("SELECT public_spki FROM platform_keys WHERE key_id = $1")
            .bind(new_id.to_hex())
            .fetch_one(&app.state.db.pool)
            .await
            .expect("row")
            .0,
    )
    .expect("key");
    let msg = message("alice@acme.example", &["bob@outside.example"], "New key", &new_key, 10);
    app.post(Some(&alice), "/api/v1/messages", msg.slip.clone()).await;
    app.upload(&alice, &msg.id, 0, msg.envelope.clone()).await;
    let r =
        app.post(Some(&alice), &format!("/api/v1/messages/{}/finalise", msg.id), json!({})).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(app.platform_key().await.key_id(), new_id, "the new key is now served");
    // The first message is still readable.
    let (text, _) = stored_plaintext(&app, &first).await;
    assert!(text.contains("Hello"));
}

#[tokio::test]
async fn the_audit_log_records_actions_and_shows_where_it_was_altered() {
    let app = spawn_app().await;
    let alice = app.user(app.acme, "alice@acme.example", Role::Sender).await;
    app.post(
        None,
        "/api/v1/auth/sign-in",
        json!({"email": "alice@acme.example", "password": "wrong"}),
    )
    .await;
    let login = json!({"email": "alice@acme.example", "password": PASSWORD});
    assert_eq!(app.post(None, "/api/v1/auth/sign-in", login).await.status(), StatusCode::CREATED);
    let id = sent_message(&app, &alice, "alice@acme.example").await;
    app.post(Some(&alice), &format!("/api/v1/messages/{id}/recall"), json!({})).await;

    let actions: Vec<(String, String)> =
        sqlx::query_as("SELECT actor, action FROM audit_log ORDER BY seq")
            .fetch_all(&app.state.db.pool)
            .await
            .expect("rows");
    let names: Vec<&str> = actions.iter().map(|(_, a)| a.as_str()).collect();
    let expected = [
        "sign_in.failed",
        "sign_in.succeeded",
        "message.created",
        "message.finalised",
        "message.recalled",
    ];
    assert_eq!(names, expected);
    assert_eq!(audit::verify(&app.state.db).await.expect("verify"), Verdict::Intact { entries: 5 });

    // Someone with database access rewrites history.
    sqlx::query("UPDATE audit_log SET actor = $1 WHERE seq = $2")
        .bind("someone-else@acme.example")
        .bind(4_i64)
        .execute(&app.state.db.pool)
        .await
        .expect("tamper");
    assert_eq!(
        audit::verify(&app.state.db).await.expect("verify"),
        Verdict::Broken { seq: 4, reason: "its contents were changed" }
    );
    // Deleting a row is caught too.
    sqlx::query("DELETE FROM audit_log WHERE seq = $1")
        .bind(2_i64)
        .execute(&app.state.db.pool)
        .await
        .expect("delete");
    assert!(matches!(
        audit::verify(&app.state.db).await.expect("verify"),
        Verdict::Broken { seq: 2, .. }
    ));
}

#[tokio::test]
async fn users_register_keys_that_senders_look_up_with_the_compliance_key() {
    let app = spawn_app().await;
    let alice = app.user(app.acme, "alice@acme.example", Role::Sender).await;
    let bob = app.user(app.other, "bob@other.example", Role::Sender).await;
    let put = |token: &str, pem: String| {
        app.client
            .put(app.url("/api/v1/keys/mine"))
            .bearer_auth(token.to_string())
            .json(&json!({ "public_key_pem": pem }))
            .send()
    };
    let bob_key =
        sealpost_envelope::PrivateKey::generate(sealpost_envelope::RsaBits::Rsa3072).expect("key");
    let r = put(&bob, bob_key.public_key().to_pem().expect("pem")).await.expect("req");
    assert_eq!(r.status(), StatusCode::OK);

    let weak = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../envelope/tests/vectors/keys/weak-2048.pem"
    ))
    .expect("weak key");
    let weak_pub = {
        // The envelope crate refuses to load a 2048-bit key at all, so take its public half
        // with the openssl CLI (installed by scripts/test).
        let out = std::process::Command::new("openssl")
            .args(["pkey", "-pubout"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                use std::io::Write;
                c.stdin.take().expect("stdin").write_all(weak.as_bytes())?;
                c.wait_with_output()
            })
            .expect("openssl");
        String::from_utf8(out.stdout).expect("pem")
    };
    let r = put(&alice, weak_pub).await.expect("req");
    assert_eq!(error_code(r).await, (StatusCode::UNPROCESSABLE_ENTITY, "bad_key".into()));

    let look = |q: &str| {
        let path = format!("/api/v1/keys/lookup?email={q}");
        let (app, alice) = (&app, alice.clone());
        async move { app.get(Some(&alice), &path).await }
    };
    let v: Value = look("bob@other.example,nobody@acme.example").await.json().await.expect("json");
    assert_eq!(v["keys"].as_array().expect("keys").len(), 1);
    assert_eq!(v["keys"][0]["key_id"], bob_key.key_id().to_hex());
    assert!(v["compliance"].is_null());

    // Bob rotates: the lookup follows, his own list keeps the old key retired.
    let newer =
        sealpost_envelope::PrivateKey::generate(sealpost_envelope::RsaBits::Rsa3072).expect("key");
    put(&bob, newer.public_key().to_pem().expect("pem")).await.expect("req");
    let v: Value = look("bob@other.example").await.json().await.expect("json");
    assert_eq!(v["keys"][0]["key_id"], newer.key_id().to_hex());
    let mine: Value = app.get(Some(&bob), "/api/v1/keys/mine").await.json().await.expect("json");
    let actives: Vec<bool> = mine["keys"]
        .as_array()
        .expect("k")
        .iter()
        .map(|k| k["active"].as_bool().unwrap_or(true))
        .collect();
    assert_eq!(actives, [true, false]);

    // With a compliance copy in the policy, the tenant's compliance key comes along.
    let compliance =
        sealpost_envelope::PrivateKey::generate(sealpost_envelope::RsaBits::Rsa3072).expect("key");
    sealpost_platform::store::user_keys::set_compliance_key(
        &app.state.db,
        app.acme,
        Some(compliance.public_key()),
    )
    .await
    .expect("set");
    let mut policy = accounts::policy(&app.state.db, app.acme).await.expect("policy");
    policy.compliance_copy = true;
    accounts::set_policy(&app.state.db, app.acme, &policy).await.expect("set policy");
    let v: Value = look("bob@other.example").await.json().await.expect("json");
    assert_eq!(v["compliance"]["key_id"], compliance.key_id().to_hex());
    let r = look("not-an-address").await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn two_factor_sign_in_needs_a_fresh_code_once_enabled() {
    use sealpost_platform::store::totp::code_at;
    let app = spawn_app().await;
    let alice = app.user(app.acme, "alice@acme.example", Role::Sender).await;
    let enrol: Value =
        app.post(Some(&alice), "/api/v1/me/totp", json!({})).await.json().await.expect("json");
    let secret = enrol["secret_base32"].as_str().expect("secret").to_string();
    assert!(enrol["otpauth_url"].as_str().expect("url").starts_with("otpauth://totp/"));

    // Not yet required: signing in with the password alone still works before confirming.
    let login = |totp: Option<String>| json!({"email": "alice@acme.example", "password": PASSWORD, "totp": totp});
    assert_eq!(
        app.post(None, "/api/v1/auth/sign-in", login(None)).await.status(),
        StatusCode::CREATED
    );

    let r = app.post(Some(&alice), "/api/v1/me/totp/confirm", json!({"code": "000000"})).await;
    assert_eq!(error_code(r).await.1, "bad_code");
    let now_code = code_at(&secret, 0).expect("code");
    let r = app.post(Some(&alice), "/api/v1/me/totp/confirm", json!({"code": now_code})).await;
    assert_eq!(r.status(), StatusCode::OK);

    let r = app.post(None, "/api/v1/auth/sign-in", login(None)).await;
    assert_eq!(error_code(r).await, (StatusCode::UNAUTHORIZED, "totp_required".into()));
    let r = app.post(None, "/api/v1/auth/sign-in", login(Some("123456".into()))).await;
    assert_eq!(error_code(r).await, (StatusCode::UNAUTHORIZED, "bad_credentials".into()));
    // The code used to confirm cannot be replayed.
    let r = app.post(None, "/api/v1/auth/sign-in", login(Some(now_code))).await;
    assert_eq!(error_code(r).await, (StatusCode::UNAUTHORIZED, "bad_credentials".into()));
    // The next step's code (within the allowed clock skew) works, once.
    let next = code_at(&secret, 30).expect("code");
    assert_eq!(
        app.post(None, "/api/v1/auth/sign-in", login(Some(next.clone()))).await.status(),
        StatusCode::CREATED
    );
    let r = app.post(None, "/api/v1/auth/sign-in", login(Some(next))).await;
    assert_eq!(error_code(r).await.1, "bad_credentials");

    // Turning it off needs a valid code too.
    let off = app
        .client
        .delete(app.url("/api/v1/me/totp"))
        .bearer_auth(&alice)
        .json(&json!({"code": "000000"}))
        .send()
        .await
        .expect("req");
    assert_eq!(error_code(off).await.1, "bad_code");
}

#[tokio::test]
async fn the_openapi_document_describes_every_route() {
    let app = spawn_app().await;
    let doc: Value = app.get(None, "/api/v1/openapi.json").await.json().await.expect("json");
    assert!(doc["openapi"].as_str().expect("version").starts_with("3."));
    let expected = [
        ("post", "/api/v1/auth/sign-in"),
        ("get", "/api/v1/me"),
        ("post", "/api/v1/me/totp"),
        ("post", "/api/v1/me/totp/confirm"),
        ("delete", "/api/v1/me/totp"),
        ("get", "/api/v1/tokens"),
        ("delete", "/api/v1/tokens/{id}"),
        ("get", "/api/v1/policy"),
        ("get", "/api/v1/keys/platform"),
        ("get", "/api/v1/keys/mine"),
        ("put", "/api/v1/keys/mine"),
        ("get", "/api/v1/keys/lookup"),
        ("post", "/api/v1/messages"),
        ("get", "/api/v1/messages"),
        ("get", "/api/v1/messages/{id}"),
        ("patch", "/api/v1/messages/{id}"),
        ("get", "/api/v1/messages/{id}/envelope"),
        ("patch", "/api/v1/messages/{id}/envelope"),
        ("post", "/api/v1/messages/{id}/finalise"),
        ("post", "/api/v1/messages/{id}/recall"),
        ("post", "/api/v1/messages/{id}/sent"),
        ("get", "/healthz"),
    ];
    for (method, path) in expected {
        let op = &doc["paths"][path][method];
        assert!(op.is_object(), "{method} {path} is missing from the document");
        assert!(op["responses"].is_object(), "{method} {path} documents its responses");
    }
    assert_eq!(doc["components"]["securitySchemes"]["device_token"]["scheme"], "bearer");
    assert!(
        doc["components"]["schemas"]["DeliverySlip"]["properties"]["envelope_size"].is_object()
    );
    assert!(doc["components"]["schemas"]["Finalised"]["properties"]["stub"].is_object());
}

/// Every JSON answer is a typed schema with its fields, and each limit the platform enforces
/// is the one the document publishes (clients in other languages are checked against it).
#[tokio::test]
async fn the_openapi_document_shows_every_field_and_the_enforced_limits() {
    use sealpost_platform::messages::slip::{MAX_RECIPIENTS, MAX_SUBJECT_CHARS, UNLOCK_CODE_CHARS};
    let app = spawn_app().await;
    let doc: Value = app.get(None, "/api/v1/openapi.json").await.json().await.expect("json");
    // No answer is a bare object without fields.
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("item") {
            for (status, answer) in op["responses"].as_object().into_iter().flatten() {
                let schema = &answer["content"]["application/json"]["schema"];
                assert!(
                    schema.is_null() || schema.get("$ref").is_some(),
                    "{method} {path} {status} answers with an untyped body: {schema}"
                );
            }
        }
    }
    let schemas = &doc["components"]["schemas"];
    let slip = &schemas["DeliverySlip"]["properties"];
    assert_eq!(slip["subject"]["maxLength"], MAX_SUBJECT_CHARS);
    for list in ["to", "cc", "bcc"] {
        assert_eq!(slip[list]["maxItems"], MAX_RECIPIENTS, "{list}");
    }
    let code = &schemas["UnlockCode"]["properties"]["code"];
    assert_eq!(code["minLength"], *UNLOCK_CODE_CHARS.start());
    assert_eq!(code["maxLength"], *UNLOCK_CODE_CHARS.end());
    let states = &schemas["MessageStatus"]["enum"];
    assert_eq!(states, &json!(["uploading", "sent", "recalled", "expired"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_senders_at_once_all_succeed() {
    // Regression: on SQLite, transactions that read before writing (creating a message, the
    // audit chain) failed with "database is locked" under concurrent load instead of waiting
    // for the write lock.
    let app = std::sync::Arc::new(spawn_app().await);
    let key = app.platform_key().await;
    let mut tokens = Vec::new();
    for i in 0..8 {
        tokens.push(app.user(app.acme, &format!("sender{i}@acme.example"), Role::Sender).await);
    }
    let mut created = 0;
    for _round in 0..4 {
        let mut requests = Vec::new();
        for i in 0..48 {
            let token = tokens[i % tokens.len()].clone();
            let from = format!("sender{}@acme.example", i % tokens.len());
            let slip = message(&from, &["bob@outside.example"], "Busy", &key, 10).slip;
            let app = app.clone();
            requests.push(tokio::spawn(async move {
                app.post(Some(&token), "/api/v1/messages", slip).await.status()
            }));
        }
        for r in requests {
            assert_eq!(r.await.expect("task"), StatusCode::CREATED);
            created += 1;
        }
    }
    let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM messages")
        .fetch_one(&app.state.db.pool)
        .await
        .expect("count");
    assert_eq!(count, created);
    assert_eq!(
        audit::verify(&app.state.db).await.expect("verify"),
        Verdict::Intact { entries: created }
    );
}

#[tokio::test]
async fn the_mail_client_reports_the_stub_sent_once_for_every_recipient() {
    let app = spawn_app().await;
    let alice = app.user(app.acme, "alice@acme.example", Role::Sender).await;
    let key = app.platform_key().await;
    let msg = message("alice@acme.example", &["bob@outside.example"], "Sent", &key, 10);
    app.post(Some(&alice), "/api/v1/messages", msg.slip.clone()).await;
    let sent = format!("/api/v1/messages/{}/sent", msg.id);
    let r = app.post(Some(&alice), &sent, json!({})).await;
    assert_eq!(error_code(r).await, (StatusCode::CONFLICT, "not_final".into()));

    app.upload(&alice, &msg.id, 0, msg.envelope.clone()).await;
    app.post(Some(&alice), &format!("/api/v1/messages/{}/finalise", msg.id), json!({})).await;
    assert_eq!(app.post(Some(&alice), &sent, json!({})).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.post(Some(&alice), &sent, json!({})).await.status(), StatusCode::NO_CONTENT);

    let slip: Value = app
        .get(Some(&alice), &format!("/api/v1/messages/{}", msg.id))
        .await
        .json()
        .await
        .expect("json");
    for r in slip["recipients"].as_array().expect("recipients") {
        assert!(r["status"]["sent"].is_i64(), "{} shows sent: {r}", r["email"]);
    }
    let sent_events =
        slip["events"].as_array().expect("events").iter().filter(|e| e["kind"] == "sent").count();
    assert_eq!(sent_events, 2, "one per recipient (To and Bcc), recorded once");
    let (audited,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM audit_log WHERE action = 'message.sent'")
            .fetch_one(&app.state.db.pool)
            .await
            .expect("count");
    assert_eq!(audited, 1);
}

#[tokio::test]
async fn one_address_cannot_try_sign_ins_without_limit() {
    let app = spawn_app_with(|s| s.sign_in_attempts_per_minute = 3).await;
    app.user(app.acme, "alice@acme.example", Role::Sender).await;
    // Different accounts each time: the per-account lockout never triggers, the per-address
    // limit does.
    for i in 0..3 {
        let r = app
            .post(
                None,
                "/api/v1/auth/sign-in",
                json!({"email": format!("guess{i}@acme.example"), "password": "x"}),
            )
            .await;
        assert_eq!(error_code(r).await.1, "bad_credentials");
    }
    let r = app
        .post(
            None,
            "/api/v1/auth/sign-in",
            json!({"email": "alice@acme.example", "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["error"]["code"], "rate_limited");
    assert!(v["error"]["retry_after_seconds"].as_u64().is_some_and(|s| (1..=60).contains(&s)));
}

#[tokio::test]
async fn abandoned_uploads_are_swept_and_finished_messages_stay() {
    let app = spawn_app().await;
    let alice = app.user(app.acme, "alice@acme.example", Role::Sender).await;
    let key = app.platform_key().await;
    let kept = sent_message(&app, &alice, "alice@acme.example").await;
    let msg = message("alice@acme.example", &["bob@outside.example"], "Never sent", &key, 300_000);
    assert_eq!(
        app.post(Some(&alice), "/api/v1/messages", msg.slip.clone()).await.status(),
        StatusCode::CREATED
    );
    let r = app.upload(&alice, &msg.id, 0, msg.envelope[..100_000].to_vec()).await;
    assert_eq!(r.status(), StatusCode::OK);
    let segments = messages::segments(&app.state.db, &msg.id).await.expect("segments");
    assert_eq!(segments.len(), 1);

    // Younger than the limit: left alone.
    let none = sealpost_platform::sweep::abandoned_uploads(
        &app.state,
        std::time::Duration::from_secs(3600),
    );
    assert_eq!(none.await.expect("sweep"), 0);
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let swept = sealpost_platform::sweep::abandoned_uploads(&app.state, std::time::Duration::ZERO);
    assert_eq!(swept.await.expect("sweep"), 1, "only the unfinished one");

    let gone = app.get(Some(&alice), &format!("/api/v1/messages/{}", msg.id)).await;
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    let messages::Stored::Blob(blob) = &segments[0].stored else {
        panic!("a 100 kB segment is a blob")
    };
    assert!(app.state.blobs.read(blob, 0..10).await.is_err(), "segment deleted");
    let still = app.get(Some(&alice), &format!("/api/v1/messages/{kept}")).await;
    assert_eq!(still.status(), StatusCode::OK, "a finalised message is never swept");
    assert!(matches!(audit::verify(&app.state.db).await.expect("verify"), Verdict::Intact { .. }));
    let log: Vec<(String,)> =
        sqlx::query_as("SELECT action FROM audit_log WHERE action = 'message.abandoned'")
            .fetch_all(&app.state.db.pool)
            .await
            .expect("audit");
    assert_eq!(log.len(), 1);
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit() {
    let attempt = |app: &TestApp, from: &str| {
        app.client
            .post(app.url("/api/v1/auth/sign-in"))
            .header("X-Forwarded-For", format!("203.0.113.50, {from}"))
            .json(&json!({"email": "nobody@acme.example", "password": "x"}))
            .send()
    };
    // The test client connects from 127.0.0.1, which this platform trusts as its proxy.
    let app = spawn_app_with(|s| {
        s.sign_in_attempts_per_minute = 2;
        s.trusted_proxies = vec!["127.0.0.0/8".parse().expect("net")];
    })
    .await;
    for _ in 0..2 {
        assert_eq!(
            attempt(&app, "198.51.100.1").await.expect("send").status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let r = attempt(&app, "198.51.100.1").await.expect("send");
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS, "that client is limited");
    let r = attempt(&app, "198.51.100.2").await.expect("send");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "another client behind the proxy is not");

    // Without the trust, the header is the client's own claim and changes nothing.
    let app = spawn_app_with(|s| s.sign_in_attempts_per_minute = 2).await;
    for from in ["198.51.100.1", "198.51.100.2"] {
        assert_eq!(attempt(&app, from).await.expect("send").status(), StatusCode::UNAUTHORIZED);
    }
    let r = attempt(&app, "198.51.100.3").await.expect("send");
    assert_eq!(
        r.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "spoofed addresses do not escape the limit"
    );
}

#[tokio::test]
async fn a_domain_belongs_to_one_organisation() {
    use sealpost_platform::domain::EmailAddress;
    use sealpost_platform::store::accounts::OutsideDomains;
    let app = spawn_app().await;
    let add = |email: &'static str, outside| {
        let db = app.state.db.clone();
        async move {
            let email = EmailAddress::parse(email).expect("address");
            let password = zeroize::Zeroizing::new(helpers::PASSWORD.to_string());
            accounts::create_member(&db, app.acme, &email, Role::Sender, password, outside).await
        }
    };
    // Another organisation's domain: never, even when outside addresses are allowed.
    for outside in [OutsideDomains::Refuse, OutsideDomains::Allow] {
        let e = add("mallory@other.example", outside).await.expect_err("refused");
        assert!(e.to_string().contains("another organisation"), "{e}");
    }
    // A domain nobody has: only when an operator allows it.
    let e = add("ann@freemail.example", OutsideDomains::Refuse).await.expect_err("refused");
    assert!(e.to_string().contains("not one of this organisation's domains"), "{e}");
    add("ann@freemail.example", OutsideDomains::Allow).await.expect("allowed explicitly");
    add("alice@acme.example", OutsideDomains::Refuse).await.expect("its own domain");
}
