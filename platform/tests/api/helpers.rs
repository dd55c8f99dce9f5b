#![allow(unreachable_pub)]

//! `spawn_app()`: the real platform on a random port, over real TLS, with its own data folder
//! and database (SQLite, or a fresh PostgreSQL database when `SEALPOST_TEST_DATABASE_URL`
//! points at a server), plus helpers to make users and real envelopes.

use crate::support::Draft;
pub use crate::support::TestMessage;
use reqwest::{Certificate, Client, Response, StatusCode};
use sealpost_envelope::PublicKey;
use sealpost_envelope::{Decryptor, FileKey, Header, Limits};
use sealpost_platform::config::Settings;
use sealpost_platform::domain::{EmailAddress, Role};
use sealpost_platform::reading::file_key_purpose;
use sealpost_platform::startup::{self, Running};
use sealpost_platform::state::AppState;
use sealpost_platform::store::accounts;
use sealpost_platform::store::messages;
use sealpost_policy::Policy;
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
        crate::support::platform_key(&self.client, &self.base).await
    }
}

/// A message from `from` to `to` about `subject`, with a card number in its text, one
/// attachment of `attachment_len` bytes and a Bcc, sealed for the platform `key`.
pub fn message(
    from: &str,
    to: &[&str],
    subject: &str,
    key: &PublicKey,
    attachment_len: usize,
) -> TestMessage {
    let draft = Draft {
        from,
        to,
        bcc: &["hidden@elsewhere.example"],
        subject,
        text: format!("The secret figures for {subject}: 4417-1234-5678-9113"),
        html: None,
        attachment: (
            "figures.bin",
            "application/octet-stream",
            (0..attachment_len).map(|i| (i * 7 % 251) as u8).collect(),
        ),
    };
    TestMessage::seal(key, draft)
}

pub async fn error_code(r: Response) -> (StatusCode, String) {
    let status = r.status();
    let v: Value = r.json().await.unwrap_or(Value::Null);
    (status, v["error"]["code"].as_str().unwrap_or("").to_string())
}

/// Reads a stored envelope back from the blob store and opens it with the file key the
/// platform kept under the tenant key: what the Message Center will do.
pub async fn stored_plaintext(app: &TestApp, id: &str) -> (String, Vec<u8>) {
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

/// How many envelope bytes the platform holds for a message.
pub async fn received(app: &TestApp, token: &str, id: &str) -> i64 {
    let v: Value = app
        .get(Some(token), &format!("/api/v1/messages/{id}/envelope"))
        .await
        .json()
        .await
        .expect("json");
    v["received"].as_i64().expect("received")
}

/// Uploads and finalises a message for `token`; returns its id.
pub async fn sent_message(app: &TestApp, token: &str, from: &str) -> String {
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

/// Follows `next` through the sent list, `limit` at a time; the ids in the order listed.
pub async fn every_page_of_the_sent_list(app: &TestApp, token: &str, limit: u32) -> Vec<String> {
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
