//! What every client relies on: health, the platform key, response headers, the OpenAPI
//! document (every route, every field, the published limits) and the audit log.

use reqwest::StatusCode;
use sealpost_platform::domain::Role;
use sealpost_platform::store::audit::{self, Verdict};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, sent_message, spawn_app};

#[tokio::test]
async fn health_and_platform_key_are_public() {
    let app = spawn_app().await;
    assert_eq!(app.get(None, "/healthz").await.status(), StatusCode::OK);
    let ready = app.get(None, "/readyz").await;
    assert_eq!(ready.status(), StatusCode::OK);
    assert_eq!(ready.json::<Value>().await.expect("json")["status"], "ok");
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
        ("get", "/readyz"),
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
async fn the_mail_queue_length_is_in_the_metrics() {
    use sealpost_platform::store::notifications::{self, Outgoing, QueueLength};
    let app = spawn_app().await;
    let mail = |key: &str| Outgoing {
        key: key.into(),
        tenant_id: Some(app.acme),
        kind: "test".into(),
        recipient: "someone@outside.example".into(),
        subject: "queued".into(),
        text: "queued".into(),
        html: None,
    };
    let db = &app.state.db;
    for key in ["first", "second", "third"] {
        assert!(notifications::enqueue(db, &app.state.master, &mail(key)).await.expect("queue"));
    }
    // Not due for a day (so this test's worker leaves them), one already tried, one given up.
    let day_later = sealpost_platform::db::now_ms() + 86_400_000;
    db.execute("UPDATE notifications SET next_attempt_at = $1", &[day_later.into()])
        .await
        .expect("due");
    db.execute("UPDATE notifications SET attempts = 2 WHERE idempotency_key = 'second'", &[])
        .await
        .expect("retrying");
    db.execute("UPDATE notifications SET state = 'dead' WHERE idempotency_key = 'third'", &[])
        .await
        .expect("dead");
    let q = notifications::queue_length(db).await.expect("length");
    assert_eq!((q.waiting, q.retrying, q.dead), (1, 1, 1), "{q:?}");
    assert!(q.oldest_ms < 60_000, "{q:?}");
    assert_eq!(QueueLength::default().oldest_ms, 0);

    let metrics = app.get(None, "/metrics").await.text().await.expect("text");
    for line in ["sealpost_mail_queue{state=\"dead\"}", "sealpost_mail_queue_oldest_seconds"] {
        assert!(metrics.contains(line), "{line} in {metrics}");
    }
}
