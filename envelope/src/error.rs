//! Errors, worded for the person who has to act on them.
//!
//! Every variant has a stable machine-readable [`Error::code`]. The test vectors, the helper's
//! protocol and the platform's API use these codes, so they must never be renamed.

use std::io;

/// Everything that can go wrong while writing, validating or opening an envelope.
///
/// Tampering is never reported as one generic failure: truncation, reordered chunks, chunks
/// moved between parts, altered bytes, a wrong key and an unknown version each have their own
/// variant, so a person (or the platform's audit log) can tell what happened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bytes do not start with the Sealpost magic.
    #[error("not a Sealpost envelope (the magic bytes are missing)")]
    NotAnEnvelope,

    /// A format version this implementation cannot read.
    #[error("envelope format version {0} is not supported (this software reads version 1)")]
    UnsupportedVersion(u8),

    /// The header is structurally invalid (bad field, inconsistent sizes, reserved bits set).
    #[error("envelope header is malformed: {0}")]
    Malformed(&'static str),

    /// The envelope is larger than a configured limit allows; nothing was allocated for it.
    #[error("envelope exceeds a limit: {what} is {actual}, at most {limit} allowed")]
    LimitExceeded {
        /// Which limit (for example "header length").
        what: &'static str,
        /// The value found.
        actual: u64,
        /// The configured maximum.
        limit: u64,
    },

    /// The envelope ended before the header said it would.
    #[error("envelope is truncated: expected {expected} bytes, found only {found}")]
    Truncated {
        /// Total length the header declares.
        expected: u64,
        /// Bytes actually present.
        found: u64,
    },

    /// More bytes follow the last part than the header declares.
    #[error("envelope has {extra} unexpected bytes after its last part")]
    TrailingData {
        /// How many bytes too many (at least this many).
        extra: u64,
    },

    /// The header's MAC does not verify: the header was altered after sealing.
    #[error("envelope header was altered (its authentication code does not match)")]
    HeaderTampered,

    /// None of the envelope's key stanzas is for the key that was offered.
    #[error("this envelope was not sealed for the key {key_id} (no matching key stanza)")]
    NoStanzaForKey {
        /// Hex key id of the key offered.
        key_id: String,
    },

    /// A stanza names this key but its wrapped file key does not unwrap with it.
    #[error(
        "the file key does not unwrap with this private key (wrong key, or the stanza was altered)"
    )]
    WrongKey,

    /// The envelope belongs to a different message than the one expected.
    #[error("envelope is for message {found}, not for message {expected}")]
    WrongMessage {
        /// Hex message id the caller expected.
        expected: String,
        /// Hex message id in the envelope.
        found: String,
    },

    /// A chunk authenticates, but at a different position of the same part.
    #[error("chunk {index} of part {part} is out of order (it belongs at position {belongs_at})")]
    ChunkOutOfOrder {
        /// Part index.
        part: u32,
        /// Position where the chunk was found.
        index: u64,
        /// Position the chunk was sealed for.
        belongs_at: u64,
    },

    /// A chunk authenticates, but as a chunk of another part of this message.
    #[error("chunk {index} of part {part} was taken from part {belongs_to}")]
    ChunkFromOtherPart {
        /// Part index where the chunk was found.
        part: u32,
        /// Chunk position where it was found.
        index: u64,
        /// The part the chunk was sealed for.
        belongs_to: u32,
    },

    /// A chunk does not authenticate anywhere in this message: its bytes were altered, or it
    /// was taken from another message (the two cannot be told apart without the other
    /// message's key, by design of an AEAD).
    #[error("chunk {index} of part {part} was altered or does not belong to this message")]
    ChunkTampered {
        /// Part index.
        part: u32,
        /// Chunk position.
        index: u64,
    },

    /// A public or private key could not be used.
    #[error("key rejected: {0}")]
    BadKey(String),

    /// The manifest is not valid JSON of the expected shape.
    #[error("manifest is invalid: {0}")]
    BadManifest(String),

    /// The caller fed a part more or fewer bytes than it declared.
    #[error("part {part} was declared as {declared} bytes but {actual} were written")]
    PartLengthMismatch {
        /// Part index.
        part: u32,
        /// Declared plaintext length.
        declared: u64,
        /// Bytes written (at least).
        actual: u64,
    },

    /// The caller used the API in an order it does not allow.
    #[error("invalid use: {0}")]
    Usage(&'static str),

    /// The system random source failed.
    #[error("the system random number generator failed")]
    Random,

    /// An I/O error from the underlying reader or writer.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
}

impl Error {
    /// A stable, machine-readable code for this error.
    pub fn code(&self) -> &'static str {
        match self {
            Error::NotAnEnvelope => "not_an_envelope",
            Error::UnsupportedVersion(_) => "unsupported_version",
            Error::Malformed(_) => "malformed",
            Error::LimitExceeded { .. } => "limit_exceeded",
            Error::Truncated { .. } => "truncated",
            Error::TrailingData { .. } => "trailing_data",
            Error::HeaderTampered => "header_tampered",
            Error::NoStanzaForKey { .. } => "no_stanza_for_key",
            Error::WrongKey => "wrong_key",
            Error::WrongMessage { .. } => "wrong_message",
            Error::ChunkOutOfOrder { .. } => "chunk_out_of_order",
            Error::ChunkFromOtherPart { .. } => "chunk_from_other_part",
            Error::ChunkTampered { .. } => "chunk_tampered",
            Error::BadKey(_) => "bad_key",
            Error::BadManifest(_) => "bad_manifest",
            Error::PartLengthMismatch { .. } => "part_length_mismatch",
            Error::Usage(_) => "usage",
            Error::Random => "random",
            Error::Io(_) => "io",
        }
    }

    /// Converts into an `io::Error`, keeping this error as its source (for `Read`/`Write`
    /// adapters); [`Error::from_io`] gets it back.
    pub(crate) fn into_io(self) -> io::Error {
        match self {
            Error::Io(e) => e,
            other => io::Error::new(io::ErrorKind::InvalidData, other),
        }
    }

    /// Recovers an envelope error that travelled through an `io::Error`.
    pub fn from_io(err: io::Error) -> Error {
        if !err.get_ref().is_some_and(|inner| inner.is::<Error>()) {
            return Error::Io(err);
        }
        match err.into_inner().map(|inner| inner.downcast::<Error>()) {
            Some(Ok(e)) => *e,
            // Unreachable: the inner error was checked to be an `Error` just above.
            _ => Error::Usage("an I/O error lost its envelope error"),
        }
    }
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
