//! The organisation's send policy and its evaluation: which outgoing messages must go through
//! Sealpost, and why.
//!
//! One owner for one rule: the platform stores each tenant's [`Policy`] and serves it
//! (`GET /api/v1/policy`) and its decisions (`POST /api/v1/classify`); the helper caches the
//! policy and decides locally at send time. Both call [`classify`] from this crate, so they
//! cannot disagree. Any other implementation that decides (JavaScript included) is checked
//! against the table of cases in `fixtures/classify.json` (see `fixtures/README.md`).
//!
//! - [`document`]: the [`Policy`] type, its defaults, and the strict parse for documents an
//!   administrator writes.
//! - [`decision`]: the message as policy sees it ([`Candidate`]), the [`Decision`] with its
//!   [`Reason`]s, and the rules.
//!
//! Deciding fails closed: with no policy at hand the defaults apply, and they secure every
//! message that leaves the organisation (no internal domain is known, so every recipient is
//! external); an address that cannot be read counts as external; a rule that cannot be
//! evaluated secures the message.
//!
//! Features: `schema` derives `utoipa::ToSchema` for the wire types (the platform's OpenAPI
//! document); `fixtures` exposes the shared table of cases and a checker for answers (module
//! `fixtures`).

pub mod decision;
pub mod document;
#[cfg(feature = "fixtures")]
pub mod fixtures;

pub use decision::{
    Candidate, Decision, MAX_SCANNED_BODY, Reason, ReasonCode, classify, compile, is_external,
    try_patterns,
};
pub use document::{NotificationMode, Policy, PolicyDocumentError, is_mail_domain};
