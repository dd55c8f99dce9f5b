//! Secrets at rest: the master key, and the one sealing scheme for everything the platform
//! stores encrypted (tenant data keys and the platform's private key under the master key;
//! message file keys under a tenant's data key).
//!
//! Sealed value: `0x01 ‖ nonce (12) ‖ AES-256-GCM(ciphertext ‖ tag)`, with the *purpose* as
//! associated data, so a value sealed for one purpose (say, "tenant 7 data key") cannot be
//! passed off as another ("file key of message X"). Nonces are random: each key seals few
//! values (one per tenant, per platform key, per message), far below GCM's 2^32 bound. The
//! most any one key seals is a large Message Center upload's staging key: one value per
//! 64 KiB chunk, 16,384 per GiB, a key per upload.

use std::fmt;
use std::io::Write;
use std::path::Path;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use zeroize::Zeroizing;

const VERSION: u8 = 1;

/// How many bytes sealing adds to a value: the version, the nonce and the tag.
pub const SEALED_OVERHEAD: usize = 1 + 12 + 16;

/// Something went wrong with a secret; the message names what, never the secret.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The master key could not be read, parsed or created.
    #[error("master key: {0}")]
    MasterKey(String),
    /// A sealed value did not open: wrong key, wrong purpose, or altered.
    #[error("a stored secret does not open (wrong master key, or the value was altered)")]
    Unseal,
    /// The system random generator failed.
    #[error("the system random number generator failed")]
    Random,
}

/// An AES-256-GCM key that seals secrets at rest. Never printable.
pub struct SealingKey(LessSafeKey);

impl SealingKey {
    /// A new random key, and its 32 bytes (to keep, sealed under another key).
    pub fn random() -> Result<(SealingKey, Zeroizing<[u8; 32]>), SecretError> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        SystemRandom::new().fill(&mut bytes[..]).map_err(|_| SecretError::Random)?;
        Ok((SealingKey::from_bytes(&bytes), bytes))
    }

    /// From 32 raw bytes.
    pub fn from_bytes(bytes: &[u8; 32]) -> SealingKey {
        SealingKey(LessSafeKey::new(
            UnboundKey::new(&AES_256_GCM, bytes).expect("32 bytes make an AES-256 key"),
        ))
    }

    /// Seals `plaintext` for `purpose`.
    pub fn seal(&self, purpose: &str, plaintext: &[u8]) -> Result<Vec<u8>, SecretError> {
        let mut nonce = [0u8; 12];
        SystemRandom::new().fill(&mut nonce).map_err(|_| SecretError::Random)?;
        let mut out = Vec::with_capacity(1 + 12 + plaintext.len() + 16);
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(plaintext);
        let mut body = out.split_off(13);
        self.0
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(purpose.as_bytes()),
                &mut body,
            )
            .map_err(|_| SecretError::Unseal)?;
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// Opens a value sealed for `purpose`. The plaintext is zeroized on drop.
    pub fn open(&self, purpose: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, SecretError> {
        if sealed.len() < 1 + 12 + 16 || sealed[0] != VERSION {
            return Err(SecretError::Unseal);
        }
        let nonce: [u8; 12] = sealed[1..13].try_into().map_err(|_| SecretError::Unseal)?;
        let mut body = Zeroizing::new(sealed[13..].to_vec());
        let len = self
            .0
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(purpose.as_bytes()),
                &mut body,
            )
            .map_err(|_| SecretError::Unseal)?
            .len();
        body.truncate(len);
        Ok(body)
    }

    /// A fresh random 32-byte key, sealed under `self` for `purpose` (a tenant's data key).
    pub fn new_wrapped_key(&self, purpose: &str) -> Result<Vec<u8>, SecretError> {
        let mut k = Zeroizing::new([0u8; 32]);
        SystemRandom::new().fill(&mut k[..]).map_err(|_| SecretError::Random)?;
        self.seal(purpose, &k[..])
    }

    /// Opens a key made by [`SealingKey::new_wrapped_key`].
    pub fn open_key(&self, purpose: &str, sealed: &[u8]) -> Result<SealingKey, SecretError> {
        let raw = self.open(purpose, sealed)?;
        let bytes: &[u8; 32] = raw[..].try_into().map_err(|_| SecretError::Unseal)?;
        Ok(SealingKey::from_bytes(bytes))
    }
}

impl fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SealingKey(<redacted>)")
    }
}

/// Loads the master key: `SEALPOST_MASTER_KEY` (base64 of 32 bytes) if set, else the key
/// file, else a new key written to the key file with mode 0600 (reported as `created`).
pub fn load_master_key(
    env_value: Option<String>,
    path: &Path,
) -> Result<(SealingKey, bool), SecretError> {
    let decode = |text: &str, what: &str| -> Result<SealingKey, SecretError> {
        let raw = Zeroizing::new(
            B64.decode(text.trim())
                .map_err(|_| SecretError::MasterKey(format!("{what} is not base64")))?,
        );
        let bytes: &[u8; 32] = raw[..]
            .try_into()
            .map_err(|_| SecretError::MasterKey(format!("{what} must decode to 32 bytes")))?;
        Ok(SealingKey::from_bytes(bytes))
    };
    if let Some(v) = env_value {
        return Ok((decode(&v, "SEALPOST_MASTER_KEY")?, false));
    }
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let text = Zeroizing::new(text);
            Ok((decode(&text, &path.display().to_string())?, false))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut k = Zeroizing::new([0u8; 32]);
            SystemRandom::new().fill(&mut k[..]).map_err(|_| SecretError::Random)?;
            let text = Zeroizing::new(B64.encode(&k[..]));
            write_private_file(path, text.as_bytes()).map_err(|e| {
                SecretError::MasterKey(format!("cannot create {}: {e}", path.display()))
            })?;
            Ok((SealingKey::from_bytes(&k), true))
        }
        Err(e) => Err(SecretError::MasterKey(format!("cannot read {}: {e}", path.display()))),
    }
}

/// A fresh random identifier: 128 bits from the system's generator, as hex.
pub fn random_id() -> String {
    let mut b = [0u8; 16];
    SystemRandom::new().fill(&mut b).expect("system random");
    hex::encode(b)
}

/// Creates `path` (which must not exist) readable by its owner only, writes and fsyncs it.
pub fn write_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(contents)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_for_their_purpose() {
        let k = SealingKey::from_bytes(&[7; 32]);
        let sealed = k.seal("tenant 1 data key", b"secret").expect("seal");
        assert_eq!(&k.open("tenant 1 data key", &sealed).expect("open")[..], b"secret");
        assert!(k.open("tenant 2 data key", &sealed).is_err());
        let mut altered = sealed.clone();
        altered[20] ^= 1;
        assert!(k.open("tenant 1 data key", &altered).is_err());
        assert!(SealingKey::from_bytes(&[8; 32]).open("tenant 1 data key", &sealed).is_err());
    }

    #[test]
    fn a_new_master_key_file_is_private_and_reloads() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("sub/master.key");
        let (k1, created) = load_master_key(None, &path).expect("create");
        assert!(created);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (k2, created) = load_master_key(None, &path).expect("reload");
        assert!(!created);
        let sealed = k1.seal("p", b"x").expect("seal");
        assert_eq!(&k2.open("p", &sealed).expect("same key")[..], b"x");
        assert!(load_master_key(Some("short".into()), &path).is_err());
    }
}
