//! The tenant policy over the API: `POST /api/v1/classify` answers the shared table of cases
//! (`policy/fixtures/classify.json`) exactly as the crate does, for the caller's tenant only,
//! to signed-in callers only, and within its bounds.

use reqwest::StatusCode;
use sealpost_platform::domain::Role;
use sealpost_platform::messages::slip::MAX_RECIPIENTS;
use sealpost_platform::routes::policy::MAX_CLASSIFY_BODY;
use sealpost_platform::store::accounts;
use sealpost_policy::fixtures::classify_cases;
use sealpost_policy::{Decision, MAX_SCANNED_BODY, Policy, ReasonCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code, spawn_app};

const CLASSIFY: &str = "/api/v1/classify";

async fn classify(app: &TestApp, token: &str, request: Value) -> Decision {
    let r = app.post(Some(token), CLASSIFY, request).await;
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.expect("decision")
}

#[tokio::test]
async fn classify_answers_the_shared_table_of_cases() {
    let app = spawn_app().await;
    let alice = app.user(app.acme, "alice@acme.example", Role::Sender).await;
    let mut failures = Vec::new();
    for case in classify_cases() {
        accounts::set_policy(&app.state.db, app.acme, &case.policy()).await.expect("policy");
        let request = json!({"candidate": case.candidate(), "toggle": case.toggle});
        let decision = classify(&app, &alice, request).await;
        failures.extend(case.check(&decision).err());
    }
    assert!(failures.is_empty(), "{} cases failed:\n{}", failures.len(), failures.join("\n"));
}

#[tokio::test]
async fn classify_decides_by_the_callers_own_tenant_policy() {
    let app = spawn_app().await;
    let alice = app.user(app.acme, "alice@acme.example", Role::Sender).await;
    let mallory = app.user(app.other, "mallory@other.example", Role::Admin).await;
    let request = json!({"candidate": {"recipients": ["bob@acme.example"]}});
    assert!(!classify(&app, &alice, request.clone()).await.secure, "internal for acme");
    let d = classify(&app, &mallory, request).await;
    assert!(d.secure && d.required_by_policy, "external for the other tenant: {d:?}");
    assert_eq!(d.reasons[0].code, ReasonCode::ExternalRecipient);
    // The document the helper caches is the one the answers come from.
    let served: Policy =
        app.get(Some(&alice), "/api/v1/policy").await.json().await.expect("policy");
    assert_eq!(served, accounts::policy(&app.state.db, app.acme).await.expect("policy"));
}

#[tokio::test]
async fn classify_needs_a_device_token() {
    let app = spawn_app().await;
    let request = json!({"candidate": {"recipients": ["bob@outside.example"]}});
    for token in [None, Some("spdt_not-a-real-token")] {
        let r = app.post(token, CLASSIFY, request.clone()).await;
        assert_eq!(error_code(r).await, (StatusCode::UNAUTHORIZED, "unauthorized".into()));
    }
}

#[tokio::test]
async fn classify_bounds_its_input_and_says_what_is_wrong() {
    let app = spawn_app().await;
    let alice = app.user(app.acme, "alice@acme.example", Role::Sender).await;
    let bad_request = (StatusCode::BAD_REQUEST, "bad_request".to_string());

    let recipients =
        |n: usize| -> Vec<String> { (0..n).map(|i| format!("r{i}@outside.example")).collect() };
    let most = json!({"candidate": {"recipients": recipients(MAX_RECIPIENTS)}});
    assert_eq!(classify(&app, &alice, most).await.reasons.len(), MAX_RECIPIENTS);
    let too_many = json!({"candidate": {"recipients": recipients(MAX_RECIPIENTS + 1)}});
    assert_eq!(error_code(app.post(Some(&alice), CLASSIFY, too_many).await).await, bad_request);

    for malformed in [
        json!({}),
        json!({"candidate": {"recipients": "bob@outside.example"}}),
        json!({"candidate": {"recipients": [], "bcc": []}}),
        json!({"candidate": {}, "toggle": "yes"}),
        json!({"candidate": {}, "policy": {"secure_external": false}}),
        json!({"candidate": {"attachments": -1}}),
    ] {
        let r = app.post(Some(&alice), CLASSIFY, malformed.clone()).await;
        assert_eq!(error_code(r).await, bad_request, "{malformed}");
    }

    // What a client is told to send (each body clipped to the scanned length and one byte)
    // fits, and is decided as the whole would be.
    let mut policy = accounts::policy(&app.state.db, app.acme).await.expect("policy");
    policy.dlp_patterns = vec!["never matches".into()];
    accounts::set_policy(&app.state.db, app.acme, &policy).await.expect("policy");
    let clipped = "x".repeat(MAX_SCANNED_BODY + 1);
    let request = json!({"candidate": {"recipients": ["bob@acme.example"],
        "text": clipped, "html": clipped}});
    let d = classify(&app, &alice, request).await;
    assert_eq!(d.reasons.iter().map(|r| r.code).collect::<Vec<_>>(), [ReasonCode::DlpTruncated]);

    // More than the cap is refused with the status for it, and how to stay under it.
    let over = "x".repeat(MAX_CLASSIFY_BODY);
    let r = app.post(Some(&alice), CLASSIFY, json!({"candidate": {"text": over}})).await;
    let status = r.status();
    let body: Value = r.json().await.expect("json");
    assert_eq!(
        (status, &body["error"]["code"]),
        (StatusCode::PAYLOAD_TOO_LARGE, &json!("too_large"))
    );
    let message = body["error"]["message"].as_str().expect("message");
    assert!(message.contains(&(MAX_SCANNED_BODY + 1).to_string()), "{message}");
}
