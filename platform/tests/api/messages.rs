//! Messages: create from the delivery slip, upload resumably, finalise, the sent list,
//! who sees what, recall and expiry, the stub reported sent, sweeping abandoned uploads.

use reqwest::StatusCode;
use sealpost_platform::domain::Role;
use sealpost_platform::store::audit::{self, Verdict};
use sealpost_platform::store::mailbox::{self, Folder};
use sealpost_platform::store::{PageMark, accounts, messages};
use serde_json::{Value, json};

use crate::helpers::{
    error_code, every_page_of_the_sent_list, message, received, sent_message, spawn_app,
    stored_plaintext,
};
use crate::support::walk;

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
