//! `sealpost-helper sign-in / status / send / sign-out` against a real platform and keychain, and
//! each failure a user can act on.

use std::time::{Duration, Instant};

use sealpost_envelope::{PrivateKey, RsaBits};
use sealpost_helper::keychain::Keychain;
use serde_json::Value;

use crate::common::samples::{self, MARKER};
use crate::common::{
    ALICE, Desk, PASSWORD, Platform, Watcher, open, private_key_of, require_secret_service, text,
    walk,
};

fn send_json(desk: &Desk, file: &str) -> Value {
    let out = desk.run(&["send", file, "--json"], "");
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "send {file}: {stderr}");
    serde_json::from_str(&stdout).expect("JSON")
}

fn error_of(out: &std::process::Output) -> String {
    assert!(!out.status.success(), "expected a failure: {}", text(out).0);
    text(out).1
}

#[test]
fn mime_samples_arrive_byte_for_byte() {
    require_secret_service();
    let platform = Platform::start();
    let desk = Desk::new(&platform);
    desk.sign_in(&platform);
    let token_account = format!("device-token:{ALICE}@{}", platform.base);
    let keychain = Keychain::native();
    assert!(
        keychain.get(&token_account).expect("keychain").is_some(),
        "the token is in the keychain"
    );
    let status: Value =
        serde_json::from_str(&text(&desk.run(&["status", "--json"], "")).0).expect("status JSON");
    assert_eq!(
        (status["token"].clone(), status["email"].clone()),
        ("valid".into(), ALICE.into()),
        "{status}"
    );

    let first = send_json(&desk, samples::ALTERNATIVE);
    assert!(first["link"].as_str().expect("link").contains("/m/"), "{first}");
    assert_eq!(first["stub"]["subject"], "Secure message: Q3 Zahlen – vertraulich ✓");
    // The same pipeline from standard input.
    let nested = std::fs::read_to_string(samples::NESTED).expect("sample");
    let out = desk.run(&["send", "--stdin", "--json"], &nested);
    assert!(out.status.success(), "send --stdin: {}", text(&out).1);

    let key = desk.private_key(&platform);
    let mut opened: Vec<_> = platform.stored_envelopes().iter().map(|e| open(e, &key)).collect();
    opened.sort_by(|a, b| a.0.metadata.subject.cmp(&b.0.metadata.subject));
    let [(contract, contract_files), (q3, q3_files)] = &opened[..] else { panic!("two messages") };
    assert_eq!(q3.metadata.subject, "Q3 Zahlen – vertraulich ✓");
    assert_eq!(q3.metadata.to, ["bob@outside.example", "zoe@acme.example"]);
    assert!(q3.body.text.as_deref().expect("text").contains("Grüße aus Zürich"));
    let names: Vec<_> = q3.attachments.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["Bericht Grüße.pdf", "東京 figures.csv"]);
    assert_eq!(q3_files, &[samples::report_pdf(), samples::figures_csv()]);
    assert_eq!(contract_files[0], samples::logo_png());
    assert_eq!(contract_files[1], samples::contract_bin());
    assert!(contract.attachments[0].content_id.is_some(), "the inline image keeps its Content-ID");
    for (m, files) in &opened {
        for (a, bytes) in m.attachments.iter().zip(files) {
            assert_eq!(a.sha256, sealpost_envelope::ContentHash::of(bytes), "{}", a.name);
        }
    }

    // Signing out revokes the token on the platform and deletes it here; the key pair stays.
    // (`logout` is the command's old name, kept as an alias for scripts written before.)
    let out = desk.run(&["logout"], "");
    assert!(text(&out).0.contains("revoked"), "{}", text(&out).0);
    assert!(keychain.get(&token_account).expect("keychain").is_none());
    assert!(keychain.get(&format!("private-key:{ALICE}@{}", platform.base)).expect("kc").is_some());
    let err = error_of(&desk.run(&["send", samples::NESTED], ""));
    assert!(err.contains("error[not_signed_in]"), "{err}");
}

/// A message whose body and 24 MiB attachment carry a marker, sent while another thread reads
/// every file the helper could write to — HOME, TMPDIR, the platform's data, and the helper's
/// own open files — looking for the marker. (`send` keeps its sealed bytes in memory; the
/// mail-client path, which spools to disk, is watched in `host.rs`.)
#[test]
fn no_plaintext_reaches_the_disk_during_a_send() {
    require_secret_service();
    let platform = Platform::start();
    let desk = Desk::new(&platform);
    desk.sign_in(&platform);
    let attachment = samples::marker_attachment();
    let body = format!("The body says {}.", std::str::from_utf8(MARKER).expect("ascii"));
    let eml = samples::eml_with_attachment("marker", &body, "m.bin", &attachment);
    let outside = tempfile::tempdir().expect("tmp");
    let eml_path = outside.path().join("marker.eml");
    std::fs::write(&eml_path, eml).expect("write");

    let child = desk.spawn(&["send", eml_path.to_str().expect("utf-8")]);
    let watcher = Watcher::start(
        child.id(),
        vec![desk.home.path().to_path_buf(), platform.dir.path().to_path_buf()],
        MARKER,
    );
    let out = child.wait_with_output().expect("wait");
    let seen = watcher.stop();
    assert!(out.status.success(), "{}", text(&out).1);
    assert_eq!(seen.plaintext_in, None, "plaintext on disk");
    assert!(seen.scans >= 3, "the watcher looked during the send: {seen:?}");
    let key = desk.private_key(&platform);
    let (_, files) = open(&platform.stored_envelopes()[0], &key);
    assert_eq!(files[0], attachment, "and the message arrived whole");
}

#[test]
fn each_failure_says_what_to_do_and_nothing_looks_sent() {
    require_secret_service();
    let mut platform = Platform::start();
    let sign_in = |desk: &Desk, password: &str| {
        desk.run(
            &["sign-in", "--platform", &platform.base, "--email", ALICE, "--password-stdin"],
            &format!("{password}\n"),
        )
    };
    // TLS: a platform whose certificate nobody provisioned is not trusted.
    let untrusting = Desk::with_settings("");
    assert!(error_of(&sign_in(&untrusting, PASSWORD)).contains("error[tls_untrusted]"));
    // IT pinned another platform key.
    let pinned = Desk::with_settings(&format!(
        "tls_ca_file = {:?}\nplatform_key_id = \"{}\"\n",
        platform.cert(),
        "ab".repeat(32)
    ));
    assert!(error_of(&sign_in(&pinned, PASSWORD)).contains("error[key_pin_mismatch]"));
    // A wrong password.
    let desk = Desk::new(&platform);
    let err = error_of(&sign_in(&desk, "wrong"));
    assert!(err.contains("error[sign_in_failed]"), "{err}");

    desk.sign_in(&platform);
    // Over the tenant's size limit.
    platform.set_policy(serde_json::json!({
        "internal_domains": ["acme.example"], "secure_external": true, "subject_keywords": [],
        "secure_attachments": false, "dlp_patterns": [], "notification_mode": "sender_smtp",
        "stub_subject": "Secure message", "stub_keeps_subject": false, "stub_intro": "Hi.",
        "max_envelope_bytes": 50000, "default_expiry_days": 0, "compliance_copy": false
    }));
    std::fs::remove_file(desk.home.path().join(".cache/sealpost/policy.json")).ok();
    let err = error_of(&desk.run(&["send", samples::NESTED], ""));
    assert!(err.contains("error[quota_exceeded]"), "{err}");

    // The platform is down.
    platform.kill();
    let err = error_of(&desk.run(&["send", samples::ALTERNATIVE], ""));
    assert!(err.contains("error[platform_unreachable]"), "{err}");
    platform.restart();

    // The token was revoked (from another device, or by an admin).
    let token = Keychain::native()
        .get(&format!("device-token:{ALICE}@{}", platform.base))
        .expect("keychain")
        .expect("token");
    let revoke = std::process::Command::new("curl")
        .args(["-sf", "-X", "DELETE", "--cacert", platform.cert().to_str().expect("utf-8"), "-H"])
        .arg(format!("Authorization: Bearer {}", String::from_utf8_lossy(&token)))
        .arg(format!("{}/api/v1/tokens/current", platform.base))
        .status()
        .expect("curl");
    assert!(revoke.success());
    let err = error_of(&desk.run(&["send", samples::ALTERNATIVE], ""));
    assert!(err.contains("error[token_revoked]"), "{err}");
    assert!(text(&desk.run(&["status"], "")).0.contains("revoked"));
    assert!(platform.stored_envelopes().is_empty(), "no failure uploaded anything");
}

/// The platform dies in the middle of an upload and comes back: the helper resumes from what
/// the platform acknowledged and finishes. When it stays away, the send fails as interrupted.
#[test]
fn an_interrupted_upload_resumes_or_fails_cleanly() {
    require_secret_service();
    let mut platform = Platform::start();
    let desk = Desk::new(&platform);
    std::fs::create_dir_all(desk.home.path().join(".config/sealpost")).expect("dir");
    std::fs::write(
        desk.home.path().join(".config/sealpost/helper.toml"),
        "upload_segment_bytes = 65536\nupload_attempts = 12\n",
    )
    .expect("settings");
    desk.sign_in(&platform);
    let attachment: Vec<u8> = (0..6_000_000u32).map(|i| (i * 31 % 251) as u8).collect();
    let eml = samples::eml_with_attachment("big", "big file attached", "big.bin", &attachment);
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("big.eml");
    std::fs::write(&path, eml).expect("write");

    let child = desk.spawn(&["send", path.to_str().expect("utf-8"), "--json"]);
    wait_for(|| segment_files(&platform) >= 3, "the upload to start");
    platform.kill();
    std::thread::sleep(Duration::from_millis(1500));
    platform.restart();
    let out = child.wait_with_output().expect("send");
    assert!(out.status.success(), "resumed: {}", text(&out).1);
    let log = std::fs::read_dir(desk.home.path().join(".local/state/sealpost"))
        .expect("log dir")
        .flatten()
        .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
        .collect::<String>();
    assert!(log.contains("resuming"), "the log tells the upload was resumed");
    assert!(!log.contains("PASSWORD") && !log.contains(PASSWORD), "no secrets in the log");

    // Now the platform goes away for good.
    std::fs::write(
        desk.home.path().join(".config/sealpost/helper.toml"),
        "upload_segment_bytes = 65536\nupload_attempts = 2\n",
    )
    .expect("settings");
    let child = desk.spawn(&["send", path.to_str().expect("utf-8")]);
    let before = segment_files(&platform);
    wait_for(|| segment_files(&platform) >= before + 3, "the second upload to start");
    platform.kill();
    let out = child.wait_with_output().expect("send");
    let err = error_of(&out);
    assert!(err.contains("error[upload_interrupted]") && err.contains("nothing was sent"), "{err}");
}

fn segment_files(platform: &Platform) -> usize {
    let mut files = Vec::new();
    walk(&platform.dir.path().join("envelopes"), &mut files);
    files.len()
}

fn wait_for(mut ready: impl FnMut() -> bool, what: &str) {
    let start = Instant::now();
    while !ready() {
        assert!(start.elapsed() < Duration::from_secs(60), "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The envelope is sealed for every key that should open it: the platform's, the sender's, a
/// recipient's who registered one (by signing in with the helper), and the tenant's compliance
/// key once policy asks for a compliance copy — and each of them opens it.
#[test]
fn envelopes_are_sealed_for_registered_recipients_and_the_compliance_key() {
    require_secret_service();
    let platform = Platform::start();
    platform
        .admin(&["create-user", "--tenant", "acme", "--email", "zoe@acme.example"], Some(PASSWORD));
    let zoe = Desk::new(&platform);
    zoe.sign_in_as(&platform, "zoe@acme.example");

    let compliance = PrivateKey::generate(RsaBits::Rsa3072).expect("key");
    let pem = platform.dir.path().join("compliance.pem");
    std::fs::write(&pem, compliance.public_key().to_pem().expect("pem")).expect("write");
    platform.admin(
        &["set-compliance-key", "--tenant", "acme", "--file", pem.to_str().expect("utf-8")],
        None,
    );
    platform.set_policy(serde_json::json!({
        "internal_domains": ["acme.example"], "secure_external": true, "subject_keywords": [],
        "secure_attachments": false, "dlp_patterns": [], "notification_mode": "sender_smtp",
        "stub_subject": "Secure message", "stub_keeps_subject": false, "stub_intro": "Hi.",
        "max_envelope_bytes": 1073741824u64, "default_expiry_days": 0, "compliance_copy": true
    }));

    let alice = Desk::new(&platform);
    alice.sign_in(&platform);
    send_json(&alice, samples::ALTERNATIVE); // To: bob@outside.example, zoe@acme.example
    let envelope = &platform.stored_envelopes()[0];
    let header = sealpost_envelope::Header::read_from(&mut &envelope[..], &Default::default())
        .expect("header");
    let mut roles: Vec<_> = header.stanzas().iter().map(|s| format!("{:?}", s.role)).collect();
    roles.sort();
    assert_eq!(
        roles,
        ["Compliance", "Platform", "Recipient", "Sender"],
        "bob has no key; BCC never gets one"
    );
    for key in
        [alice.private_key(&platform), private_key_of(&platform, "zoe@acme.example"), compliance]
    {
        let (manifest, files) = open(envelope, &key);
        assert_eq!(manifest.metadata.subject, "Q3 Zahlen – vertraulich ✓");
        assert_eq!(files[0], samples::report_pdf());
    }
}

/// A TOTP code for `secret_base32`, `offset` seconds from now (as an authenticator app shows).
fn totp_code(secret_base32: &str, offset: u64) -> String {
    let secret = totp_rs::Secret::try_from_base32(secret_base32).expect("base32");
    let totp = totp_rs::Builder::new()
        .with_algorithm(totp_rs::Algorithm::SHA1)
        .with_digits(6)
        .with_step_duration(30)
        .with_secret(secret)
        .build()
        .expect("totp");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("time");
    totp.generate(now.as_secs() + offset).to_string()
}

/// An account with a second factor: signing in without a code says one is needed (and how to
/// give it when there is no terminal to ask on); with the code it works.
#[test]
fn signing_in_with_a_second_factor() {
    require_secret_service();
    let platform = Platform::start();
    let token = platform.admin(&["create-token", "--email", ALICE], None).trim().to_string();
    let api = |method: &str, path: &str, body: &str| platform.api(&token, method, path, Some(body));
    let enrol = api("POST", "/api/v1/me/totp", "{}");
    let secret = enrol["secret_base32"].as_str().expect("secret").to_string();
    let confirm = format!("{{\"code\": \"{}\"}}", totp_code(&secret, 0));
    assert_eq!(api("POST", "/api/v1/me/totp/confirm", &confirm)["error"], Value::Null);

    let desk = Desk::new(&platform);
    let sign_in = |extra: &[&str]| {
        let mut args =
            vec!["sign-in", "--platform", &platform.base, "--email", ALICE, "--password-stdin"];
        args.extend_from_slice(extra);
        desk.run(&args, &format!("{PASSWORD}\n"))
    };
    let err = error_of(&sign_in(&[]));
    assert!(err.contains("error[sign_in_failed]") && err.contains("--totp"), "{err}");
    // The confirming code is spent; the next step's is within the allowed clock skew.
    let next = totp_code(&secret, 30);
    let out = sign_in(&["--totp", &next]);
    assert!(out.status.success(), "{}", text(&out).1);
    assert!(text(&desk.run(&["status"], "")).0.contains("valid"));
}

#[test]
fn an_unlock_code_is_set_before_the_message_is_final() {
    require_secret_service();
    let platform = Platform::start();
    let desk = Desk::new(&platform);
    desk.sign_in(&platform);
    let err = error_of(&desk.run(&["send", samples::ALTERNATIVE, "--unlock-code", "12345"], ""));
    assert!(err.contains("6 to 64 characters"), "{err}");
    assert!(platform.stored_envelopes().is_empty(), "nothing was sent");

    let out =
        desk.run(&["send", samples::ALTERNATIVE, "--json", "--unlock-code", "blue heron 42"], "");
    assert!(out.status.success(), "{}", text(&out).1);
    let sent: Value = serde_json::from_str(&text(&out).0).expect("JSON");
    let slip = platform.sent_message(sent["id"].as_str().expect("id"));
    assert_eq!(slip["unlock_code"], true, "{slip}");
}

/// An .eml whose HTML embeds a picture as a `data:` URL (as some mail clients write it): the
/// picture travels as a part with a Content-ID, the sealed HTML refers to it by `cid:`, and
/// the message's own inline part keeps its own.
#[test]
fn an_image_embedded_as_a_data_url_travels_as_a_part() {
    use base64::Engine;
    require_secret_service();
    let platform = Platform::start();
    let desk = Desk::new(&platform);
    desk.sign_in(&platform);
    let picture = b"\x89PNG\r\n\x1a\n embedded picture bytes".to_vec();
    let b64 = base64::engine::general_purpose::STANDARD;
    let eml = format!(
        "From: {ALICE}\r\nTo: bob@outside.example\r\nSubject: Embedded\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/related; boundary=\"rel\"\r\n\r\n--rel\r\n\
         Content-Type: text/html; charset=utf-8\r\n\r\n\
         <p>Pasted: <img src=\"data:image/png;filename=chart.png;base64,{}\" alt=\"chart\"> \
         and a part: <img src=\"cid:logo@acme\"></p>\r\n--rel\r\n\
         Content-Type: image/gif\r\nContent-ID: <logo@acme>\r\nContent-Transfer-Encoding: base64\r\n\r\n\
         {}\r\n--rel--\r\n",
        b64.encode(&picture),
        b64.encode(b"GIF89a logo")
    );
    let out = desk.run(&["send", "--stdin", "--json"], &eml);
    assert!(out.status.success(), "send: {}", text(&out).1);
    let stored = platform.stored_envelopes();
    let (manifest, files) = open(&stored[0], &desk.private_key(&platform));
    assert_eq!(files, [b"GIF89a logo".to_vec(), picture]);
    let chart = &manifest.attachments[1];
    assert_eq!((chart.name.as_str(), chart.content_type.as_str()), ("chart.png", "image/png"));
    let cid = chart.content_id.as_deref().expect("a Content-ID");
    let html = manifest.body.html.as_deref().expect("html");
    assert!(html.contains(&format!("src=\"cid:{cid}\"")), "{html}");
    assert!(html.contains("src=\"cid:logo@acme\"") && !html.contains("base64"), "{html}");
}
