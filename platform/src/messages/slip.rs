//! The delivery slip: what a sender declares about a message before its envelope arrives
//! (recipients, subject, envelope size, expiry), and the limits every slip is held to. These
//! limits are the platform's, whoever writes the message; each is defined once here and
//! published in the OpenAPI document.

use std::collections::BTreeSet;

use sealpost_envelope::MessageId;
use serde::{Deserialize, Serialize};

use crate::domain::EmailAddress;
use crate::error::ApiError;

/// Most recipients on one message (to + cc + bcc).
pub const MAX_RECIPIENTS: usize = 500;
/// Longest subject, in characters (RFC 5322's line limit).
pub const MAX_SUBJECT_CHARS: usize = 998;
/// How long an unlock code is, in characters: 6 at least, so that the lockouts
/// (`store::lockouts`) leave a guesser no real chance.
pub const UNLOCK_CODE_CHARS: std::ops::RangeInclusive<usize> = 6..=64;

/// The delivery slip a sender (or the helper) declares when creating a message.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeliverySlip {
    /// Client-chosen id (UUID); retries with the same id and slip are harmless.
    pub id: String,
    /// `To` recipients.
    #[serde(default)]
    #[schema(value_type = Vec<String>, max_items = 500)]
    pub to: Vec<EmailAddress>,
    /// `Cc` recipients.
    #[serde(default)]
    #[schema(value_type = Vec<String>, max_items = 500)]
    pub cc: Vec<EmailAddress>,
    /// `Bcc` recipients: stored, never shown to other recipients.
    #[serde(default)]
    #[schema(value_type = Vec<String>, max_items = 500)]
    pub bcc: Vec<EmailAddress>,
    /// Subject: one line, at most 998 characters.
    #[serde(default)]
    #[schema(max_length = 998)]
    pub subject: String,
    /// Exact size of the envelope that will be uploaded, in bytes.
    pub envelope_size: u64,
    /// Expiry (ms since the epoch); default from the tenant's policy.
    #[serde(default)]
    pub expires_at: Option<i64>,
}

/// Whether a recipient is in the `To`, `Cc` or `Bcc` list.
pub type RecipientKind = &'static str;

impl DeliverySlip {
    /// The id in its canonical form, or 400.
    pub fn canonical_id(&self) -> Result<(MessageId, String), ApiError> {
        canonical_id(&self.id)
    }

    /// Checks the slip against the limits above: at least one and at most
    /// [`MAX_RECIPIENTS`] recipients, a one-line subject of at most [`MAX_SUBJECT_CHARS`].
    pub fn check(&self) -> Result<(), ApiError> {
        let count = self.to.len() + self.cc.len() + self.bcc.len();
        if count == 0 {
            return Err(ApiError::bad_request("a message needs at least one recipient"));
        }
        if count > MAX_RECIPIENTS {
            return Err(ApiError::bad_request(format!("at most {MAX_RECIPIENTS} recipients")));
        }
        if self.subject.chars().count() > MAX_SUBJECT_CHARS {
            return Err(ApiError::bad_request(format!(
                "the subject is longer than {MAX_SUBJECT_CHARS} characters"
            )));
        }
        // A subject is one line of text: CR or LF would let it add header lines wherever it
        // is echoed (the stub's subject), NUL ends it early in C code.
        if self.subject.chars().any(char::is_control) {
            return Err(ApiError::bad_request(
                "the subject contains a control character (line break, NUL …); send it as one line",
            ));
        }
        Ok(())
    }

    /// Every recipient once, with the first list it appears in.
    pub fn recipients(&self) -> Vec<(String, RecipientKind)> {
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for (list, kind) in [(&self.to, "to"), (&self.cc, "cc"), (&self.bcc, "bcc")] {
            for a in list {
                if seen.insert(a.clone()) {
                    out.push((a.to_string(), kind));
                }
            }
        }
        out
    }
}

/// A message id (a UUID) in its canonical form, or 400.
pub fn canonical_id(id: &str) -> Result<(MessageId, String), ApiError> {
    let parsed: MessageId = id.parse().map_err(|_| ApiError::bad_request("id must be a UUID"))?;
    Ok((parsed, parsed.to_string()))
}

/// Checks an unlock code's length (outer spaces ignored) against [`UNLOCK_CODE_CHARS`].
pub fn check_unlock_code(code: &str) -> Result<(), ApiError> {
    let n = code.trim().chars().count();
    if UNLOCK_CODE_CHARS.contains(&n) {
        return Ok(());
    }
    Err(ApiError::bad_request(format!(
        "the unlock code must have {} to {} characters",
        UNLOCK_CODE_CHARS.start(),
        UNLOCK_CODE_CHARS.end()
    )))
}
