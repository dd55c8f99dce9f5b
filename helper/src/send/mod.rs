//! The send pipeline: an outgoing message in, a link and a stub out.
//!
//! One file per step, in the order a message goes through them:
//! - [`details`]: what is said about the message before its bytes arrive;
//! - [`deliver`](mod@deliver) (first half): the sign-in, the sender and the keys to seal for ([`prepare`]);
//! - [`composer`]: attachments stream into the envelope sealer as they arrive;
//! - [`spool`]: where sealed parts wait, only ever as ciphertext;
//! - [`sealed`]: the sealed envelope and its reader, which the platform client uploads from;
//! - [`deliver`](mod@deliver) (second half): delivery slip, resumable upload, finalise ([`deliver()`]).
//!
//! Two ways through, one per face of the helper: [`streamed`] for a message the mail client
//! streams in over native messaging, [`file`](mod@file) for a message file given on the command line.
//! The host and the command line only translate requests into these calls and pass in how
//! progress is shown. Dependencies run one way: send → client, never back.

pub mod composer;
pub mod deliver;
pub mod details;
pub mod file;
pub mod sealed;
pub mod spool;
pub mod streamed;

pub use composer::{Composer, Wraps};
pub use deliver::{Prepared, UnlockCode, deliver, mark_sent, prepare, recall};
pub use details::{AttachmentInfo, MessageDetails};
pub use file::{MessageSource, send_file};
pub use sealed::{EnvelopeReader, SealedEnvelope};
pub use spool::SpoolPlace;
pub use streamed::{Delivery, StreamedSend};

/// Which step of a send a progress report is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Finishing the envelope (the mail-client path seals the manifest last).
    Sealing,
    /// Uploading the envelope.
    Uploading,
}

impl Phase {
    /// The phase's name in the native-messaging protocol's progress events.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Sealing => "sealing",
            Phase::Uploading => "uploading",
        }
    }
}

/// Progress reports: the phase, and its bytes done out of the total.
pub type Report<'a> = &'a (dyn Fn(Phase, u64, u64) + Send + Sync);
