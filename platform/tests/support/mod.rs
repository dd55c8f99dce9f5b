#![allow(dead_code, unreachable_pub)]

//! What the platform's process-level tests share: free ports, a database per test (SQLite,
//! or a new database on `SEALPOST_TEST_DATABASE_URL`'s PostgreSQL server), the real binary,
//! its admin commands, and an SMTP sink (aiosmtpd from `target/pyenv`, `scripts/smtp-sink.py`).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// A database of its own for one test: SQLite in `data`, or a new database on the
/// PostgreSQL server of `SEALPOST_TEST_DATABASE_URL`.
pub async fn test_database(data: &Path) -> String {
    match std::env::var("SEALPOST_TEST_DATABASE_URL") {
        Ok(server) if server.starts_with("postgres") => {
            use sqlx::Executor;
            sqlx::any::install_default_drivers();
            let name = format!("sealpost_test_{}", sealpost_platform::secrets::random_id());
            let admin = sqlx::AnyPool::connect(&server).await.expect("connect to PostgreSQL");
            admin
                .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .await
                .expect("create a test database");
            let (base, _) = server.rsplit_once('/').expect("URL with a database name");
            format!("{base}/{name}")
        }
        _ => {
            std::fs::create_dir_all(data).expect("data folder");
            format!("sqlite://{}?mode=rwc", data.join("sealpost.db").display())
        }
    }
}

/// A tag unique to this test, in every address it uses.
pub fn tag() -> String {
    sealpost_platform::secrets::random_id()[..12].to_string()
}

/// aiosmtpd from the project's Python environment (`./scripts/test` creates it).
pub struct Sink {
    child: Child,
    /// Where each received mail is written.
    pub out: PathBuf,
}

impl Sink {
    pub fn start(port: u16, out: &Path) -> Sink {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let python = std::env::var_os("SEALPOST_TEST_PYTHON")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("target/pyenv/bin/python"));
        assert!(
            python.exists(),
            "{} is missing: these tests need aiosmtpd (run ./scripts/test, or `. scripts/lib.sh && ensure_pyenv`)",
            python.display()
        );
        let mut child = Command::new(python)
            .arg(root.join("scripts/smtp-sink.py"))
            .args(["--port", &port.to_string(), "--out"])
            .arg(out)
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the SMTP sink");
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().expect("stdout")).read_line(&mut line).expect("read");
        assert_eq!(line.trim(), "ready", "the SMTP sink did not start");
        Sink { child, out: out.to_path_buf() }
    }

    /// The Message-IDs of every mail received for addresses containing `tag`, one per copy.
    pub fn received(&self, tag: &str) -> Vec<String> {
        let mut ids = Vec::new();
        for entry in std::fs::read_dir(&self.out).into_iter().flatten().flatten() {
            if entry.path().extension().is_some_and(|e| e == "eml") {
                let text = std::fs::read_to_string(entry.path()).expect("read");
                if text.contains(tag) {
                    let id = text
                        .lines()
                        .find_map(|l| l.strip_prefix("Message-ID: "))
                        .expect("Message-ID");
                    ids.push(id.to_string());
                }
            }
        }
        ids
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `sealpost-platform serve` on a free port.
pub struct Server {
    child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// The bootstrap admin's password, printed on the first start of a data folder.
    pub bootstrap_password: Option<String>,
    /// Whether it said it was listening (`false`: it exited before serving).
    pub listening: bool,
}

impl Server {
    /// With the global relay on `smtp_port`, or none (`None`).
    pub fn start(data: &Path, database: &str, smtp_port: Option<u16>) -> Server {
        Server::start_on(free_port(), data, database, smtp_port)
    }

    /// Like [`Server::start`], on `port` (to start again where a killed one was).
    pub fn start_on(port: u16, data: &Path, database: &str, smtp_port: Option<u16>) -> Server {
        Server::start_with(port, data, database, smtp_port, &[])
    }

    /// Like [`Server::start_on`], with more settings in its environment (`SEALPOST_…`).
    pub fn start_with(
        port: u16,
        data: &Path,
        database: &str,
        smtp_port: Option<u16>,
        env: &[(&str, &str)],
    ) -> Server {
        let mut command = Command::new(env!("CARGO_BIN_EXE_sealpost-platform"));
        command
            .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
            .arg(data)
            .args(["--database-url", database])
            .env("SEALPOST_LOG", "warn")
            .env("SEALPOST_NOTIFY_RETRY_BASE_MS", "200")
            .env("SEALPOST_NOTIFY_MAX_ATTEMPTS", "30");
        if let Some(smtp_port) = smtp_port {
            command
                .env("SEALPOST_SMTP_HOST", "127.0.0.1")
                .env("SEALPOST_SMTP_PORT", smtp_port.to_string())
                .env("SEALPOST_SMTP_SECURITY", "none");
        }
        command.envs(env.iter().copied());
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the platform");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let (mut bootstrap_password, mut listening) = (None, false);
        for line in lines.by_ref() {
            let line = line.expect("line");
            if let Some(rest) = line.split("with password ").nth(1) {
                bootstrap_password = Some(rest.trim().to_string());
            }
            if line.contains("listening on") {
                listening = true;
                break;
            }
        }
        std::thread::spawn(move || lines.for_each(drop));
        Server { child, port, bootstrap_password, listening }
    }
}

impl Server {
    /// Asks it to stop (SIGTERM), as systemd or an operator would.
    pub fn terminate(&self) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().expect("kill");
        assert!(sent.success(), "SIGTERM to {pid}");
    }

    /// Its exit status once it has exited, if it does within `timeout`.
    pub fn exited_within(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// Kills it (SIGKILL) and waits for it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs `sealpost-platform admin ARGS` on the data; fails the test if it fails.
pub fn admin(data: &Path, database: &str, args: &[&str]) -> String {
    let out = admin_output(data, database, args);
    assert!(out.status.success(), "admin {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8")
}

/// Runs `sealpost-platform admin ARGS` on the data, whatever its outcome.
pub fn admin_output(data: &Path, database: &str, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_sealpost-platform"))
        .arg("--data-dir")
        .arg(data)
        .args(["--database-url", database, "admin"])
        .args(args)
        .env("SEALPOST_LOG", "warn")
        .output()
        .expect("admin")
}

pub fn wait_for<T>(what: &str, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// An HTTPS client trusting the platform's self-signed certificate in `data`.
pub fn client(data: &Path, cookies: bool) -> reqwest::Client {
    let cert = std::fs::read(data.join("tls/cert.pem")).expect("cert");
    reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&cert).expect("pem"))
        .cookie_store(cookies)
        .build()
        .expect("client")
}

/// Signs in through the API; the device token.
pub async fn sign_in(http: &reqwest::Client, base: &str, email: &str, password: &str) -> String {
    let login: serde_json::Value = http
        .post(format!("{base}/api/v1/auth/sign-in"))
        .json(&serde_json::json!({"email": email, "password": password}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("json");
    login["token"].as_str().expect("token").to_string()
}

/// The platform's public key, as the helper fetches it.
pub async fn platform_key(http: &reqwest::Client, base: &str) -> sealpost_envelope::PublicKey {
    let key: serde_json::Value = http
        .get(format!("{base}/api/v1/keys/platform"))
        .send()
        .await
        .expect("key")
        .json()
        .await
        .expect("json");
    let pem = key["public_key_pem"].as_str().expect("pem");
    sealpost_envelope::PublicKey::parse(pem.as_bytes()).expect("key")
}

/// What a test message says: who to whom, subject, bodies, one attachment.
pub struct Draft<'a> {
    pub from: &'a str,
    pub to: &'a [&'a str],
    pub bcc: &'a [&'a str],
    pub subject: &'a str,
    pub text: String,
    pub html: Option<String>,
    /// (name, content type, bytes)
    pub attachment: (&'a str, &'a str, Vec<u8>),
}

/// A message as a sender's helper makes it: the manifest and attachment sealed for the
/// platform `key`, and the delivery slip that creates it. The one hand-sealed test message of
/// the platform's tests.
pub struct TestMessage {
    pub id: String,
    pub slip: serde_json::Value,
    pub body_text: String,
    pub attachments: Vec<Vec<u8>>,
    pub envelope: Vec<u8>,
}

impl TestMessage {
    /// Seals `draft` for the platform `key`.
    pub fn seal(key: &sealpost_envelope::PublicKey, draft: Draft<'_>) -> TestMessage {
        use sealpost_envelope::{Body, Manifest, MessageId, Metadata, Sealer, StanzaRole};
        let id = MessageId::random().expect("id");
        let mut manifest = Manifest::new(
            Metadata {
                from: draft.from.into(),
                to: draft.to.iter().map(|s| s.to_string()).collect(),
                subject: draft.subject.into(),
                date: "2026-11-22T10:00:00Z".into(),
                ..Metadata::default()
            },
            Body { text: Some(draft.text.clone()), html: draft.html },
        );
        let (name, content_type, attachment) = draft.attachment;
        manifest.attach(name, content_type, &attachment);
        let json = manifest.to_json();
        let envelope = Sealer::builder(id)
            .recipient(StanzaRole::Platform, key)
            .parts_for(&manifest, &json)
            .build()
            .expect("sealer")
            .seal_to_vec(&[&json, &attachment])
            .expect("seal");
        let slip = serde_json::json!({
            "id": id.to_string(),
            "to": draft.to,
            "bcc": draft.bcc,
            "subject": draft.subject,
            "envelope_size": envelope.len(),
        });
        TestMessage {
            id: id.to_string(),
            slip,
            body_text: draft.text,
            attachments: vec![attachment],
            envelope,
        }
    }
}

/// A message from `from` to `to` with `attachment` ("big.bin"), sealed for the platform `key`.
pub fn sealed_message(
    key: &sealpost_envelope::PublicKey,
    from: &str,
    to: &str,
    attachment: &[u8],
) -> TestMessage {
    let draft = Draft {
        from,
        to: &[to],
        bcc: &[],
        subject: "Test",
        text: "survives".into(),
        html: None,
        attachment: ("big.bin", "application/octet-stream", attachment.to_vec()),
    };
    TestMessage::seal(key, draft)
}

/// A [`sealed_message`] from the first admin to bob@outside.example, created on the platform
/// at `base` with the admin's `token`: what a helper has done when its upload begins.
pub async fn created_message(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    key: &sealpost_envelope::PublicKey,
    attachment: &[u8],
) -> TestMessage {
    let message =
        sealed_message(key, "admin@sealpost.localhost", "bob@outside.example", attachment);
    let r = http
        .post(format!("{base}/api/v1/messages"))
        .bearer_auth(token)
        .json(&message.slip)
        .send()
        .await
        .expect("create");
    assert_eq!(r.status(), reqwest::StatusCode::CREATED);
    message
}

/// Every file under `dir`, at any depth.
pub fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// An upload body whose bytes the test hands over piece by piece (`None` from the sender
/// side, by dropping it, ends the body).
pub fn fed_body() -> (tokio::sync::mpsc::Sender<bytes::Bytes>, reqwest::Body) {
    let (tx, rx) = tokio::sync::mpsc::channel::<bytes::Bytes>(4);
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<_, std::io::Error>(b), rx))
    });
    (tx, reqwest::Body::wrap_stream(stream))
}
