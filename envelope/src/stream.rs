//! The STREAM construction (Hoang, Reyhanitabar, Rogaway, Vizár: "Online Authenticated-Encryption
//! and its Nonce-Reuse Misuse-Resistance", 2015), instantiated with AES-256-GCM.
//!
//! Each part of an envelope is one STREAM: a part key, and a sequence of chunks sealed under
//! nonces `counter ‖ last-flag`. The counter stops chunks being reordered; the flag on the final
//! chunk stops a part being truncated at a chunk boundary; the part key (derived from the file
//! key, the part's salt and its index) stops chunks moving between parts or messages.
//!
//! Invariant: a part key must **never** seal two different streams. It is derived from a
//! fresh random file key and the part's own index, so it never does.

use aws_lc_rs::hkdf;
use zeroize::Zeroizing;

use crate::aead::{Backend, ChunkCipher, Nonce};
use crate::keys::FileKey;

/// Length of each part's random salt.
pub const SALT_LEN: usize = 16;
/// HKDF `info` prefix for part keys; the part index follows as a big-endian u32.
pub(crate) const PART_KEY_INFO: &[u8] = b"sealpost part";

/// The STREAM nonce of chunk `index`: an 11-byte big-endian chunk counter followed by a
/// last-chunk flag byte; `last` marks the final chunk of a part.
pub(crate) fn chunk_nonce(index: u64, last: bool) -> Nonce {
    let mut n = [0u8; 12];
    // The counter is 88 bits wide; a u64 fills its low 8 bytes, the top 3 stay zero.
    n[3..11].copy_from_slice(&index.to_be_bytes());
    n[11] = u8::from(last);
    Nonce::from_bytes(n)
}

/// Derives the key of part `index`: HKDF-SHA256(ikm = file key, salt = part salt,
/// info = "sealpost part" ‖ u32be(index)), 32 bytes.
pub(crate) fn part_key(
    file_key: &FileKey,
    salt: &[u8; SALT_LEN],
    index: u32,
) -> Zeroizing<[u8; 32]> {
    let idx = index.to_be_bytes();
    let info: [&[u8]; 2] = [PART_KEY_INFO, &idx];
    let mut out = Zeroizing::new([0u8; 32]);
    hkdf::Salt::new(hkdf::HKDF_SHA256, salt)
        .extract(file_key.expose_secret())
        .expand(&info, hkdf::HKDF_SHA256)
        .and_then(|okm| okm.fill(&mut out[..]))
        .expect("HKDF-SHA256 expand of 32 bytes cannot fail");
    out
}

/// The cipher for one part.
pub(crate) fn part_cipher(
    backend: Backend,
    file_key: &FileKey,
    salt: &[u8; SALT_LEN],
    index: u32,
) -> ChunkCipher {
    ChunkCipher::new(backend, &part_key(file_key, salt, index))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonce_layout_is_counter_then_flag() {
        let n = chunk_nonce(0x0102, true);
        assert_eq!(n.bytes(), &[0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 1]);
        let n = chunk_nonce(u64::MAX, false);
        assert_eq!(&n.bytes()[..3], &[0, 0, 0]);
        assert_eq!(n.bytes()[11], 0);
    }

    #[test]
    fn part_keys_differ_by_index_and_salt() {
        let fk = FileKey::from_bytes([7; 32]);
        let a = part_key(&fk, &[1; 16], 0);
        let b = part_key(&fk, &[1; 16], 1);
        let c = part_key(&fk, &[2; 16], 0);
        assert_ne!(*a, *b);
        assert_ne!(*a, *c);
    }
}
