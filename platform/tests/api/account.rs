//! Signing in (device tokens, two-factor, lockouts, per-address limits) and who may be a member.

use reqwest::StatusCode;
use sealpost_platform::domain::Role;
use sealpost_platform::store::accounts;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, error_code, spawn_app, spawn_app_with};

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
            let password = zeroize::Zeroizing::new(crate::helpers::PASSWORD.to_string());
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
