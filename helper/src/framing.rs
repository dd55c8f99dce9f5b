//! Native-messaging framing: each message is a 4-byte length in the machine's byte order
//! followed by that many bytes of UTF-8 JSON.
//!
//! Written by hand (about fifty lines) because the crates that do this either allocate
//! whatever length a frame claims (up to 4 GiB) or cannot be capped (see
//! `../shared/notes/crates-and-tools.md`). Both directions are capped here:
//! - inbound (mail client → helper): [`MAX_INBOUND_FRAME`] by default, checked *before*
//!   anything is allocated;
//! - outbound (helper → mail client): [`MAX_OUTBOUND_FRAME`], the 1 MiB Thunderbird and
//!   Firefox accept; a larger reply is a bug and is refused rather than sent.

use std::io::{self, Read, Write};

/// Largest frame the helper accepts by default: an attachment piece of 4 MiB, base64-encoded,
/// with room for the JSON around it.
pub const MAX_INBOUND_FRAME: u32 = 8 << 20;
/// Largest frame the mail client accepts from a native-messaging host.
pub const MAX_OUTBOUND_FRAME: usize = 1 << 20;

/// What can go wrong reading a frame.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The length prefix is larger than the cap; the frame was not read.
    #[error("frame of {len} bytes is over the limit of {max} bytes")]
    TooLarge {
        /// Length the prefix claimed.
        len: u32,
        /// The cap.
        max: u32,
    },
    /// The input ended inside a frame.
    #[error("input ended inside a frame")]
    Truncated,
    /// Reading failed.
    #[error("reading a frame: {0}")]
    Io(#[from] io::Error),
}

/// Reads one frame. `Ok(None)` means the input ended cleanly between frames (the mail client
/// closed the port). A too-large frame is reported without reading its body; the stream cannot
/// be resynchronised after that, so the caller should answer and stop.
pub fn read_frame<R: Read + ?Sized>(r: &mut R, max: u32) -> Result<Option<Vec<u8>>, FrameError> {
    let mut prefix = [0u8; 4];
    let mut got = 0;
    while got < prefix.len() {
        match r.read(&mut prefix[got..]) {
            Ok(0) if got == 0 => return Ok(None),
            Ok(0) => return Err(FrameError::Truncated),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    let len = u32::from_ne_bytes(prefix);
    if len > max {
        return Err(FrameError::TooLarge { len, max });
    }
    let mut body = vec![0u8; len as usize];
    r.read_exact(&mut body).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => FrameError::Truncated,
        _ => FrameError::Io(e),
    })?;
    Ok(Some(body))
}

/// Writes one frame and flushes it. Refuses bodies over [`MAX_OUTBOUND_FRAME`].
pub fn write_frame<W: Write + ?Sized>(w: &mut W, body: &[u8]) -> io::Result<()> {
    if body.len() > MAX_OUTBOUND_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("reply of {} bytes is over the mail client's 1 MiB limit", body.len()),
        ));
    }
    w.write_all(&(body.len() as u32).to_ne_bytes())?;
    w.write_all(body)?;
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framed(body: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        write_frame(&mut v, body).expect("write");
        v
    }

    #[test]
    fn frames_round_trip_back_to_back() {
        let mut input = framed(b"{\"a\":1}");
        input.extend(framed(b""));
        input.extend(framed("{\"name\":\"Grüße.pdf\"}".as_bytes()));
        let mut r = &input[..];
        assert_eq!(read_frame(&mut r, 64).expect("1").as_deref(), Some(&b"{\"a\":1}"[..]));
        assert_eq!(read_frame(&mut r, 64).expect("2").as_deref(), Some(&b""[..]));
        assert_eq!(
            read_frame(&mut r, 64).expect("3").as_deref(),
            Some("{\"name\":\"Grüße.pdf\"}".as_bytes())
        );
        assert!(read_frame(&mut r, 64).expect("end").is_none());
    }

    #[test]
    fn oversize_lengths_are_refused_before_allocating() {
        let input = u32::MAX.to_ne_bytes();
        match read_frame(&mut &input[..], MAX_INBOUND_FRAME) {
            Err(FrameError::TooLarge { len, max }) => {
                assert_eq!((len, max), (u32::MAX, MAX_INBOUND_FRAME));
            }
            other => panic!("expected TooLarge, got {other:?}"),
        }
    }

    #[test]
    fn truncation_is_told_apart_from_a_clean_end() {
        for cut in [1, 3, 4, 6] {
            let input = framed(b"{\"x\":true}");
            let r = read_frame(&mut &input[..cut], 64);
            assert!(matches!(r, Err(FrameError::Truncated)), "cut at {cut}: {r:?}");
        }
    }

    #[test]
    fn replies_over_one_mebibyte_are_not_sent() {
        let mut out = Vec::new();
        assert!(write_frame(&mut out, &vec![b' '; MAX_OUTBOUND_FRAME + 1]).is_err());
        assert!(out.is_empty(), "nothing of a refused reply is written");
        write_frame(&mut out, &vec![b' '; MAX_OUTBOUND_FRAME]).expect("exactly 1 MiB is fine");
    }
}
