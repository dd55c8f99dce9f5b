//! # sealpost-envelope
//!
//! The encrypted message format shared by every part of Sealpost: the helper seals with it,
//! the platform validates, stores and opens it, and the Outlook add-in's WebCrypto code writes
//! the same bytes. The byte-level specification is `docs/envelope.md`; the test vectors in
//! `envelope/tests/vectors/` pin it across implementations.
//!
//! An envelope is a header (message id, key stanzas, part table, HMAC) followed by parts:
//! part 0 the JSON [`Manifest`], parts 1..n the attachments. Each part is its own STREAM of
//! AES-256-GCM chunks under a key derived from a random file key; the file key is wrapped with
//! RSA-OAEP for each recipient key.
//!
//! ```
//! use sealpost_envelope::{Limits, MessageId, PrivateKey, PublicKey, StanzaRole, Sealer, RsaBits};
//! use std::io::Write;
//! # fn main() -> Result<(), sealpost_envelope::Error> {
//! let platform = PrivateKey::generate(RsaBits::Rsa3072)?;
//! let manifest = b"{}"; // normally Manifest::to_json()
//! let attachment = b"quarterly figures";
//!
//! let sealer = Sealer::builder(MessageId::random()?)
//!     .recipient(StanzaRole::Platform, platform.public_key())
//!     .manifest_len(manifest.len() as u64)
//!     .attachment(attachment.len() as u64)
//!     .build()?;
//! let mut w = sealer.into_writer(Vec::new());
//! w.write_all(manifest)?;
//! w.write_all(attachment)?;
//! let envelope = w.finish()?;
//!
//! let mut r = &envelope[..];
//! let header = sealpost_envelope::Header::read_from(&mut r, &Limits::default())?;
//! let dec = sealpost_envelope::Decryptor::new(header, &platform)?;
//! let mut plain = Vec::new();
//! std::io::copy(&mut dec.part_reader(0, &mut r)?, &mut plain)?;
//! assert_eq!(plain, manifest);
//! # Ok(()) }
//! ```

mod aead;
#[cfg(feature = "tokio")]
mod async_io;
mod error;
mod format;
mod io;
mod keys;
mod manifest;
mod open;
mod seal;
mod stream;
mod validate;

pub use aead::{Backend, TAG_LEN};
#[cfg(feature = "tokio")]
pub use async_io::AsyncSealWriter;
pub use error::{Error, Result};
pub use format::{
    ALG_RSA_OAEP_SHA256, DEFAULT_CHUNK_SIZE, Header, Layout, Limits, MAC_LEN, MAGIC,
    MAX_CHUNK_SIZE, MIN_CHUNK_SIZE, PREFIX_LEN, PartEntry, PartKind, PartLayout, Stanza, VERSION,
};
pub use io::SealWriter;
pub use keys::{
    FILE_KEY_LEN, FileKey, KeyId, MAX_RSA_BITS, MIN_RSA_BITS, MessageId, OAEP_LABEL, PrivateKey,
    PublicKey, RsaBits, StanzaRole,
};
pub use manifest::{Attachment, Body, ContentHash, MANIFEST_VERSION, Manifest, Metadata};
pub use open::{
    DIAGNOSIS_WINDOW, Decryptor, OpenOptions, OpenedMessage, PartOpener, PartReader, open,
};
pub use seal::{PartSealer, SealCore, SealStream, Sealer, SealerBuilder};
pub use stream::SALT_LEN;
pub use validate::Validator;
