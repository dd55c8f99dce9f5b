//! Keyless parsing and streaming validation of arbitrary bytes: must never panic, never
//! allocate beyond the limits, and the two paths must agree.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sealpost_envelope::{Header, Limits, Validator};

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    let parsed = Header::read_from(&mut &data[..], &limits);

    // Feed the same bytes in uneven pieces; the split is derived from the data itself.
    let step = 1 + data.first().copied().unwrap_or(0) as usize;
    let mut v = Validator::new(limits);
    let mut ok = true;
    for piece in data.chunks(step) {
        if v.feed(piece).is_err() {
            ok = false;
            break;
        }
    }
    if ok && let Some(h) = v.header() {
        let p = parsed.as_ref().expect("validator accepted a header the parser refused");
        assert_eq!(h.as_bytes(), p.as_bytes());
    }
});
