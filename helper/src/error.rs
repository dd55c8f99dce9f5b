//! Errors a person can act on. Each carries a stable `code` that the mail-client extension
//! maps to its own (translated) words, and a message in English for logs and the CLI.

/// Everything the helper can fail with.
#[derive(Debug, thiserror::Error)]
pub enum HelperError {
    /// No device token: the user has not signed in on this computer.
    #[error("not signed in to Sealpost on this computer: run `sealpost-helper sign-in`")]
    NotSignedIn,
    /// The platform could not be reached at all.
    #[error("cannot reach the Sealpost platform at {url}: {detail}")]
    Unreachable {
        /// The platform address.
        url: String,
        /// What the network said.
        detail: String,
        /// No connection was made (refused, no route, no name, TLS handshake not
        /// completing), as opposed to one lost during a request.
        connect: bool,
    },
    /// The platform took connections but did not answer in time.
    #[error(
        "the Sealpost platform at {url} did not answer within {seconds} s; nothing was sent, \
         try again later"
    )]
    PlatformTimeout {
        /// The platform address.
        url: String,
        /// How long the helper waited.
        seconds: u64,
    },
    /// Finalise was asked but its answer never came, and the platform may have made the
    /// message available: sending it again could deliver it twice.
    #[error(
        "the platform did not confirm message {id} ({detail}); it may have been delivered: \
         look for it among your sent messages in Sealpost before sending it again"
    )]
    FinaliseUnconfirmed {
        /// The message id.
        id: String,
        /// What went wrong, and what the platform said of the message, if anything.
        detail: String,
    },
    /// TLS failed: the platform's certificate is not trusted.
    #[error(
        "the platform's TLS certificate is not trusted ({0}); check the platform address, or \
         ask IT for the certificate (`tls_ca_file`)"
    )]
    Tls(String),
    /// The platform offered a different key than the one pinned at sign-in.
    #[error(
        "the platform's encryption key is {offered}, but this computer trusts {pinned}; \
         nothing was sent. Ask IT whether the key was rotated, then sign in again"
    )]
    KeyPinMismatch {
        /// The pinned key id.
        pinned: String,
        /// The key id the platform offers now.
        offered: String,
    },
    /// The device token was revoked or has expired.
    #[error("this computer's sign-in was revoked or has expired: sign in again")]
    TokenRevoked,
    /// Signing in failed (wrong password, TOTP needed, locked…).
    #[error("{message}")]
    SignInFailed {
        /// The platform's code (`bad_credentials`, `totp_required`, `locked`, …).
        code: String,
        /// The platform's words.
        message: String,
    },
    /// The message is larger than the tenant allows.
    #[error("the message is too large to send securely: {0}")]
    QuotaExceeded(String),
    /// The upload kept failing; nothing was sent.
    #[error("the upload was interrupted ({detail}); nothing was sent, try again")]
    UploadInterrupted {
        /// The last failure.
        detail: String,
    },
    /// Any other refusal by the platform.
    #[error("the platform refused: {message} ({code})")]
    Platform {
        /// HTTP status.
        status: u16,
        /// The platform's error code.
        code: String,
        /// The platform's words.
        message: String,
    },
    /// The send was cancelled by the user or the mail client.
    #[error("the send was cancelled; nothing was sent")]
    Cancelled,
    /// The mail client sent something the helper cannot use.
    #[error("{0}")]
    BadRequest(String),
    /// The message is from another address than the one signed in on this computer.
    #[error("the message is from {from} but this computer is signed in to Sealpost as {signed_in}")]
    WrongSender {
        /// The message's sender.
        from: String,
        /// The signed-in user.
        signed_in: String,
    },
    /// The operating system's keychain cannot be used.
    #[error("the system keychain is not available: {0}")]
    Keychain(String),
    /// Settings are missing or wrong.
    #[error("configuration: {0}")]
    Config(String),
    /// The message could not be read (e.g. a broken `.eml` file).
    #[error("cannot read the message: {0}")]
    Message(String),
    /// Sealing failed.
    #[error("encryption failed: {0}")]
    Envelope(#[from] sealpost_envelope::Error),
    /// A local file operation failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl HelperError {
    /// The stable code the extension and scripts match on.
    pub fn code(&self) -> &'static str {
        match self {
            HelperError::NotSignedIn => "not_signed_in",
            HelperError::Unreachable { .. } => "platform_unreachable",
            HelperError::PlatformTimeout { .. } => "platform_timeout",
            HelperError::FinaliseUnconfirmed { .. } => "finalise_unconfirmed",
            HelperError::Tls(_) => "tls_untrusted",
            HelperError::KeyPinMismatch { .. } => "key_pin_mismatch",
            HelperError::TokenRevoked => "token_revoked",
            HelperError::SignInFailed { .. } => "sign_in_failed",
            HelperError::QuotaExceeded(_) => "quota_exceeded",
            HelperError::UploadInterrupted { .. } => "upload_interrupted",
            HelperError::Platform { .. } => "platform_error",
            HelperError::Cancelled => "cancelled",
            HelperError::BadRequest(_) => "bad_request",
            HelperError::WrongSender { .. } => "wrong_sender",
            HelperError::Keychain(_) => "keychain_unavailable",
            HelperError::Config(_) => "config",
            HelperError::Message(_) => "bad_message",
            HelperError::Envelope(_) => "envelope",
            HelperError::Io(_) => "io",
        }
    }

    /// A more specific code where the platform gave one (e.g. `totp_required`).
    pub fn detail_code(&self) -> Option<&str> {
        match self {
            HelperError::SignInFailed { code, .. } | HelperError::Platform { code, .. } => {
                Some(code)
            }
            _ => None,
        }
    }
}

/// Result with [`HelperError`].
pub type Result<T, E = HelperError> = std::result::Result<T, E>;
