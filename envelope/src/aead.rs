//! The bulk AEAD (AES-256-GCM) behind one small interface, with two backends.
//!
//! aws-lc-rs is the default: on these machines it runs at ~0.9× `openssl speed`, which the seal
//! path needs. RustCrypto's `aes-gcm` is a pure-Rust alternative behind the `rustcrypto`
//! feature; the tests run both and check they produce identical bytes.
//!
//! This module knows AES-GCM only (its nonce and tag); how the nonces of a part's chunks are
//! laid out is the STREAM construction's business (`crate::stream`), which builds on this one.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce as AwsNonce, UnboundKey};

/// Length of the AES-GCM authentication tag that follows every chunk.
pub const TAG_LEN: usize = 16;

/// A 96-bit AES-GCM nonce. Only `crate::stream` makes them, so that no nonce is used twice
/// under one part key.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Nonce([u8; 12]);

impl Nonce {
    pub(crate) fn from_bytes(bytes: [u8; 12]) -> Nonce {
        Nonce(bytes)
    }

    pub(crate) fn bytes(&self) -> &[u8; 12] {
        &self.0
    }
}

/// Which AES-256-GCM implementation seals and opens chunks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Backend {
    /// aws-lc-rs (AWS-LC): fastest, the default.
    #[default]
    AwsLc,
    /// RustCrypto `aes-gcm`: pure Rust.
    #[cfg(feature = "rustcrypto")]
    RustCrypto,
}

impl Backend {
    /// Every backend compiled into this build.
    pub fn all() -> &'static [Backend] {
        &[
            Backend::AwsLc,
            #[cfg(feature = "rustcrypto")]
            Backend::RustCrypto,
        ]
    }
}

/// AES-256-GCM keyed for one part. The expanded key lives inside the backend, which clears it
/// on drop (AWS-LC cleanses its context; `aes-gcm` zeroizes with its `zeroize` feature).
pub(crate) enum ChunkCipher {
    AwsLc(LessSafeKey),
    #[cfg(feature = "rustcrypto")]
    RustCrypto(Box<aes_gcm::Aes256Gcm>),
}

/// The AEAD refused a chunk (wrong key, wrong position, or altered bytes).
#[derive(Debug)]
pub(crate) struct Unauthentic;

impl ChunkCipher {
    pub(crate) fn new(backend: Backend, key: &[u8; 32]) -> ChunkCipher {
        match backend {
            Backend::AwsLc => ChunkCipher::AwsLc(LessSafeKey::new(
                UnboundKey::new(&AES_256_GCM, key).expect("a 32-byte key fits AES-256-GCM"),
            )),
            #[cfg(feature = "rustcrypto")]
            Backend::RustCrypto => {
                use aes_gcm::KeyInit;
                ChunkCipher::RustCrypto(Box::new(aes_gcm::Aes256Gcm::new(key.into())))
            }
        }
    }

    /// Encrypts `plaintext` into `out`, which must be exactly `plaintext.len() + TAG_LEN` long:
    /// ciphertext first, then the tag. Out of place, so a caller holding a whole chunk of input
    /// needs no copy.
    pub(crate) fn seal(&self, nonce: Nonce, plaintext: &[u8], out: &mut [u8]) {
        assert_eq!(out.len(), plaintext.len() + TAG_LEN, "seal output must fit the chunk and tag");
        let (ct, tag) = out.split_at_mut(plaintext.len());
        match self {
            ChunkCipher::AwsLc(key) => key
                .seal_out_of_place_scatter(
                    AwsNonce::assume_unique_for_key(*nonce.bytes()),
                    Aad::empty(),
                    plaintext,
                    ct,
                    &[],
                    tag,
                )
                .expect("AES-GCM seal of a chunk within the size limit cannot fail"),
            #[cfg(feature = "rustcrypto")]
            ChunkCipher::RustCrypto(cipher) => {
                use aes_gcm::aead::AeadInOut;
                use aes_gcm::aead::inout::InOutBuf;
                let buf = InOutBuf::new(plaintext, ct).expect("lengths checked above");
                let t = cipher
                    .encrypt_inout_detached(nonce.bytes().into(), &[], buf)
                    .expect("AES-GCM seal of a chunk within the size limit cannot fail");
                tag.copy_from_slice(&t);
            }
        }
    }

    /// Decrypts `chunk` (ciphertext ‖ tag) into `out` (`chunk.len() - TAG_LEN` bytes), leaving
    /// `chunk` untouched so a failure can be diagnosed. On failure `out` holds unspecified
    /// bytes that must not be used.
    pub(crate) fn open(
        &self,
        nonce: Nonce,
        chunk: &[u8],
        out: &mut [u8],
    ) -> Result<(), Unauthentic> {
        let Some(ct_len) = chunk.len().checked_sub(TAG_LEN) else {
            return Err(Unauthentic);
        };
        if out.len() != ct_len {
            return Err(Unauthentic);
        }
        let (ct, tag) = chunk.split_at(ct_len);
        match self {
            ChunkCipher::AwsLc(key) => key
                .open_separate_gather(
                    AwsNonce::assume_unique_for_key(*nonce.bytes()),
                    Aad::empty(),
                    ct,
                    tag,
                    out,
                )
                .map_err(|_| Unauthentic),
            #[cfg(feature = "rustcrypto")]
            ChunkCipher::RustCrypto(cipher) => {
                use aes_gcm::aead::AeadInOut;
                use aes_gcm::aead::inout::InOutBuf;
                let tag: &[u8; TAG_LEN] = tag.try_into().map_err(|_| Unauthentic)?;
                let buf = InOutBuf::new(ct, out).map_err(|_| Unauthentic)?;
                cipher
                    .decrypt_inout_detached(nonce.bytes().into(), &[], buf, tag.into())
                    .map_err(|_| Unauthentic)
            }
        }
    }
}
