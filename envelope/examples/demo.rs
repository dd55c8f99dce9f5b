//! The quick-start demo: seal a sample secure message, show what the envelope holds (and does
//! not), validate it without a key as the platform does, open it, and show tampering caught.
//!
//! `cargo run --release -p sealpost-envelope --example demo [-- --out FILE]`

use std::error::Error as StdError;
use std::io::Write;

use sealpost_envelope::{
    Body, ContentHash, Limits, Manifest, MessageId, Metadata, OpenOptions, PrivateKey, RsaBits,
    Sealer, StanzaRole, Validator, open,
};

fn main() {
    if let Err(e) = run() {
        eprintln!("demo failed: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn StdError>> {
    let out_path = std::env::args().skip_while(|a| a != "--out").nth(1);

    println!("Sealpost envelope demo\n");
    println!("1. Keys (RSA-3072, generated now):");
    let platform = PrivateKey::generate(RsaBits::Rsa3072)?;
    let sender = PrivateKey::generate(RsaBits::Rsa3072)?;
    let outsider = PrivateKey::generate(RsaBits::Rsa3072)?;
    println!("   platform  {}", platform.key_id());
    println!("   sender    {}", sender.key_id());

    let body = "Hi Bob,\nthe Q3 figures are attached. Account 4417-1234-5678-9113.\n";
    let attachment: Vec<u8> = "region,revenue\n"
        .bytes()
        .chain((0..20_000).flat_map(|i| format!("north-{i},{}\n", i * 37 % 1000).into_bytes()))
        .collect();
    let mut manifest = Manifest::new(
        Metadata {
            from: "alice@example.com".into(),
            to: vec!["bob@outside.example".into()],
            cc: vec![],
            subject: "Q3 figures".into(),
            date: "2026-11-22T10:00:00Z".into(),
            message_id: Some("<q3-figures@example.com>".into()),
            headers: vec![],
        },
        Body { text: Some(body.into()), html: Some(format!("<pre>{body}</pre>")) },
    );
    manifest.attach("figures.csv", "text/csv", &attachment);
    let json = manifest.to_json();

    let id = MessageId::random()?;
    println!("\n2. Sealing message {id}: alice@example.com → bob@outside.example, \"Q3 figures\",");
    println!("   a text and HTML body, and figures.csv ({} bytes).", attachment.len());
    let sealer = Sealer::builder(id)
        .recipient(StanzaRole::Platform, platform.public_key())
        .recipient(StanzaRole::Sender, sender.public_key())
        .parts_for(&manifest, &json)
        .build()?;
    let envelope = sealer.seal_to_vec(&[&json, &attachment])?;

    let mut v = Validator::new(Limits::default());
    v.feed(&envelope)?;
    let header = v.finish()?;
    println!(
        "   envelope: {} bytes; header {} bytes with",
        envelope.len(),
        header.as_bytes().len()
    );
    for s in header.stanzas() {
        println!("     a {:?} stanza for key {}", s.role, s.key_id);
    }
    for (i, p) in header.layout().parts().iter().enumerate() {
        let what = if i == 0 { "manifest".to_string() } else { format!("attachment {i}") };
        println!(
            "     part {i} ({what}): {} bytes in {} chunk(s) at offset {}",
            p.len, p.chunks, p.offset
        );
    }
    let leaks = ["Account 4417", "Q3 figures", "north-1", "bob@outside"]
        .iter()
        .filter(|needle| envelope.windows(needle.len()).any(|w| w == needle.as_bytes()))
        .count();
    println!("   plaintext fragments (body, subject, attachment, recipient) found in it: {leaks}");

    println!("\n3. The platform validates the upload without any key: structure ok, exactly");
    println!("   {} bytes expected and received.", header.layout().total_len());

    println!("\n4. Opening with the sender's key:");
    let (_, opened) = open(&envelope, &sender, &OpenOptions::default())?;
    let m = &opened.manifest;
    println!(
        "   from {} to {:?}, subject \"{}\"",
        m.metadata.from, m.metadata.to, m.metadata.subject
    );
    println!(
        "   body: {:?}",
        m.body.text.as_deref().unwrap_or_default().lines().next().unwrap_or_default()
    );
    let a = &m.attachments[0];
    let same = ContentHash::of(&opened.attachments[0]) == a.sha256
        && opened.attachments[0][..] == attachment[..];
    println!(
        "   {}: {} bytes, SHA-256 {}…, identical to the original: {same}",
        a.name,
        a.size,
        &a.sha256[..16]
    );

    println!("\n5. Tampering is caught, each kind by name:");
    let part1 = header.layout().parts()[1];
    let chunk = |i: u64| {
        let r = header.layout().chunk_range(&part1, i);
        r.start as usize..r.end as usize
    };
    let mut flipped = envelope.clone();
    flipped[chunk(1).start + 100] ^= 1;
    let mut swapped = envelope.clone();
    let (c0, c1) = (chunk(0), chunk(1));
    swapped[c0.clone()].copy_from_slice(&envelope[c1.clone()]);
    swapped[c1].copy_from_slice(&envelope[c0]);
    let cases: [(&str, &[u8], &PrivateKey); 4] = [
        ("one bit flipped in the attachment", &flipped, &platform),
        ("two chunks swapped", &swapped, &platform),
        ("the last 100 bytes cut off", &envelope[..envelope.len() - 100], &platform),
        ("opened with a key it was not sealed for", &envelope, &outsider),
    ];
    for (what, bytes, key) in cases {
        match open(bytes, key, &OpenOptions::default()) {
            Ok(_) => return Err(format!("{what}: opened, which must never happen").into()),
            Err(e) => println!("   {what:<40} → {e}"),
        }
    }

    if let Some(path) = out_path {
        std::fs::File::create(&path)?.write_all(&envelope)?;
        println!("\nThe envelope was written to {path}.");
    }
    println!("\nThe format is specified in docs/envelope.md.");
    Ok(())
}
