//! Arbitrary bytes on the helper's stdin: framing and request parsing must never panic nor
//! allocate more than the cap, and every frame either parses or gets an error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sealpost_helper::framing::{FrameError, read_frame};
use sealpost_helper::protocol;

/// A small cap, so that oversize lengths are exercised often.
const CAP: u32 = 4096;

fuzz_target!(|data: &[u8]| {
    let mut input = data;
    loop {
        match read_frame(&mut input, CAP) {
            Ok(Some(frame)) => {
                assert!(frame.len() <= CAP as usize);
                if let Ok(r) = protocol::parse(&frame) {
                    // Whatever parsed can be answered.
                    let _ = protocol::reply(&r.id, r.kind, serde_json::json!({}));
                }
            }
            Ok(None) | Err(FrameError::Truncated) | Err(FrameError::Io(_)) => break,
            Err(FrameError::TooLarge { len, .. }) => {
                assert!(len > CAP);
                // The host skips the body; do the same.
                let skip = (len as usize).min(input.len());
                input = &input[skip..];
            }
        }
    }
});
