#![allow(unreachable_pub)]

//! `spawn_app()`: the real platform on a random port, over real TLS, with its own data folder
//! and database (SQLite, or a fresh PostgreSQL database when `SEALPOST_TEST_DATABASE_URL`
//! points at a server), plus helpers to make users and real envelopes.

use reqwest::{Certificate, Client, Response, StatusCode};
use sealpost_envelope::{Body, Manifest, MessageId, Metadata, PublicKey, Sealer, StanzaRole};
use sealpost_platform::config::Settings;
use sealpost_platform::domain::{EmailAddress, Policy, Role};
use sealpost_platform::startup::{self, Running};
use sealpost_platform::state::AppState;
use sealpost_platform::store::accounts;
use serde_json::{Value, json};
use zeroize::Zeroizing;

pub const PASSWORD: &str = "correct horse battery staple";

pub struct TestApp {
    pub base: String,
    pub client: Client,
    pub state: AppState,
    pub _running: Running,
    pub acme: i64,
    pub other: i64,
    _dir: tempfile::TempDir,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Like [`spawn_app`], with settings adjusted before start.
pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut settings = Settings {
        listen: "127.0.0.1:0".parse().expect("addr"),
        data_dir: dir.path().to_path_buf(),
        database_url: Some(crate::support::test_database(dir.path()).await),
        max_segment_bytes: 1 << 20,
        ..Settings::default()
    };
    if let Ok(endpoint) = std::env::var("SEALPOST_TEST_S3_ENDPOINT") {
        // A fresh bucket on the S3-compatible test server (moto) for this test.
        let bucket =
            format!("sealpost-test-{}", &sealpost_platform::blob::BlobStore::new_name()[..12]);
        let r = reqwest::Client::new()
            .put(format!("{endpoint}/{bucket}"))
            .send()
            .await
            .expect("create bucket");
        assert!(r.status().is_success(), "create bucket: {}", r.status());
        settings.blob_store = "s3".into();
        // Every segment goes to the bucket, however small: this run is about the S3 store.
        settings.inline_segment_bytes = 0;
        settings.s3_bucket = Some(bucket);
        settings.s3_endpoint = Some(endpoint);
        settings.s3_allow_http = true;
        settings.s3_access_key_id = Some("test".into());
        settings.s3_secret_access_key = Some(sealpost_platform::config::Secret("test".into()));
    }
    configure(&mut settings);
    let listener = startup::bind(&mut settings).expect("bind");
    settings.public_url = Some(format!("https://localhost:{}", settings.listen.port()));
    let (state, _) = startup::prepare(settings).await.expect("prepare");
    let base = state.public_url.clone();
    let running = startup::serve(state.clone(), listener).await.expect("serve");
    let client = Client::builder()
        .add_root_certificate(Certificate::from_pem(&running.tls.cert_pem).expect("cert"))
        .build()
        .expect("client");
    let db = &state.db;
    let acme_policy = Policy { internal_domains: vec!["acme.example".into()], ..Policy::default() };
    let acme = accounts::create_tenant(
        db,
        &state.master,
        "acme",
        &acme_policy.internal_domains,
        &acme_policy,
    )
    .await
    .expect("tenant");
    let other_policy =
        Policy { internal_domains: vec!["other.example".into()], ..Policy::default() };
    let other = accounts::create_tenant(
        db,
        &state.master,
        "other",
        &other_policy.internal_domains,
        &other_policy,
    )
    .await
    .expect("tenant");
    TestApp { base, client, state, _running: running, acme, other, _dir: dir }
}

impl TestApp {
    /// Creates a user and returns a device token for them.
    pub async fn user(&self, tenant: i64, email: &str, role: Role) -> String {
        let email = EmailAddress::parse(email).expect("email");
        let id = accounts::create_user(
            &self.state.db,
            tenant,
            &email,
            role,
            Zeroizing::new(PASSWORD.into()),
        )
        .await
        .expect("user");
        let (_, token) =
            accounts::create_device_token(&self.state.db, id, "test").await.expect("token");
        token.to_string()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, token: Option<&str>, path: &str) -> Response {
        let mut r = self.client.get(self.url(path));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send().await.expect("request")
    }

    pub async fn post(&self, token: Option<&str>, path: &str, body: Value) -> Response {
        let mut r = self.client.post(self.url(path)).json(&body);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send().await.expect("request")
    }

    pub async fn upload(&self, token: &str, id: &str, offset: u64, bytes: Vec<u8>) -> Response {
        self.upload_request(token, id, offset, bytes).send().await.expect("request")
    }

    /// An upload of `body` (bytes, or a stream the test feeds) at `offset`, ready to send.
    pub fn upload_request(
        &self,
        token: &str,
        id: &str,
        offset: u64,
        body: impl Into<reqwest::Body>,
    ) -> reqwest::RequestBuilder {
        self.client
            .patch(self.url(&format!("/api/v1/messages/{id}/envelope")))
            .bearer_auth(token)
            .header("Upload-Offset", offset.to_string())
            .body(body)
    }

    pub async fn platform_key(&self) -> PublicKey {
        let v: Value = self.get(None, "/api/v1/keys/platform").await.json().await.expect("json");
        PublicKey::parse(v["public_key_pem"].as_str().expect("pem").as_bytes()).expect("key")
    }
}

/// A message as a sender would make it: slip, manifest and attachments, sealed for `key`.
pub struct TestMessage {
    pub id: String,
    pub slip: Value,
    pub body_text: String,
    pub attachments: Vec<Vec<u8>>,
    pub envelope: Vec<u8>,
}

pub fn message(
    from: &str,
    to: &[&str],
    subject: &str,
    key: &PublicKey,
    attachment_len: usize,
) -> TestMessage {
    let id = MessageId::random().expect("id");
    let body_text = format!("The secret figures for {subject}: 4417-1234-5678-9113");
    let attachment: Vec<u8> = (0..attachment_len).map(|i| (i * 7 % 251) as u8).collect();
    let mut manifest = Manifest::new(
        Metadata {
            from: from.into(),
            to: to.iter().map(|s| s.to_string()).collect(),
            subject: subject.into(),
            date: "2026-11-22T10:00:00Z".into(),
            ..Metadata::default()
        },
        Body { text: Some(body_text.clone()), html: None },
    );
    manifest.attach("figures.bin", "application/octet-stream", &attachment);
    let json = manifest.to_json();
    let envelope = Sealer::builder(id)
        .recipient(StanzaRole::Platform, key)
        .parts_for(&manifest, &json)
        .build()
        .expect("sealer")
        .seal_to_vec(&[&json, &attachment])
        .expect("seal");
    let slip = json!({
        "id": id.to_string(),
        "to": to,
        "bcc": ["hidden@elsewhere.example"],
        "subject": subject,
        "envelope_size": envelope.len(),
    });
    TestMessage { id: id.to_string(), slip, body_text, attachments: vec![attachment], envelope }
}

pub async fn error_code(r: Response) -> (StatusCode, String) {
    let status = r.status();
    let v: Value = r.json().await.unwrap_or(Value::Null);
    (status, v["error"]["code"].as_str().unwrap_or("").to_string())
}
