#![allow(unreachable_pub)]

//! The helper tests' one support module: a real platform and a throwaway user for each test,
//! and the hand-made test data ([`samples`]), kept here once.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};

use sealpost_envelope::{OpenOptions, PrivateKey};
use sealpost_helper::keychain::Keychain;
use serde_json::Value;

/// The helper binary under test (`SEALPOST_HELPER_BIN` names another build, e.g. an older
/// one to show that a test fails without a fix).
pub fn helper_bin() -> PathBuf {
    std::env::var_os("SEALPOST_HELPER_BIN")
        .map_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_sealpost-helper")), PathBuf::from)
}

/// The platform binary, built beside the helper (`cargo build -p sealpost-platform`).
fn platform_bin() -> PathBuf {
    let path = std::env::var_os("SEALPOST_PLATFORM_BIN").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_BIN_EXE_sealpost-helper"))
            .with_file_name(format!("sealpost-platform{}", std::env::consts::EXE_SUFFIX))
    });
    assert!(
        path.exists(),
        "{} is missing: build it first (`cargo build -p sealpost-platform`; ./scripts/test does)",
        path.display()
    );
    path
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// Fails a test that needs the keychain when no Secret Service can be running.
pub fn require_secret_service() {
    assert!(
        std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some(),
        "no D-Bus session: run these tests through scripts/with-keyring (./scripts/test does)"
    );
}

/// A running platform with tenant `acme` (domain acme.example) and user alice@acme.example.
pub struct Platform {
    child: Option<Child>,
    pub dir: tempfile::TempDir,
    pub port: u16,
    pub base: String,
}

pub const ALICE: &str = "alice@acme.example";
pub const PASSWORD: &str = "correct horse battery staple";

impl Platform {
    pub fn start() -> Platform {
        let dir = tempfile::tempdir().expect("tmp");
        let port = free_port();
        let mut p = Platform { child: None, dir, port, base: format!("https://localhost:{port}") };
        p.restart();
        p.admin(&["create-tenant", "--name", "acme", "--domain", "acme.example"], None);
        p.admin(&["create-user", "--tenant", "acme", "--email", ALICE], Some(PASSWORD));
        p
    }

    /// Starts (again) on the same data folder and port.
    pub fn restart(&mut self) {
        let mut child = Command::new(platform_bin())
            .args(["serve", "--listen", &format!("127.0.0.1:{}", self.port), "--data-dir"])
            .arg(self.dir.path())
            .env("SEALPOST_LOG", "warn")
            // Every segment a file, so the tests can open what the helper uploaded as stored.
            .env("SEALPOST_INLINE_SEGMENT_BYTES", "0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the platform");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        for line in lines.by_ref() {
            if line.expect("line").contains("listening on") {
                break;
            }
        }
        std::thread::spawn(move || lines.for_each(drop));
        self.child = Some(child);
    }

    /// Kills the platform (SIGKILL).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Runs `sealpost-platform admin …` on this platform's data.
    pub fn admin(&self, args: &[&str], stdin: Option<&str>) -> String {
        let mut child = Command::new(platform_bin())
            .arg("admin")
            .args(args)
            .arg("--data-dir")
            .arg(self.dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("admin");
        let mut input = child.stdin.take().expect("stdin");
        if let Some(s) = stdin {
            input.write_all(s.as_bytes()).expect("write");
        }
        drop(input);
        let out = child.wait_with_output().expect("admin");
        assert!(out.status.success(), "admin {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).expect("utf-8")
    }

    pub fn set_policy(&self, policy: serde_json::Value) {
        let file = self.dir.path().join("policy.json");
        std::fs::write(&file, policy.to_string()).expect("write");
        self.admin(
            &["set-policy", "--tenant", "acme", "--file", file.to_str().expect("utf-8")],
            None,
        );
    }

    pub fn cert(&self) -> PathBuf {
        self.dir.path().join("tls/cert.pem")
    }

    /// A call to the platform's API with `token` (curl, as an outside client would), and
    /// the JSON it answered (`Null` for an empty answer).
    pub fn api(&self, token: &str, method: &str, path: &str, body: Option<&str>) -> Value {
        let mut curl = Command::new("curl");
        curl.args(["-sS", "-X", method, "--cacert", self.cert().to_str().expect("utf-8")])
            .args(["-H", "Content-Type: application/json", "-H"])
            .arg(format!("Authorization: Bearer {token}"));
        if let Some(body) = body {
            curl.args(["-d", body]);
        }
        let out = curl.arg(format!("{}{path}", self.base)).output().expect("curl");
        assert!(out.status.success(), "curl {path}: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
    }

    /// The sender's view of message `id` (`GET /api/v1/messages/{id}`), asked as Alice.
    pub fn sent_message(&self, id: &str) -> Value {
        let token = self.admin(&["create-token", "--email", ALICE], None);
        self.api(token.trim(), "GET", &format!("/api/v1/messages/{id}"), None)
    }

    /// Every stored envelope, reassembled from the platform's segment files: they are
    /// written one after the other, so in order of modification time, and each envelope's
    /// first segment starts with the envelope's magic.
    pub fn stored_envelopes(&self) -> Vec<Vec<u8>> {
        let mut files = Vec::new();
        walk(&self.dir.path().join("envelopes"), &mut files);
        files.retain(|p| p.extension().is_none());
        files.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).expect("mtime"));
        let mut out: Vec<Vec<u8>> = Vec::new();
        for f in files {
            let bytes = std::fs::read(&f).expect("read");
            match out.last_mut() {
                Some(last) if !bytes.starts_with(&sealpost_envelope::MAGIC) => last.extend(bytes),
                _ => out.push(bytes),
            }
        }
        out
    }
}

impl Drop for Platform {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A user's computer: a HOME of its own and IT's settings file trusting the platform.
pub struct Desk {
    pub home: tempfile::TempDir,
}

impl Desk {
    pub fn new(platform: &Platform) -> Desk {
        Desk::with_settings(&format!("tls_ca_file = {:?}\n", platform.cert()))
    }

    pub fn with_settings(system_toml: &str) -> Desk {
        let home = tempfile::tempdir().expect("home");
        std::fs::write(home.path().join("it-helper.toml"), system_toml).expect("settings");
        Desk { home }
    }

    pub fn command(&self) -> Command {
        let mut c = Command::new(helper_bin());
        c.env("HOME", self.home.path())
            .env("SEALPOST_HELPER_SYSTEM_CONFIG", self.home.path().join("it-helper.toml"))
            .env("TMPDIR", self.home.path().join("tmp"))
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("XDG_DATA_HOME")
            .env_remove("XDG_CACHE_HOME")
            .env_remove("XDG_STATE_HOME");
        std::fs::create_dir_all(self.home.path().join("tmp")).expect("tmp");
        c
    }

    /// Starts the helper with `args`, its output piped, without waiting for it.
    pub fn spawn(&self, args: &[&str]) -> Child {
        let mut c = self.command();
        c.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
        c.spawn().expect("helper")
    }

    /// Runs the helper with `args` and `stdin`.
    pub fn run(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = self
            .command()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("helper");
        child.stdin.take().expect("stdin").write_all(stdin.as_bytes()).expect("stdin");
        child.wait_with_output().expect("helper")
    }

    /// Signs in as alice.
    pub fn sign_in(&self, platform: &Platform) {
        self.sign_in_as(platform, ALICE);
    }

    /// Signs in as `email` (whose password is [`PASSWORD`]).
    pub fn sign_in_as(&self, platform: &Platform, email: &str) {
        let out = self.run(
            &["sign-in", "--platform", &platform.base, "--email", email, "--password-stdin"],
            &format!("{PASSWORD}\n"),
        );
        assert!(out.status.success(), "sign-in: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// Alice's private key, from the real keychain.
    pub fn private_key(&self, platform: &Platform) -> PrivateKey {
        private_key_of(platform, ALICE)
    }
}

/// A user's private key, from the real keychain (where their helper put it at sign-in).
pub fn private_key_of(platform: &Platform, email: &str) -> PrivateKey {
    let pem = Keychain::native()
        .get(&format!("private-key:{email}@{}", platform.base))
        .expect("keychain")
        .expect("a private key was stored at sign-in");
    PrivateKey::parse_pkcs8(&pem).expect("pkcs8")
}

/// Opens an envelope with `key`: the manifest and each attachment's bytes.
pub fn open(envelope: &[u8], key: &PrivateKey) -> (sealpost_envelope::Manifest, Vec<Vec<u8>>) {
    let (_, opened) =
        sealpost_envelope::open(envelope, key, &OpenOptions::default()).expect("open");
    (opened.manifest, opened.attachments.into_iter().map(|a| a.to_vec()).collect())
}

/// Output as text, for assertions.
pub fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Everything left on a pipe.
pub fn read_to_end(r: &mut impl std::io::Read) -> Vec<u8> {
    let mut v = Vec::new();
    r.read_to_end(&mut v).expect("read");
    v
}

/// Reads every file the helper could write to, over and over, while it works: the folders
/// given and the helper's own open files (a spool has no name, but `/proc/PID/fd` reaches
/// it), looking for a plaintext marker.
pub struct Watcher {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<Watched>,
}

/// What a [`Watcher`] saw.
#[derive(Debug)]
pub struct Watched {
    /// A file that held the marker.
    pub plaintext_in: Option<PathBuf>,
    /// Whether one of the helper's open files was a spool.
    pub spool_seen: bool,
    /// Rounds over all the files.
    pub scans: usize,
}

impl Watcher {
    pub fn start(pid: u32, roots: Vec<PathBuf>, marker: &'static [u8]) -> Watcher {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut seen = Watched { plaintext_in: None, spool_seen: false, scans: 0 };
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                seen.scans += 1;
                let mut files = Vec::new();
                for root in &roots {
                    walk(root, &mut files);
                }
                for fd in
                    std::fs::read_dir(format!("/proc/{pid}/fd")).into_iter().flatten().flatten()
                {
                    if let Ok(target) = std::fs::read_link(fd.path()) {
                        let t = target.to_string_lossy();
                        seen.spool_seen |= t.contains("/spool/");
                        if t.starts_with('/') && !t.ends_with(".eml") && fd.path().is_file() {
                            files.push(fd.path());
                        }
                    }
                }
                for f in files {
                    let holds = std::fs::read(&f)
                        .map(|b| b.windows(marker.len()).any(|w| w == marker))
                        .unwrap_or(false);
                    if holds && seen.plaintext_in.is_none() {
                        seen.plaintext_in = Some(f);
                    }
                }
            }
            seen
        });
        Watcher { stop, thread }
    }

    pub fn stop(self) -> Watched {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread.join().expect("watcher")
    }
}

pub fn walk(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// Hand-made test data: the MIME sample files and what they hold (rebuilt independently of
/// the files), the plaintext marker, and messages built around an attachment.
pub mod samples {
    use base64::Engine;

    use super::ALICE;

    pub const ALTERNATIVE: &str =
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/samples/alternative-attachments.eml");
    pub const NESTED: &str =
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/samples/nested-related-rfc822.eml");

    pub fn report_pdf() -> Vec<u8> {
        let mut v = b"%PDF-1.4\n".to_vec();
        for _ in 0..40 {
            v.extend(0u8..=255);
        }
        v.extend_from_slice(b"\n%%EOF\n");
        v
    }

    pub fn figures_csv() -> Vec<u8> {
        let mut s = String::from("Region;Umsatz\n");
        for i in 0..300 {
            s.push_str(&format!("Nord-{i};{}\n", i * 37 % 1000));
        }
        s.into_bytes()
    }

    pub fn logo_png() -> Vec<u8> {
        let mut v = b"\x89PNG\r\n\x1a\n".to_vec();
        v.extend((0..3000u32).map(|i| (i * 7 % 256) as u8));
        v
    }

    pub fn contract_bin() -> Vec<u8> {
        (0..70000u32).map(|i| ((i * 13 + 5) % 256) as u8).collect()
    }

    /// What the no-plaintext tests look for.
    pub const MARKER: &[u8] = b"PLAINTEXT-MARKER-7f3a";

    /// A 24 MiB attachment of nothing but the marker.
    pub fn marker_attachment() -> Vec<u8> {
        MARKER.iter().copied().cycle().take(24 << 20).collect()
    }

    /// A message from alice to an outside recipient: a text body and one attachment, base64 in
    /// 76-column lines as mail clients write it.
    pub fn eml_with_attachment(subject: &str, body: &str, name: &str, bytes: &[u8]) -> String {
        let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
        let lines: String = b64
            .as_bytes()
            .chunks(76)
            .map(|l| format!("{}\r\n", std::str::from_utf8(l).expect("ascii")))
            .collect();
        format!(
            "From: {ALICE}\r\nTo: eve@outside.example\r\nSubject: {subject}\r\n\
             Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
             --b1\r\nContent-Type: text/plain\r\n\r\n{body}\r\n--b1\r\n\
             Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\
             Content-Disposition: attachment; filename=\"{name}\"\r\n\r\n{lines}--b1--\r\n"
        )
    }
}
