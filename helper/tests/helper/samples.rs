#![allow(unreachable_pub)]

//! What the MIME samples hold, rebuilt independently of the files.

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
