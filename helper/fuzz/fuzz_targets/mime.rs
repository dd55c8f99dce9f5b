//! Arbitrary bytes as an `.eml`: the streaming MIME reader must never panic, and its two
//! passes must agree — each attachment streams exactly the size the scan announced.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sealpost_helper::mime;

fuzz_target!(|data: &[u8]| {
    let Ok(scanned) = mime::scan(data) else { return };
    let mut sizes = vec![0u64; scanned.attachments.len()];
    mime::stream_attachments(data, |i, bytes| {
        sizes[i] += bytes.len() as u64;
        Ok(())
    })
    .expect("the second pass reads what the first did");
    let announced: Vec<u64> = scanned.attachments.iter().map(|a| a.size).collect();
    assert_eq!(sizes, announced);
});
