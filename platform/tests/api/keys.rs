//! Users' own keys, the key lookup before sealing, and platform key rotation.

use reqwest::StatusCode;
use sealpost_platform::domain::Role;
use sealpost_platform::store::{accounts, platform_keys};
use serde_json::{Value, json};

use crate::helpers::{error_code, message, sent_message, spawn_app, stored_plaintext};

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
