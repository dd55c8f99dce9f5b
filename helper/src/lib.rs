//! The Sealpost helper: what mail clients hand outgoing messages to.
//!
//! One binary with three faces (see `docs/native-messaging.md` and `README.md`):
//! - a **native-messaging host** ([`host`]) that Thunderbird talks to over stdin/stdout;
//! - a **command line** for people and IT (`sign-in`, `sign-out`, `status`, `send`, `install`,
//!   and the installers' `system-setup`);
//! - a **platform client** ([`client`]) that uploads envelopes over HTTPS.
//!
//! Every face drives the same send pipeline ([`send`], one file per step): the message's
//! details and attachments stream into the envelope sealer, sealed parts wait (encrypted) in a
//! spool, and the envelope is uploaded resumably and finalised. The host and the command line
//! only translate requests into calls to it; it calls the platform client, never the other way
//! round. No plaintext is written to disk; secrets live in the OS keychain ([`keychain`]).

pub mod bridge;
pub mod client;
pub mod config;
pub mod embedded;
pub mod error;
pub mod framing;
pub mod host;
pub mod install;
pub mod keychain;
pub mod loopback;
pub mod mime;
pub mod protocol;
pub mod send;
pub mod sign_in;
pub mod system_setup;

pub use error::{HelperError, Result};
