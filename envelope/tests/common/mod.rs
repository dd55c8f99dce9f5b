//! Shared test kit: the committed test keys, a seeded random source, sample messages.

#![allow(dead_code, unreachable_pub, missing_docs)]

use std::path::PathBuf;
use std::sync::OnceLock;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sealpost_envelope::{Body, Manifest, Metadata, PrivateKey};

pub fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

/// A committed test key (`tests/vectors/keys/NAME.pem`). Never use these outside tests.
pub fn key(name: &str) -> &'static PrivateKey {
    static KEYS: OnceLock<Vec<(String, PrivateKey)>> = OnceLock::new();
    let keys = KEYS.get_or_init(|| {
        ["platform", "recipient", "outsider"]
            .iter()
            .map(|n| {
                let pem = std::fs::read(vectors_dir().join(format!("keys/{n}.pem"))).expect("key");
                (n.to_string(), PrivateKey::parse_pkcs8(&pem).expect("parse key"))
            })
            .collect()
    });
    &keys.iter().find(|(n, _)| n == name).expect("known key").1
}

/// The vectors' random source: ChaCha20 seeded with SHA-256-free, plain bytes.
pub fn seeded_rng(seed: [u8; 32]) -> ChaCha20Rng {
    ChaCha20Rng::from_seed(seed)
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    sealpost_envelope::ContentHash::of(bytes)
}

/// Deterministic filler bytes of a given length (a counter pattern, easy to eyeball).
pub fn pattern(len: usize, salt: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(salt)).collect()
}

/// A manifest describing `attachments` (name, type, bytes).
pub fn manifest_for(attachments: &[(&str, &str, &[u8])]) -> Manifest {
    let mut m = Manifest::new(
        Metadata {
            from: "alice@example.com".into(),
            to: vec!["bob@outside.example".into()],
            cc: vec!["carol@example.com".into()],
            subject: "Quarterly figures — Q3".into(),
            date: "2026-11-22T10:00:00Z".into(),
            message_id: Some("<q3@example.com>".into()),
            headers: vec![("X-Priority".into(), "1".into())],
        },
        Body {
            text: Some("Hi Bob,\nthe figures are attached.\n".into()),
            html: Some("<p>Hi Bob,<br>the figures are <b>attached</b>.</p>".into()),
        },
    );
    for (name, content_type, bytes) in attachments {
        m.attach(*name, *content_type, bytes);
    }
    m
}
