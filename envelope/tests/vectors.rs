//! The test vectors in `tests/vectors/*.json`: exact envelope bytes for known keys, inputs and
//! random seeds, plus deliberately broken variants with the error each must give.
//!
//! Every vector is checked on every AEAD backend: re-sealing from the recorded seed must give
//! the recorded bytes exactly, every recipient key must open them to the recorded plaintext,
//! and every broken variant must fail with its recorded error code and details.
//!
//! Other implementations (the Outlook add-in's WebCrypto code) read the same files.
//! To rewrite them after a deliberate format change:
//! `SEALPOST_WRITE_VECTORS=1 cargo test -p sealpost-envelope --test vectors`.

mod common;

use std::io::Write;
use std::ops::Range;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use common::{key, manifest_for, pattern, seeded_rng, sha256_hex, vectors_dir};
use sealpost_envelope::{
    Backend, Error, FileKey, Header, Limits, MessageId, OpenOptions, Sealer, StanzaRole, Validator,
    open,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[derive(Serialize, Deserialize, Debug)]
struct VectorFile {
    description: String,
    rng: RngSpec,
    message_id: String,
    chunk_size: u32,
    file_key: String,
    recipients: Vec<RecipientSpec>,
    parts: Vec<PartSpec>,
    header_len: u64,
    envelope_sha256: String,
    envelope_b64: String,
    broken: Vec<BrokenCase>,
}

#[derive(Serialize, Deserialize, Debug)]
struct RngSpec {
    algorithm: String,
    seed: String,
    order: String,
}

#[derive(Serialize, Deserialize, Debug)]
struct RecipientSpec {
    role: StanzaRole,
    key: String,
    key_id: String,
}

#[derive(Serialize, Deserialize, Debug)]
struct PartSpec {
    kind: String,
    salt: String,
    sha256: String,
    plaintext_b64: String,
}

#[derive(Serialize, Deserialize, Debug)]
struct BrokenCase {
    name: String,
    description: String,
    /// Key file to open with.
    key: String,
    /// When set, the opener expects this message id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expect_message_id: Option<String>,
    /// The error code opening must give, and its details.
    error: String,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    details: Value,
    /// The error code the keyless validator gives, or null when only a key can tell.
    validator_error: Option<String>,
    envelope_b64: String,
}

/// One vector's definition: what goes in.
struct Definition {
    name: &'static str,
    description: &'static str,
    seed: [u8; 32],
    chunk_size: u32,
    recipients: &'static [(StanzaRole, &'static str)],
    attachments: Vec<(&'static str, &'static str, Vec<u8>)>,
}

fn definitions() -> Vec<Definition> {
    vec![
        Definition {
            name: "multipart",
            description: "64-byte chunks; a platform (RSA-3072) and a recipient (RSA-4096) \
                          stanza; attachments of 0, 64 (one full chunk) and 200 bytes (four \
                          chunks, the last one 8 bytes)",
            seed: *b"sealpost test vector: multipart!",
            chunk_size: 64,
            recipients: &[(StanzaRole::Platform, "platform"), (StanzaRole::Recipient, "recipient")],
            attachments: vec![
                ("empty.txt", "text/plain", Vec::new()),
                ("one-chunk.bin", "application/octet-stream", pattern(64, 1)),
                ("Zahlen Q3 — größer.csv", "text/csv", pattern(200, 7)),
            ],
        },
        Definition {
            name: "manifest-only",
            description: "default 64 KiB chunks; one platform stanza; a manifest and no \
                          attachments",
            seed: *b"sealpost test vector: manifest!!",
            chunk_size: 65536,
            recipients: &[(StanzaRole::Platform, "platform")],
            attachments: Vec::new(),
        },
    ]
}

/// What sealing a definition produced.
struct Sealed {
    header: Header,
    file_key: FileKey,
    parts: Vec<Vec<u8>>,
    bytes: Vec<u8>,
}

/// Seals a definition with `backend` and a random source seeded from `seed`.
fn seal(def: &Definition, seed: [u8; 32], backend: Backend) -> Sealed {
    let message_id = MessageId(seed[..16].try_into().expect("16 bytes"));
    let described: Vec<(&str, &str, &[u8])> =
        def.attachments.iter().map(|(n, t, b)| (*n, *t, b.as_slice())).collect();
    let mut parts = vec![manifest_for(&described).to_json()];
    parts.extend(def.attachments.iter().map(|(_, _, b)| b.clone()));

    let mut b = Sealer::builder(message_id)
        .chunk_size(def.chunk_size)
        .backend(backend)
        .manifest_len(parts[0].len() as u64);
    for (role, name) in def.recipients {
        b = b.recipient(*role, key(name).public_key());
    }
    for p in &parts[1..] {
        b = b.attachment(p.len() as u64);
    }
    let sealer = b.build_with_rng(&mut seeded_rng(seed)).expect("build");
    let (header, file_key) = (sealer.header().clone(), sealer.file_key().clone());
    let mut w = sealer.into_writer(Vec::new());
    for p in &parts {
        w.write_all(p).expect("write");
    }
    Sealed { header, file_key, parts, bytes: w.finish().expect("finish") }
}

/// Byte range of chunk `index` of part `part` (ciphertext and tag).
fn chunk(header: &Header, part: u32, index: u64) -> Range<usize> {
    let l = header.layout();
    let r = l.chunk_range(l.part(part).expect("part"), index);
    r.start as usize..r.end as usize
}

fn details(e: &Error) -> Value {
    match e {
        Error::ChunkOutOfOrder { part, index, belongs_at } => {
            json!({"part": part, "index": index, "belongs_at": belongs_at})
        }
        Error::ChunkFromOtherPart { part, index, belongs_to } => {
            json!({"part": part, "index": index, "belongs_to": belongs_to})
        }
        Error::ChunkTampered { part, index } => json!({"part": part, "index": index}),
        Error::Truncated { expected, found } => json!({"expected": expected, "found": found}),
        Error::TrailingData { extra } => json!({"extra": extra}),
        Error::UnsupportedVersion(v) => json!({"version": v}),
        _ => Value::Null,
    }
}

fn validator_code(bytes: &[u8]) -> Option<String> {
    let mut v = Validator::new(Limits::default());
    let r = v.feed(bytes).and_then(|()| v.finish().map(|_| ()));
    r.err().map(|e| e.code().to_string())
}

/// The broken variants of the multipart vector, made by explicit byte surgery.
fn broken_cases(def: &Definition, good: &[u8], header: &Header) -> Vec<BrokenCase> {
    let mut cases = Vec::new();
    let mut add =
        |name: &str, description: &str, key: &str, expect: Option<MessageId>, bytes: Vec<u8>| {
            cases.push((name.to_string(), description.to_string(), key.to_string(), expect, bytes));
        };
    let flip = |mut b: Vec<u8>, at: usize| {
        b[at] ^= 0x01;
        b
    };
    let n = good.len();
    add("truncated", "the last 5 bytes are missing", "platform", None, good[..n - 5].to_vec());
    add(
        "truncated_whole_chunk",
        "the final chunk of the last part is missing",
        "platform",
        None,
        good[..chunk(header, 3, 3).start].to_vec(),
    );
    add("trailing_data", "one byte follows the last part", "platform", None, {
        let mut b = good.to_vec();
        b.push(0);
        b
    });
    add("chunks_reordered", "chunks 0 and 1 of part 3 are swapped", "platform", None, {
        let mut b = good.to_vec();
        let (c0, c1) = (chunk(header, 3, 0), chunk(header, 3, 1));
        let first = good[c0.clone()].to_vec();
        b[c0].copy_from_slice(&good[c1.clone()]);
        b[c1].copy_from_slice(&first);
        b
    });
    add(
        "chunk_from_other_part",
        "chunk 0 of part 3 is replaced by chunk 0 of part 2",
        "platform",
        None,
        {
            let mut b = good.to_vec();
            b[chunk(header, 3, 0)].copy_from_slice(&good[chunk(header, 2, 0)]);
            b
        },
    );
    add(
        "chunk_from_other_message",
        "chunk 1 of part 3 is replaced by chunk 1 of part 3 of the same message sealed again \
         (another file key)",
        "platform",
        None,
        {
            let mut seed = def.seed;
            seed[31] ^= 0xff;
            seed[..16].copy_from_slice(&def.seed[..16]);
            let other = seal(def, seed, Backend::AwsLc).bytes;
            let mut b = good.to_vec();
            b[chunk(header, 3, 1)].copy_from_slice(&other[chunk(header, 3, 1)]);
            b
        },
    );
    add(
        "bit_flipped_in_chunk",
        "one bit of byte 10 of chunk 2 of part 3 is flipped",
        "platform",
        None,
        flip(good.to_vec(), chunk(header, 3, 2).start + 10),
    );
    add(
        "bit_flipped_in_tag",
        "one bit of the tag of part 1 (an empty attachment) is flipped",
        "platform",
        None,
        flip(good.to_vec(), chunk(header, 1, 0).end - 1),
    );
    let salt_at = header.layout().header_len() as usize - 32 - 16; // last part's salt
    add("header_salt_altered", "one bit of part 3's salt is flipped", "platform", None, {
        flip(good.to_vec(), salt_at)
    });
    // First stanza's wrapped key starts after the fixed fields (36) and role, alg, key id, len.
    add(
        "wrapped_key_altered",
        "one bit of the platform stanza's wrapped file key is flipped",
        "platform",
        None,
        flip(good.to_vec(), 36 + 36 + 100),
    );
    add("outsider_key", "opened with a key that has no stanza", "outsider", None, good.to_vec());
    add(
        "other_message_expected",
        "the opener expected message 00000000-0000-4000-8000-000000000000",
        "platform",
        Some("00000000-0000-4000-8000-000000000000".parse().expect("uuid")),
        good.to_vec(),
    );
    add("version_2", "the version byte says 2", "platform", None, {
        let mut b = good.to_vec();
        b[8] = 2;
        b
    });
    add(
        "not_an_envelope",
        "the first magic byte is wrong",
        "platform",
        None,
        flip(good.to_vec(), 0),
    );
    add("reserved_flags_set", "the reserved flags byte is 1", "platform", None, {
        let mut b = good.to_vec();
        b[9] = 1;
        b
    });
    add("header_length_huge", "the header length field says 4 GiB", "platform", None, {
        let mut b = good.to_vec();
        b[10..14].copy_from_slice(&u32::MAX.to_be_bytes());
        b
    });

    cases
        .into_iter()
        .map(|(name, description, key_name, expect, bytes)| {
            let opts = OpenOptions { expect_message: expect, ..OpenOptions::default() };
            let err = open(&bytes, key(&key_name), &opts)
                .err()
                .unwrap_or_else(|| panic!("broken case {name} opened without an error"));
            BrokenCase {
                name,
                description,
                key: format!("{key_name}.pem"),
                expect_message_id: expect.map(|m| m.to_string()),
                error: err.code().to_string(),
                details: details(&err),
                validator_error: validator_code(&bytes),
                envelope_b64: B64.encode(&bytes),
            }
        })
        .collect()
}

fn make_vector(def: &Definition) -> VectorFile {
    let Sealed { header, file_key, parts, bytes } = seal(def, def.seed, Backend::AwsLc);
    let header = &header;
    let broken =
        if def.name == "multipart" { broken_cases(def, &bytes, header) } else { Vec::new() };
    VectorFile {
        description: def.description.to_string(),
        rng: RngSpec {
            algorithm: "ChaCha20 (rand_chacha 0.3 ChaCha20Rng::from_seed)".into(),
            seed: hex::encode(def.seed),
            order: "file key (32 bytes); then per stanza, in order, the RSA-OAEP seed (32 \
                    bytes); then per part, in order, the salt (16 bytes). The message id is \
                    the seed's first 16 bytes."
                .into(),
        },
        message_id: header.message_id().to_string(),
        chunk_size: def.chunk_size,
        file_key: hex::encode(file_key.expose_secret()),
        recipients: def
            .recipients
            .iter()
            .map(|(role, name)| RecipientSpec {
                role: *role,
                key: format!("{name}.pem"),
                key_id: key(name).key_id().to_hex(),
            })
            .collect(),
        parts: header
            .parts()
            .iter()
            .zip(&parts)
            .map(|(entry, plain)| PartSpec {
                kind: format!("{:?}", entry.kind).to_lowercase(),
                salt: hex::encode(entry.salt),
                sha256: sha256_hex(plain),
                plaintext_b64: B64.encode(plain),
            })
            .collect(),
        header_len: header.layout().header_len(),
        envelope_sha256: sha256_hex(&bytes),
        envelope_b64: B64.encode(&bytes),
        broken,
    }
}

/// With `SEALPOST_WRITE_VECTORS` set, (re)writes every vector file once per test run.
fn write_vectors_if_asked() {
    static WRITE: std::sync::Once = std::sync::Once::new();
    WRITE.call_once(|| {
        if std::env::var_os("SEALPOST_WRITE_VECTORS").is_none() {
            return;
        }
        for def in definitions() {
            let text = serde_json::to_string_pretty(&make_vector(&def)).expect("json") + "\n";
            std::fs::write(vectors_dir().join(format!("{}.json", def.name)), text).expect("write");
        }
    });
}

fn load(name: &str) -> VectorFile {
    write_vectors_if_asked();
    let path = vectors_dir().join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("{}: {e} (write vectors with SEALPOST_WRITE_VECTORS=1)", path.display())
    });
    serde_json::from_str(&text).expect("vector JSON")
}

#[test]
fn vectors_are_reproduced_and_opened_by_every_backend() {
    for def in definitions() {
        let v = load(def.name);
        let expected = B64.decode(&v.envelope_b64).expect("b64");
        assert_eq!(sha256_hex(&expected), v.envelope_sha256, "{}: sha256 of envelope", def.name);
        for &backend in Backend::all() {
            let seed: [u8; 32] = hex::decode(&v.rng.seed).expect("hex").try_into().expect("32");
            let Sealed { file_key, parts, bytes, .. } = seal(&def, seed, backend);
            assert_eq!(bytes, expected, "{}: {backend:?} reproduces the bytes", def.name);
            assert_eq!(hex::encode(file_key.expose_secret()), v.file_key);
            for (spec, plain) in v.parts.iter().zip(&parts) {
                assert_eq!(B64.decode(&spec.plaintext_b64).expect("b64"), *plain);
            }
            for r in &v.recipients {
                let name = r.key.trim_end_matches(".pem");
                assert_eq!(key(name).key_id().to_hex(), r.key_id);
                let opts = OpenOptions { backend, ..OpenOptions::default() };
                let (dec, opened) = open(&expected, key(name), &opts).expect("open");
                assert_eq!(hex::encode(dec.file_key().expose_secret()), v.file_key);
                assert_eq!(opened.manifest.to_json(), parts[0], "{}: manifest", def.name);
                for (got, want) in opened.attachments.iter().zip(&parts[1..]) {
                    assert_eq!(&got[..], &want[..]);
                }
            }
        }
    }
}

#[test]
fn each_broken_vector_gives_its_own_error_on_every_backend() {
    let v = load("multipart");
    assert!(v.broken.len() >= 15, "the broken variants are all present");
    let mut codes = std::collections::BTreeSet::new();
    for case in &v.broken {
        let bytes = B64.decode(&case.envelope_b64).expect("b64");
        let key = key(case.key.trim_end_matches(".pem"));
        let expect_message = case.expect_message_id.as_deref().map(|s| s.parse().expect("uuid"));
        for &backend in Backend::all() {
            let opts = OpenOptions { backend, expect_message, ..OpenOptions::default() };
            let err = match open(&bytes, key, &opts) {
                Ok(_) => panic!("{} opened without error on {backend:?}", case.name),
                Err(e) => e,
            };
            assert_eq!(err.code(), case.error, "{} on {backend:?}: {err}", case.name);
            assert_eq!(details(&err), case.details, "{} on {backend:?}", case.name);
        }
        assert_eq!(
            validator_code(&bytes),
            case.validator_error,
            "{}: keyless validator",
            case.name
        );
        codes.insert(case.error.clone());
    }
    // Truncation, reordering, moving between parts, alteration, wrong key, unknown version...
    for code in [
        "truncated",
        "trailing_data",
        "chunk_out_of_order",
        "chunk_from_other_part",
        "chunk_tampered",
        "header_tampered",
        "wrong_key",
        "no_stanza_for_key",
        "wrong_message",
        "unsupported_version",
        "not_an_envelope",
        "malformed",
        "limit_exceeded",
    ] {
        assert!(codes.contains(code), "no broken vector gives {code}");
    }
}
