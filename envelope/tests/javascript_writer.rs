//! What the Outlook add-in's JavaScript writer (`outlook-addin/src/envelope.js`) seals, this
//! crate opens: Node runs `outlook-addin/test/write-sample-envelope.mjs`, which seals a message
//! with fresh randomness for the vectors' platform and recipient keys, and the envelope must
//! pass keyless validation and open with either key to exactly the plaintexts the script
//! recorded, its manifest re-serialising here to the very bytes JavaScript wrote.
//!
//! The vectors (`tests/vectors/`) pin the JavaScript writer's bytes from its side; this test
//! is the other direction, with randomness neither side chose.
//!
//! Needs Node.js 20 or newer on PATH (CI has it). Without it the test fails and says so:
//! skipping would let the two writers drift apart unseen.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use common::key;
use sealpost_envelope::{Limits, Manifest, MessageId, OpenOptions, StanzaRole, Validator, open};
use serde::Deserialize;

/// What the script recorded beside the envelope (`OUT.json`).
#[derive(Deserialize)]
struct Expected {
    message_id: String,
    envelope_size: u64,
    key_ids: Vec<String>,
    manifest_b64: String,
    attachments_b64: Vec<String>,
}

#[test]
fn envelopes_written_by_the_outlook_addin_open_here() {
    let scratch = Scratch::new();
    let path = scratch.0.join("sample.envelope");
    run_node_writer(&path);
    let bytes = std::fs::read(&path).expect("the script wrote the envelope");
    let sidecar =
        std::fs::read(format!("{}.json", path.display())).expect("the script wrote OUT.json");
    let expected: Expected = serde_json::from_slice(&sidecar).expect("OUT.json");
    let manifest = B64.decode(&expected.manifest_b64).expect("base64");
    let attachments: Vec<Vec<u8>> =
        expected.attachments_b64.iter().map(|a| B64.decode(a).expect("base64")).collect();

    let mut validator = Validator::new(Limits::default());
    validator.feed(&bytes).expect("keyless validation accepts it");
    let header = validator.finish().expect("keyless validation accepts it");
    assert_eq!(header.layout().total_len(), bytes.len() as u64);
    assert_eq!(expected.envelope_size, bytes.len() as u64, "envelopeSize announced the length");
    let message_id: MessageId = expected.message_id.parse().expect("a UUID");
    assert_eq!(header.message_id(), message_id);
    let stanzas: Vec<(StanzaRole, String)> =
        header.stanzas().iter().map(|s| (s.role, s.key_id.to_hex())).collect();
    assert_eq!(
        stanzas,
        vec![
            (StanzaRole::Platform, key("platform").key_id().to_hex()),
            (StanzaRole::Sender, key("recipient").key_id().to_hex()),
        ]
    );
    assert_eq!(expected.key_ids, stanzas.iter().map(|(_, id)| id.clone()).collect::<Vec<_>>());

    for name in ["platform", "recipient"] {
        let opts = OpenOptions { expect_message: Some(message_id), ..OpenOptions::default() };
        let (dec, opened) = open(&bytes, key(name), &opts)
            .unwrap_or_else(|e| panic!("the {name} key opens the add-in's envelope: {e}"));
        assert_eq!(&dec.read_part_from_slice(0, &bytes).expect("part 0")[..], &manifest[..]);
        assert_eq!(opened.manifest.to_json(), manifest, "serde writes the manifest as JS did");
        assert_eq!(opened.attachments.len(), attachments.len());
        for (got, want) in opened.attachments.iter().zip(&attachments) {
            assert_eq!(&got[..], &want[..], "{name}: attachment bytes");
        }
    }

    let parsed = Manifest::from_json(&manifest).expect("the manifest parses");
    assert_eq!(parsed.attachments.len(), 2);
    assert_eq!(parsed.attachments[0].name, "Zahlen Q3 — größer.csv");
    assert_eq!(parsed.attachments[0].content_id.as_deref(), Some("chart@x"));
    assert_eq!(parsed.attachments[1].size, 0);
    assert_eq!(parsed.metadata.message_id.as_deref(), Some("<q3.outlook@example.com>"));
    let json = String::from_utf8(manifest).expect("UTF-8");
    assert!(!json.contains("bcc") && !json.contains("hidden@"), "no BCC in the manifest");
}

/// Runs the add-in's sample writer with Node into `out`.
fn run_node_writer(out: &Path) {
    let script = repo_root().join("outlook-addin/test/write-sample-envelope.mjs");
    let version = Command::new("node").arg("--version").output().unwrap_or_else(|e| {
        panic!(
            "`node` could not be run ({e}). This test runs the Outlook add-in's envelope writer \
             and needs Node.js 20 or newer on PATH (Debian: apt-get install nodejs)."
        )
    });
    let version = String::from_utf8_lossy(&version.stdout).trim().to_string();
    let major: u32 =
        version.trim_start_matches('v').split('.').next().and_then(|m| m.parse().ok()).unwrap_or(0);
    assert!(
        major >= 20,
        "Node.js {version} is too old for the add-in's writer; it needs 20 or newer"
    );
    let run = Command::new("node").arg(&script).arg(out).output().expect("run node");
    assert!(
        run.status.success(),
        "{} failed ({}):\n{}",
        script.display(),
        run.status,
        String::from_utf8_lossy(&run.stderr)
    );
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A fresh folder under the system's temporary folder, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Scratch {
        let dir = std::env::temp_dir().join(format!("sealpost-js-writer-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create a scratch folder");
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
