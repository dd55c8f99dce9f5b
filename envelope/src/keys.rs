//! Keys: the per-message file key, RSA public keys to wrap it for, RSA private keys to unwrap it.
//!
//! Wrapping is a public-key operation and may use the pure-Rust `rsa` crate, which lets the
//! test vectors inject their random source. Unwrapping is a private-key operation and uses
//! **aws-lc-rs only**: the `rsa` crate's private-key operations carry an unfixed timing
//! advisory (RUSTSEC-2023-0071, "Marvin"), and the platform unwraps keys for envelopes that
//! arrive from the network. Nothing in this crate calls `rsa`'s decryption.

use std::fmt;
use std::str::FromStr;

use aws_lc_rs::digest;
use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der};
use aws_lc_rs::rsa::{
    KeySize, OAEP_SHA256_MGF1SHA256, OaepPrivateDecryptingKey, PrivateDecryptingKey,
};
use rand_core::{CryptoRngCore, RngCore};
use rsa::pkcs8::{DecodePublicKey, EncodePublicKey};
use rsa::traits::PublicKeyParts;
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::error::{Error, Result};

/// The OAEP label every key stanza is wrapped with. It separates Sealpost's use of an RSA key
/// from any other use of the same key.
pub const OAEP_LABEL: &str = "sealpost file key";

/// Smallest RSA modulus accepted for a key stanza, in bits.
pub const MIN_RSA_BITS: usize = 3072;
/// Largest RSA modulus accepted for a key stanza, in bits.
pub const MAX_RSA_BITS: usize = 8192;

/// Length of the file key in bytes (an AES-256 key's worth of entropy).
pub const FILE_KEY_LEN: usize = 32;

/// The random per-message key everything else is derived from. Zeroized on drop; its Debug
/// output never shows the bytes.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct FileKey([u8; FILE_KEY_LEN]);

impl FileKey {
    /// Draws a fresh file key from `rng`.
    pub(crate) fn generate(rng: &mut dyn CryptoRngCore) -> Result<FileKey> {
        let mut key = [0u8; FILE_KEY_LEN];
        rng.try_fill_bytes(&mut key).map_err(|_| Error::Random)?;
        Ok(FileKey(key))
    }

    /// Wraps raw bytes (for example a file key the platform stored re-wrapped under a tenant
    /// key).
    pub fn from_bytes(bytes: [u8; FILE_KEY_LEN]) -> FileKey {
        FileKey(bytes)
    }

    /// The raw key bytes. Handle with care: never log or persist them unwrapped.
    pub fn expose_secret(&self) -> &[u8; FILE_KEY_LEN] {
        &self.0
    }
}

impl fmt::Debug for FileKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FileKey(<redacted>)")
    }
}

/// SHA-256 of a public key's canonical SubjectPublicKeyInfo DER: how stanzas name their key.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(pub [u8; 32]);

impl KeyId {
    fn of_spki(spki_der: &[u8]) -> KeyId {
        let mut id = [0u8; 32];
        id.copy_from_slice(digest::digest(&digest::SHA256, spki_der).as_ref());
        KeyId(id)
    }

    /// Lowercase hex, the form shown to people and used in the API.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({})", self.to_hex())
    }
}

/// Who a key stanza is for: a stanza's role in the envelope, not a user's role on the platform
/// (`sender`, `admin`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StanzaRole {
    /// The Sealpost platform, so the Message Center can serve recipients without keys.
    Platform,
    /// A recipient who registered a key of their own (end-to-end wrap).
    Recipient,
    /// The sender, so they can always open what they sent.
    Sender,
    /// The tenant's compliance key, where policy asks for a compliance copy.
    Compliance,
}

impl StanzaRole {
    pub(crate) fn to_byte(self) -> u8 {
        match self {
            StanzaRole::Platform => 1,
            StanzaRole::Recipient => 2,
            StanzaRole::Sender => 3,
            StanzaRole::Compliance => 4,
        }
    }

    pub(crate) fn from_byte(b: u8) -> Option<StanzaRole> {
        Some(match b {
            1 => StanzaRole::Platform,
            2 => StanzaRole::Recipient,
            3 => StanzaRole::Sender,
            4 => StanzaRole::Compliance,
            _ => return None,
        })
    }
}

/// The client-chosen id of a message: 16 bytes, shown as a UUID.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageId(pub [u8; 16]);

impl MessageId {
    /// A fresh random message id (UUID version 4 layout).
    pub fn random() -> Result<MessageId> {
        let mut b = [0u8; 16];
        rand_core::OsRng.try_fill_bytes(&mut b).map_err(|_| Error::Random)?;
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        Ok(MessageId(b))
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let h = hex::encode(self.0);
        write!(f, "{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
    }
}

impl fmt::Debug for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MessageId({self})")
    }
}

impl FromStr for MessageId {
    type Err = Error;

    /// Accepts a UUID (`8-4-4-4-12` hex digits) or 32 hex digits.
    fn from_str(s: &str) -> Result<MessageId> {
        let compact: String = if s.len() == 36 {
            let dashes_ok = [8, 13, 18, 23].iter().all(|&i| s.as_bytes()[i] == b'-');
            if !dashes_ok {
                return Err(Error::Malformed("message id is not a UUID"));
            }
            s.chars().filter(|&c| c != '-').collect()
        } else {
            s.to_owned()
        };
        let mut b = [0u8; 16];
        hex::decode_to_slice(&compact, &mut b)
            .map_err(|_| Error::Malformed("message id is not 32 hex digits or a UUID"))?;
        Ok(MessageId(b))
    }
}

/// An RSA public key a file key can be wrapped for (≥ 3072 bits).
#[derive(Clone)]
pub struct PublicKey {
    key: rsa::RsaPublicKey,
    spki_der: Vec<u8>,
    id: KeyId,
}

impl PublicKey {
    /// Parses a SubjectPublicKeyInfo, DER or PEM (`-----BEGIN PUBLIC KEY-----`).
    pub fn parse(bytes: &[u8]) -> Result<PublicKey> {
        if bytes.trim_ascii_start().starts_with(b"-----BEGIN") {
            let pem = std::str::from_utf8(bytes)
                .map_err(|_| Error::BadKey("PEM public key is not ASCII".into()))?;
            let key = rsa::RsaPublicKey::from_public_key_pem(pem.trim())
                .map_err(|e| Error::BadKey(format!("not an RSA SubjectPublicKeyInfo PEM: {e}")))?;
            PublicKey::from_rsa(key)
        } else {
            PublicKey::from_spki_der(bytes)
        }
    }

    /// Parses a DER SubjectPublicKeyInfo.
    pub fn from_spki_der(der: &[u8]) -> Result<PublicKey> {
        let key = rsa::RsaPublicKey::from_public_key_der(der)
            .map_err(|e| Error::BadKey(format!("not an RSA SubjectPublicKeyInfo: {e}")))?;
        PublicKey::from_rsa(key)
    }

    fn from_rsa(key: rsa::RsaPublicKey) -> Result<PublicKey> {
        let bits = key.size() * 8;
        if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
            return Err(Error::BadKey(format!(
                "RSA key has {bits} bits; Sealpost needs {MIN_RSA_BITS} to {MAX_RSA_BITS}"
            )));
        }
        // Re-encode so that the key id does not depend on how the caller's DER was written.
        let spki_der = key
            .to_public_key_der()
            .map_err(|e| Error::BadKey(format!("cannot encode public key: {e}")))?
            .into_vec();
        let id = KeyId::of_spki(&spki_der);
        Ok(PublicKey { key, spki_der, id })
    }

    /// The key id (SHA-256 of the canonical SPKI DER).
    pub fn key_id(&self) -> KeyId {
        self.id
    }

    /// The canonical SPKI DER.
    pub fn spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// The key as PEM (`-----BEGIN PUBLIC KEY-----`).
    pub fn to_pem(&self) -> Result<String> {
        rsa::pkcs8::der::pem::encode_string(
            "PUBLIC KEY",
            rsa::pkcs8::LineEnding::LF,
            &self.spki_der,
        )
        .map_err(|e| Error::BadKey(format!("cannot encode PEM: {e}")))
    }

    /// Size of a wrapped file key for this key: the modulus length in bytes.
    pub fn wrapped_len(&self) -> usize {
        self.key.size()
    }

    /// Wraps the file key with RSA-OAEP (SHA-256, MGF1-SHA-256, label [`OAEP_LABEL`]).
    pub(crate) fn wrap(&self, file_key: &FileKey, rng: &mut dyn CryptoRngCore) -> Result<Vec<u8>> {
        let padding = rsa::Oaep::new_with_label::<sha2_010::Sha256, _>(OAEP_LABEL);
        let mut rng = rng;
        self.key
            .encrypt(&mut rng, padding, file_key.expose_secret())
            .map_err(|e| Error::BadKey(format!("RSA-OAEP wrap failed: {e}")))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey(rsa{}, {})", self.key.size() * 8, self.id)
    }
}

/// Sizes offered when generating a private key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RsaBits {
    /// RSA-3072: the minimum, and the faster choice for user keys.
    Rsa3072,
    /// RSA-4096.
    Rsa4096,
}

/// An RSA private key that can unwrap file keys. Backed by aws-lc-rs (constant-time, and the
/// key material is cleared by AWS-LC when dropped). Its Debug output shows only the key id.
pub struct PrivateKey {
    /// Kept for export; shares the AWS-LC key object with `oaep`.
    key: PrivateDecryptingKey,
    oaep: OaepPrivateDecryptingKey,
    public: PublicKey,
}

impl PrivateKey {
    /// Generates a new key pair. Slow (RSA-4096 takes about a second): never on a hot path.
    pub fn generate(bits: RsaBits) -> Result<PrivateKey> {
        let size = match bits {
            RsaBits::Rsa3072 => KeySize::Rsa3072,
            RsaBits::Rsa4096 => KeySize::Rsa4096,
        };
        let key = PrivateDecryptingKey::generate(size)
            .map_err(|_| Error::BadKey("RSA key generation failed".into()))?;
        PrivateKey::from_aws(key)
    }

    /// Parses an unencrypted PKCS#8 private key, DER or PEM (`-----BEGIN PRIVATE KEY-----`).
    pub fn parse_pkcs8(bytes: &[u8]) -> Result<PrivateKey> {
        if bytes.trim_ascii_start().starts_with(b"-----BEGIN") {
            let (label, der) = rsa::pkcs8::der::pem::decode_vec(bytes.trim_ascii())
                .map_err(|e| Error::BadKey(format!("bad PEM: {e}")))?;
            let der = Zeroizing::new(der);
            if label != "PRIVATE KEY" {
                return Err(Error::BadKey(format!(
                    "expected a PKCS#8 \"PRIVATE KEY\" PEM, found \"{label}\""
                )));
            }
            PrivateKey::parse_pkcs8_der(&der)
        } else {
            PrivateKey::parse_pkcs8_der(bytes)
        }
    }

    fn parse_pkcs8_der(der: &[u8]) -> Result<PrivateKey> {
        let key = PrivateDecryptingKey::from_pkcs8(der)
            .map_err(|_| Error::BadKey("not an RSA PKCS#8 private key".into()))?;
        PrivateKey::from_aws(key)
    }

    fn from_aws(key: PrivateDecryptingKey) -> Result<PrivateKey> {
        let spki = AsDer::<PublicKeyX509Der>::as_der(&key.public_key())
            .map_err(|_| Error::BadKey("cannot encode the public half".into()))?;
        let public = PublicKey::from_spki_der(spki.as_ref())?;
        let oaep = OaepPrivateDecryptingKey::new(key.clone())
            .map_err(|_| Error::BadKey("key cannot be used for RSA-OAEP".into()))?;
        Ok(PrivateKey { key, oaep, public })
    }

    /// The PKCS#8 DER encoding, in a buffer that is zeroized on drop.
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>> {
        let der = AsDer::<Pkcs8V1Der>::as_der(&self.key)
            .map_err(|_| Error::BadKey("cannot encode private key".into()))?;
        Ok(Zeroizing::new(der.as_ref().to_vec()))
    }

    /// The PKCS#8 PEM encoding, zeroized on drop.
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>> {
        let der = self.to_pkcs8_der()?;
        let pem =
            rsa::pkcs8::der::pem::encode_string("PRIVATE KEY", rsa::pkcs8::LineEnding::LF, &der)
                .map_err(|e| Error::BadKey(format!("cannot encode PEM: {e}")))?;
        Ok(Zeroizing::new(pem))
    }

    /// The public half.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// The key id of the public half.
    pub fn key_id(&self) -> KeyId {
        self.public.key_id()
    }

    /// Unwraps a file key (RSA-OAEP, SHA-256, MGF1-SHA-256, label [`OAEP_LABEL`]).
    pub(crate) fn unwrap(&self, wrapped: &[u8]) -> Result<FileKey> {
        if wrapped.len() != self.oaep.key_size_bytes() {
            return Err(Error::WrongKey);
        }
        let mut out = Zeroizing::new(vec![0u8; self.oaep.min_output_size()]);
        let plain = self
            .oaep
            .decrypt(&OAEP_SHA256_MGF1SHA256, wrapped, &mut out, Some(OAEP_LABEL.as_bytes()))
            .map_err(|_| Error::WrongKey)?;
        let bytes: [u8; FILE_KEY_LEN] = (&*plain).try_into().map_err(|_| Error::WrongKey)?;
        Ok(FileKey(bytes))
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrivateKey({}, <redacted>)", self.public.key_id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_id_round_trips_as_uuid_and_hex() {
        let id = MessageId::random().expect("rng");
        let shown = id.to_string();
        assert_eq!(shown.len(), 36);
        assert_eq!(shown.parse::<MessageId>().expect("uuid"), id);
        assert_eq!(hex::encode(id.0).parse::<MessageId>().expect("hex"), id);
        assert!("not-a-uuid".parse::<MessageId>().is_err());
        assert!("0123456789abcdef0123456789abcdeg".parse::<MessageId>().is_err());
    }

    #[test]
    fn secrets_never_print() {
        let key = FileKey::from_bytes([0xAB; 32]);
        let shown = format!("{key:?}");
        assert!(!shown.to_lowercase().contains("ab, ") && !shown.contains("171"), "{shown}");
        assert_eq!(shown, "FileKey(<redacted>)");
    }
}
