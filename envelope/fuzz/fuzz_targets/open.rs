//! Opening arbitrary bytes with a fixed key: must never panic, and may only succeed on an
//! envelope that authenticates. Seed the corpus from the test vectors (see README.md) so the
//! fuzzer starts from envelopes this key can open.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sealpost_envelope::{OpenOptions, PrivateKey, open};

fn key() -> &'static PrivateKey {
    static KEY: OnceLock<PrivateKey> = OnceLock::new();
    KEY.get_or_init(|| {
        PrivateKey::parse_pkcs8(include_bytes!("../../tests/vectors/keys/platform.pem"))
            .expect("test key")
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok((dec, opened)) = open(data, key(), &OpenOptions::default()) {
        // Whatever opened is exactly what the header declares.
        assert_eq!(opened.attachments.len() + 1, dec.header().parts().len());
        for (a, p) in opened.attachments.iter().zip(&dec.header().parts()[1..]) {
            assert_eq!(a.len() as u64, p.len);
        }
    }
});
