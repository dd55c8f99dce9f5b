//! Behaviour of the envelope crate as its users meet it: the helper sealing, the platform
//! validating and serving ranges, anyone opening.

mod common;

use std::io::{Cursor, Read, Write};

use common::{key, manifest_for, pattern, seeded_rng};
use rand_core::RngCore;
use sealpost_envelope::{
    AsyncSealWriter, Backend, Decryptor, Error, Header, Limits, Manifest, MessageId, OpenOptions,
    PrivateKey, PublicKey, SealCore, Sealer, StanzaRole, Validator, open,
};

const ID: MessageId = MessageId([0x11; 16]);

/// Seals `parts` (manifest first) with a seeded random source, writing in `piece`-byte writes.
fn seal_with(parts: &[Vec<u8>], chunk_size: u32, backend: Backend, piece: usize) -> Vec<u8> {
    let mut w = builder(parts, chunk_size, backend).into_writer(Vec::new());
    for p in parts {
        for c in p.chunks(piece.max(1)) {
            w.write_all(c).expect("write");
        }
    }
    w.finish().expect("finish")
}

fn builder(parts: &[Vec<u8>], chunk_size: u32, backend: Backend) -> Sealer {
    let mut b = Sealer::builder(ID)
        .chunk_size(chunk_size)
        .backend(backend)
        .recipient(StanzaRole::Platform, key("platform").public_key())
        .recipient(StanzaRole::Sender, key("recipient").public_key())
        .manifest_len(parts[0].len() as u64);
    for p in &parts[1..] {
        b = b.attachment(p.len() as u64);
    }
    b.build_with_rng(&mut seeded_rng([9; 32])).expect("build")
}

/// A real manifest plus attachments of the given sizes.
fn message(sizes: &[usize]) -> Vec<Vec<u8>> {
    let atts: Vec<Vec<u8>> = sizes.iter().enumerate().map(|(i, &n)| pattern(n, i as u8)).collect();
    let described: Vec<(&str, &str, &[u8])> =
        atts.iter().map(|a| ("file.bin", "application/octet-stream", a.as_slice())).collect();
    let mut parts = vec![manifest_for(&described).to_json()];
    parts.extend(atts);
    parts
}

#[test]
fn every_size_around_chunk_boundaries_round_trips_across_backends() {
    let sizes = [0, 1, 63, 64, 65, 127, 128, 129, 1000];
    let parts = message(&sizes);
    let reference = seal_with(&parts, 64, Backend::AwsLc, usize::MAX);
    for &writer in Backend::all() {
        for piece in [1, 7, 64, 65, usize::MAX] {
            let bytes = seal_with(&parts, 64, writer, piece);
            assert_eq!(bytes, reference, "{writer:?} with {piece}-byte writes: same bytes");
        }
        for &reader in Backend::all() {
            let opts = OpenOptions { backend: reader, ..OpenOptions::default() };
            for k in ["platform", "recipient"] {
                let (_, opened) = open(&reference, key(k), &opts).expect("open");
                assert_eq!(opened.manifest.to_json(), parts[0]);
                for (got, want) in opened.attachments.iter().zip(&parts[1..]) {
                    assert_eq!(&got[..], &want[..], "{writer:?} → {reader:?}");
                }
            }
        }
    }
}

#[test]
fn in_memory_sealing_and_reading_take_the_zero_copy_paths_to_the_same_bytes() {
    let parts = message(&[0, 1, 64, 1000, 65]);
    let streamed = seal_with(&parts, 64, Backend::AwsLc, 10);
    let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    let direct = builder(&parts, 64, Backend::AwsLc).seal_to_vec(&refs).expect("seal_to_vec");
    assert_eq!(direct, streamed);
    let mut short = refs.clone();
    short[3] = &[1]; // part 3 was declared as 64 bytes
    let err = builder(&parts, 64, Backend::AwsLc).seal_to_vec(&short).expect_err("64 ≠ 1");
    assert!(matches!(err, Error::PartLengthMismatch { part: 3, declared: 64, actual: 1 }), "{err}");

    // Reading with buffers that hold whole chunks (direct path) or not (buffered path).
    let header = Header::read_from(&mut &direct[..], &Limits::default()).expect("header");
    let dec = Decryptor::new(header, key("platform")).expect("unwrap");
    for buf_len in [1, 63, 64, 200, 4096] {
        let mut r = dec.part_reader(4, Cursor::new(&direct)).expect("reader");
        let mut r_inner = r.into_inner();
        r_inner.set_position(dec.header().layout().parts()[4].offset);
        r = dec.part_reader(4, r_inner).expect("reader");
        let mut got = Vec::new();
        let mut buf = vec![0u8; buf_len];
        loop {
            let n = r.read(&mut buf).expect("read");
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(got, parts[4], "reading with {buf_len}-byte buffers");
    }
}

#[test]
fn parts_sealed_out_of_order_assemble_into_the_same_envelope() {
    // The helper seals attachments as they stream in and the manifest (which lists their
    // SHA-256) last; the result must equal a sequential seal.
    let parts = message(&[300, 0, 70]);
    let sequential = seal_with(&parts, 64, Backend::AwsLc, usize::MAX);

    let sealer = builder(&parts, 64, Backend::AwsLc);
    let mut sealed: Vec<Vec<u8>> = vec![Vec::new(); parts.len()];
    for i in (0..parts.len()).rev() {
        let w = sealpost_envelope::SealWriter::new(
            sealer.part_sealer(i as u32).expect("part"),
            Vec::new(),
        );
        let mut w = w;
        w.write_all(&parts[i]).expect("write");
        sealed[i] = w.finish().expect("finish");
    }
    let mut assembled = sealer.header().as_bytes().to_vec();
    for s in sealed {
        assembled.extend(s);
    }
    assert_eq!(assembled, sequential);
}

#[test]
fn a_part_sealed_in_pieces_by_resumed_sealers_equals_one_seal() {
    // The Message Center seals a large attachment as it arrives over many requests, perhaps on
    // different nodes: each request takes up the kept header and file key and seals whole
    // chunks from where the part stands.
    let parts = message(&[300, 700, 0]);
    let sequential = seal_with(&parts, 64, Backend::AwsLc, usize::MAX);
    let first = builder(&parts, 64, Backend::AwsLc);
    let (header, key) = (first.header().clone(), first.file_key().clone());
    let mut assembled = header.as_bytes().to_vec();
    for (i, part) in parts.iter().enumerate() {
        let pieces: Vec<&[u8]> =
            if part.is_empty() { vec![&[][..]] } else { part.chunks(3 * 64).collect() };
        for (n, piece) in pieces.iter().enumerate() {
            let resumed = Sealer::resume(header.clone(), key.clone()).expect("resume");
            let mut s = resumed.part_sealer_at(i as u32, n as u64 * 3).expect("part");
            let mut input: &[u8] = piece;
            loop {
                assembled.extend_from_slice(s.pending());
                let pending = s.pending().len();
                s.consume(pending);
                if input.is_empty() {
                    break;
                }
                let took = s.push(input).expect("push");
                input = &input[took..];
            }
            if n + 1 == pieces.len() {
                while !s.finish().expect("finish") {
                    assembled.extend_from_slice(s.pending());
                    let pending = s.pending().len();
                    s.consume(pending);
                }
            }
        }
    }
    assert_eq!(assembled, sequential);

    let wrong = sealpost_envelope::FileKey::from_bytes([7; 32]);
    assert!(Sealer::resume(header.clone(), wrong).is_err(), "a key the header is not made with");
    let resumed = Sealer::resume(header, key).expect("resume");
    assert!(resumed.part_sealer_at(2, 10).is_ok() && resumed.part_sealer_at(2, 11).is_err());
}

#[tokio::test]
async fn async_writer_produces_the_same_bytes() {
    use tokio::io::AsyncWriteExt;
    let parts = message(&[1000, 0, 64]);
    let expected = seal_with(&parts, 64, Backend::AwsLc, usize::MAX);
    let mut w = AsyncSealWriter::new(builder(&parts, 64, Backend::AwsLc).into_stream(), Vec::new());
    for p in &parts {
        for c in p.chunks(50) {
            w.write_all(c).await.expect("write");
        }
    }
    w.shutdown().await.expect("shutdown");
    assert_eq!(w.into_inner(), expected);

    // Shutting down before every declared byte arrived fails and says which part.
    let mut w = AsyncSealWriter::new(builder(&parts, 64, Backend::AwsLc).into_stream(), Vec::new());
    w.write_all(&parts[0]).await.expect("write");
    let err = w.shutdown().await.expect_err("incomplete");
    assert!(matches!(Error::from_io(err), Error::PartLengthMismatch { part: 1, .. }));
}

#[test]
fn byte_ranges_decrypt_only_what_is_asked() {
    let parts = message(&[1000]);
    let bytes = seal_with(&parts, 64, Backend::AwsLc, usize::MAX);
    let header = Header::read_from(&mut &bytes[..], &Limits::default()).expect("header");
    let dec = Decryptor::new(header, key("platform")).expect("unwrap");
    let att = &parts[1];
    let mut rng = seeded_rng([3; 32]);
    let mut ranges = vec![0..0, 0..1, 0..1000, 63..65, 64..128, 999..1000, 960..1000, 1000..1000];
    for _ in 0..200 {
        let a = (rng.next_u32() % 1001) as u64;
        let b = (rng.next_u32() % 1001) as u64;
        ranges.push(a.min(b)..a.max(b));
    }
    for range in ranges {
        let mut out = Vec::new();
        dec.range_reader(1, range.clone(), Cursor::new(&bytes))
            .expect("range")
            .read_to_end(&mut out)
            .expect("read");
        assert_eq!(out, att[range.start as usize..range.end as usize], "{range:?}");
    }
    assert!(dec.range_reader(1, 10..1001, Cursor::new(&bytes)).is_err());

    // A range that needs a damaged chunk fails; one that does not, succeeds.
    let mut damaged = bytes.clone();
    let chunk5 = dec.header().layout().chunk_offset(&dec.header().layout().parts()[1], 5);
    damaged[chunk5 as usize + 3] ^= 0x80;
    let mut out = Vec::new();
    let err = dec
        .range_reader(1, 300..400, Cursor::new(&damaged))
        .expect("range")
        .read_to_end(&mut out)
        .expect_err("tampered chunk");
    assert!(matches!(Error::from_io(err), Error::ChunkTampered { part: 1, index: 5 }));
    let mut out = Vec::new();
    dec.range_reader(1, 0..300, Cursor::new(&damaged))
        .expect("r")
        .read_to_end(&mut out)
        .expect("ok");
    assert_eq!(out, att[..300]);
}

#[test]
fn manifest_is_read_by_seeking_and_checked_against_the_header() {
    let parts = message(&[10, 20]);
    let bytes = seal_with(&parts, 64, Backend::AwsLc, usize::MAX);
    let header = Header::read_from(&mut &bytes[..], &Limits::default()).expect("header");
    let dec = Decryptor::new(header, key("recipient")).expect("unwrap");
    let m = dec.read_manifest(Cursor::new(&bytes)).expect("manifest");
    assert_eq!(m.attachments.len(), 2);
    assert_eq!(m.metadata.subject, "Quarterly figures — Q3");

    // A manifest that misstates an attachment's size is refused.
    let mut lying: Manifest = Manifest::from_json(&parts[0]).expect("json");
    lying.attachments[1].size = 21;
    let mut lying_parts = parts.clone();
    lying_parts[0] = lying.to_json();
    let bytes = seal_with(&lying_parts, 64, Backend::AwsLc, usize::MAX);
    let err = open(&bytes, key("platform"), &OpenOptions::default()).expect_err("lying manifest");
    assert_eq!(err.code(), "bad_manifest", "{err}");
}

#[test]
fn declared_lengths_are_enforced() {
    let parts = message(&[100]);
    // Too few bytes: finish names the part and the numbers.
    let mut w = builder(&parts, 64, Backend::AwsLc).into_writer(Vec::new());
    w.write_all(&parts[0]).expect("manifest");
    w.write_all(&parts[1][..99]).expect("99 bytes");
    let err = w.finish().expect_err("short");
    assert!(
        matches!(err, Error::PartLengthMismatch { part: 1, declared: 100, actual: 99 }),
        "{err}"
    );
    // Too many bytes: the write that overflows fails.
    let mut w = builder(&parts, 64, Backend::AwsLc).into_writer(Vec::new());
    w.write_all(&parts[0]).expect("manifest");
    w.write_all(&parts[1]).expect("100 bytes");
    let err = w.write_all(b"x").expect_err("long");
    assert!(matches!(Error::from_io(err), Error::PartLengthMismatch { part: 1, .. }));
}

#[test]
fn the_builder_refuses_what_cannot_be_sealed() {
    let no_recipient = Sealer::builder(ID).manifest_len(2).build().expect_err("no keys");
    assert_eq!(no_recipient.code(), "usage");
    let twice = Sealer::builder(ID)
        .recipient(StanzaRole::Platform, key("platform").public_key())
        .recipient(StanzaRole::Sender, key("platform").public_key())
        .manifest_len(2)
        .build()
        .expect_err("duplicate key");
    assert_eq!(twice.code(), "usage");
    let bad_chunk = Sealer::builder(ID)
        .recipient(StanzaRole::Platform, key("platform").public_key())
        .manifest_len(2)
        .chunk_size(1000)
        .build()
        .expect_err("chunk size");
    assert_eq!(bad_chunk.code(), "usage");
}

#[test]
fn the_validator_accepts_any_split_and_knows_the_total_early() {
    let parts = message(&[500, 0]);
    let bytes = seal_with(&parts, 64, Backend::AwsLc, usize::MAX);
    for piece in [1, 13, 14, 15, 1000, bytes.len()] {
        let mut v = Validator::new(Limits::default());
        for c in bytes.chunks(piece) {
            v.feed(c).expect("valid so far");
        }
        assert_eq!(v.expected_len(), Some(bytes.len() as u64));
        v.finish().expect("complete");
    }
    // The total is known as soon as the header is in, before the body arrives.
    let header_len =
        Header::read_from(&mut &bytes[..], &Limits::default()).expect("h").as_bytes().len();
    let mut v = Validator::new(Limits::default());
    v.feed(&bytes[..header_len]).expect("header");
    assert_eq!(v.expected_len(), Some(bytes.len() as u64));
    let err = v.finish().expect_err("no body");
    assert!(matches!(err, Error::Truncated { .. }));
    // One byte too many is refused at once.
    let mut v = Validator::new(Limits::default());
    v.feed(&bytes).expect("all");
    assert!(matches!(v.feed(b"!"), Err(Error::TrailingData { extra: 1 })));
}

#[test]
fn limits_are_enforced_before_anything_is_allocated() {
    let parts = message(&[10, 10, 10]);
    let bytes = seal_with(&parts, 64, Backend::AwsLc, usize::MAX);
    let cases = [
        (Limits { max_parts: 3, ..Limits::default() }, "parts"),
        (Limits { max_stanzas: 1, ..Limits::default() }, "key stanzas"),
        (Limits { max_manifest_len: 100, ..Limits::default() }, "manifest length"),
        (Limits { max_part_len: 9, ..Limits::default() }, "attachment length"),
        (Limits { max_total_len: 1000, ..Limits::default() }, "envelope length"),
        (Limits { max_header_len: 500, ..Limits::default() }, "header length"),
    ];
    for (limits, what) in cases {
        let mut v = Validator::new(limits);
        match v.feed(&bytes) {
            Err(Error::LimitExceeded { what: w, .. }) => assert_eq!(w, what),
            other => panic!("{what}: expected a limit error, got {other:?}"),
        }
        let opts = OpenOptions { limits, ..OpenOptions::default() };
        assert_eq!(open(&bytes, key("platform"), &opts).expect_err(what).code(), "limit_exceeded");
    }
}

#[test]
fn mutated_envelopes_never_panic_and_never_yield_bad_plaintext() {
    let parts = message(&[130, 5]);
    let good = seal_with(&parts, 64, Backend::AwsLc, usize::MAX);
    let mut rng = seeded_rng([5; 32]);
    for i in 0..3000 {
        let mut b = good.clone();
        match i % 3 {
            0 => {
                let at = rng.next_u32() as usize % b.len();
                b[at] ^= 1 << (rng.next_u32() % 8);
            }
            1 => b.truncate(rng.next_u32() as usize % b.len()),
            _ => {
                // Overwrite a header field region with random bytes.
                let at = rng.next_u32() as usize % 200;
                let n = 1 + rng.next_u32() as usize % 8;
                for x in &mut b[at..(at + n).min(good.len())] {
                    *x = rng.next_u32() as u8;
                }
            }
        }
        let mut v = Validator::new(Limits::default());
        let _ = v.feed(&b).and_then(|()| v.finish().map(|_| ()));
        if let Ok((_, opened)) = open(&b, key("platform"), &OpenOptions::default()) {
            // Only a mutation that changed nothing that matters may open, and then it must
            // give the original plaintext.
            assert_eq!(opened.manifest.to_json(), parts[0]);
            assert_eq!(&opened.attachments[0][..], &parts[1][..]);
        }
    }
    // Random garbage behind a valid prefix is refused without panicking.
    for len in [14, 50, 200, 5000] {
        let mut b = good[..14].to_vec();
        b.resize(len, 0xA5);
        assert!(open(&b, key("platform"), &OpenOptions::default()).is_err());
    }
}

#[test]
fn keys_are_parsed_identified_and_never_printed() {
    let weak = std::fs::read(common::vectors_dir().join("keys/weak-2048.pem")).expect("key");
    let err = PrivateKey::parse_pkcs8(&weak).expect_err("2048-bit key refused");
    assert_eq!(err.code(), "bad_key");
    assert!(err.to_string().contains("2048 bits"), "{err}");

    let k = key("platform");
    let pem = k.public_key().to_pem().expect("pem");
    let from_pem = PublicKey::parse(pem.as_bytes()).expect("pem");
    let from_der = PublicKey::parse(k.public_key().spki_der()).expect("der");
    assert_eq!(from_pem.key_id(), k.key_id());
    assert_eq!(from_der.key_id(), k.key_id());

    let exported = k.to_pkcs8_pem().expect("export");
    let again = PrivateKey::parse_pkcs8(exported.as_bytes()).expect("reimport");
    assert_eq!(again.key_id(), k.key_id());
    let shown = format!("{k:?}");
    assert!(!shown.contains("BEGIN") && shown.contains(&k.key_id().to_hex()), "{shown}");
    // Neither a decryptor nor its file key shows the key bytes through Debug.
    let bytes = seal_with(&message(&[]), 64, Backend::AwsLc, usize::MAX);
    let (dec, _) = open(&bytes, k, &OpenOptions::default()).expect("open");
    let secret = hex::encode(dec.file_key().expose_secret());
    let shown = format!("{dec:?} {:?}", dec.file_key());
    assert!(!shown.contains(&secret) && shown.contains("redacted"), "{shown}");
    assert!(
        PublicKey::parse(b"-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----").is_err()
    );
    assert!(PublicKey::parse(&[0x30, 0x03, 0x02, 0x01, 0x00]).is_err());
}

#[test]
fn a_freshly_generated_key_pair_opens_what_is_sealed_for_it() {
    let k = PrivateKey::generate(sealpost_envelope::RsaBits::Rsa3072).expect("generate");
    let mut s = Sealer::builder(ID)
        .recipient(StanzaRole::Recipient, k.public_key())
        .manifest_len(2)
        .build()
        .expect("build")
        .into_stream();
    let mut out = Vec::new();
    let mut input: &[u8] = b"{}";
    while !input.is_empty() {
        out.extend_from_slice(s.pending());
        let n = s.pending().len();
        s.consume(n);
        let taken = s.push(input).expect("push");
        input = &input[taken..];
    }
    loop {
        out.extend_from_slice(s.pending());
        let n = s.pending().len();
        s.consume(n);
        if s.finish().expect("finish") {
            break;
        }
    }
    let header = Header::read_from(&mut &out[..], &Limits::default()).expect("header");
    let dec = Decryptor::new(header, &k).expect("unwrap");
    let mut plain = Vec::new();
    dec.part_reader(0, &out[dec.header().as_bytes().len()..])
        .expect("r")
        .read_to_end(&mut plain)
        .expect("read");
    assert_eq!(plain, b"{}");
}

#[test]
fn a_sender_declaring_huge_parts_it_never_sends_gets_an_error_not_an_allocation() {
    // Senders hold the file key, so their header authenticates; its lengths must still not be
    // believed beyond the bytes actually present. 60 GiB would abort the process if allocated.
    let sealer = Sealer::builder(ID)
        .recipient(StanzaRole::Platform, key("platform").public_key())
        .manifest_len(2)
        .attachment(60 << 30)
        .build()
        .expect("build");
    // A complete header and manifest, then nothing of the attachment.
    let mut manifest =
        sealpost_envelope::SealWriter::new(sealer.part_sealer(0).expect("p0"), Vec::new());
    manifest.write_all(b"{}").expect("manifest");
    let mut bytes = sealer.header().as_bytes().to_vec();
    bytes.extend(manifest.finish().expect("sealed"));
    let err = open(&bytes, key("platform"), &OpenOptions::default()).expect_err("truncated");
    assert!(matches!(err, Error::Truncated { .. }), "{err}");
}
