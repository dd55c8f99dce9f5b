//! Arbitrary bytes as an `.eml`: the streaming MIME reader must never panic, its two passes
//! must agree (each attachment streams exactly the size the scan announced), and how the
//! input is cut into reads must not change a single byte.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sealpost_helper::mime;

/// Hands out at most `n` bytes per read.
struct Trickle<'a>(&'a [u8], usize);

impl std::io::Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.1).min(self.0.len());
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

fn attachments(data: &[u8], per_read: usize) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    mime::stream_attachments(Trickle(data, per_read), |i, bytes| {
        if out.len() <= i {
            out.resize(i + 1, Vec::new());
        }
        out[i].extend_from_slice(bytes);
        Ok(())
    })
    .expect("the second pass reads what the first did");
    out
}

fuzz_target!(|data: &[u8]| {
    let Ok(scanned) = mime::scan(data) else { return };
    let whole = attachments(data, usize::MAX);
    let sizes: Vec<u64> = whole.iter().map(|a| a.len() as u64).collect();
    let announced: Vec<u64> = scanned.attachments.iter().map(|a| a.size).collect();
    // Attachments with no bytes never call the sink; compare what they do hold.
    assert!(sizes.len() <= announced.len());
    assert_eq!(sizes[..], announced[..sizes.len()]);
    assert!(announced[sizes.len()..].iter().all(|&s| s == 0));
    let per_read = 1 + data.len() % 7;
    assert!(attachments(data, per_read) == whole, "reads of {per_read} bytes changed the bytes");
});
