//! The tenant policy document: what must be secured, and how messages look and live.
//!
//! One type, read two ways. Deserializing a [`Policy`] is lenient: missing keys take the
//! defaults and unknown keys are ignored, so a helper keeps working when a newer platform adds
//! a rule, and a stored document keeps loading. A document an administrator writes goes
//! through [`Policy::from_admin_document`] instead, which refuses keys it does not know: a typo
//! there (`secure_atachments`) would otherwise silently leave a rule off.

use std::fmt;

use serde::{Deserialize, Serialize};

/// How recipients hear about a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum NotificationMode {
    /// The sender's mail client sends the stub over the sender's own SMTP server.
    SenderSmtp,
    /// The platform mails each recipient a personal notification.
    PlatformSends,
}

/// A tenant's policy: what must be secured, and how messages look and live.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct Policy {
    /// The organisation's own mail domains; anything else is external.
    pub internal_domains: Vec<String>,
    /// Secure every message with at least one external recipient.
    pub secure_external: bool,
    /// Secure messages whose subject contains one of these words (case-insensitive).
    pub subject_keywords: Vec<String>,
    /// Secure every message that has attachments.
    pub secure_attachments: bool,
    /// Secure messages whose body matches one of these regular expressions (DLP).
    pub dlp_patterns: Vec<String>,
    /// Who sends the notification.
    pub notification_mode: NotificationMode,
    /// Subject of the stub; `{subject}` is replaced by the original subject only when
    /// `stub_keeps_subject` is true.
    pub stub_subject: String,
    /// Whether the stub's subject may show the original subject.
    pub stub_keeps_subject: bool,
    /// First paragraph of the stub, before the link.
    pub stub_intro: String,
    /// Largest envelope a sender of this tenant may upload, in bytes.
    pub max_envelope_bytes: u64,
    /// Days until a message expires (0: never).
    pub default_expiry_days: u32,
    /// Wrap every message for the tenant's compliance key too.
    pub compliance_copy: bool,
    /// Most messages one Message Center account (a recipient replying, or writing to a
    /// sender) may send into this tenant per hour.
    pub center_messages_per_hour: u32,
    /// Most bytes (sealed) one Message Center account may send into this tenant per day.
    pub center_bytes_per_day: u64,
}

/// The policy of a new tenant, and the helper's policy before it has fetched one. It must fail
/// closed: no internal domain is known, so with `secure_external` every recipient is external
/// and every message that leaves the organisation is secured.
impl Default for Policy {
    fn default() -> Self {
        Policy {
            internal_domains: Vec::new(),
            secure_external: true,
            subject_keywords: vec!["confidential".into(), "secure".into()],
            secure_attachments: false,
            dlp_patterns: Vec::new(),
            notification_mode: NotificationMode::SenderSmtp,
            stub_subject: "Secure message: {subject}".into(),
            stub_keeps_subject: true,
            stub_intro: "You have received a secure message. Open it with the link below; you \
                         will be asked to confirm your email address."
                .into(),
            max_envelope_bytes: 1 << 30,
            default_expiry_days: 0,
            compliance_copy: false,
            center_messages_per_hour: 20,
            center_bytes_per_day: 200 << 20,
        }
    }
}

impl Policy {
    /// Parses a policy document an administrator wrote (JSON). Missing keys take the defaults;
    /// a key this version does not know is refused, naming it, because a misspelt rule must
    /// not silently stay off.
    pub fn from_admin_document(text: &str) -> Result<Policy, PolicyDocumentError> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(PolicyDocumentError::Invalid)?;
        if let Some(keys) = value.as_object() {
            let known = Policy::keys();
            if let Some(unknown) = keys.keys().find(|k| !known.contains(k)) {
                return Err(PolicyDocumentError::UnknownKey { key: unknown.clone(), known });
            }
        }
        // Parsed from the text again (not from `value`) so errors keep their line and column.
        serde_json::from_str(text).map_err(PolicyDocumentError::Invalid)
    }

    /// What would make this policy misbehave, as an administrator is told before it is
    /// saved: a DLP pattern that does not compile (which would secure every message, as a
    /// `policy_error`), an internal domain that is no domain, an empty stub text, no room for
    /// a message at all. `None` when it is sound.
    pub fn problem(&self) -> Option<String> {
        for p in &self.dlp_patterns {
            if let Err(e) = crate::decision::compile(p) {
                let why = crate::decision::why(&e);
                return Some(format!("the DLP pattern \"{p}\" is not valid: {why}"));
            }
        }
        for d in &self.internal_domains {
            if !is_mail_domain(d) {
                return Some(format!("\"{d}\" is not a mail domain (like example.com)"));
            }
        }
        if self.stub_subject.trim().is_empty() || self.stub_intro.trim().is_empty() {
            return Some("the stub needs a subject and an introduction".into());
        }
        if self.max_envelope_bytes == 0 {
            return Some("the largest message must be more than 0 bytes".into());
        }
        None
    }

    /// The document's keys, as serde names them (every field is always written).
    fn keys() -> Vec<String> {
        match serde_json::to_value(Policy::default()) {
            Ok(serde_json::Value::Object(fields)) => fields.into_iter().map(|(k, _)| k).collect(),
            _ => unreachable!("a policy serializes to a JSON object"),
        }
    }
}

/// Whether `d` has the shape of a mail domain: at least two dot-separated labels of letters,
/// digits and inner hyphens, each at most 63 characters, 253 in all. (The platform checks the
/// domain of every address it accepts with this too.)
pub fn is_mail_domain(d: &str) -> bool {
    let label = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.chars().all(|c| c.is_alphanumeric() || c == '-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    d.len() <= 253 && d.contains('.') && d.split('.').all(label)
}

/// Why an administrator's policy document was refused.
#[derive(Debug)]
pub enum PolicyDocumentError {
    /// Not JSON, or a value of the wrong type.
    Invalid(serde_json::Error),
    /// A key the policy does not have.
    UnknownKey {
        /// The key as written.
        key: String,
        /// The keys a policy document may have.
        known: Vec<String>,
    },
}

impl fmt::Display for PolicyDocumentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicyDocumentError::Invalid(e) => write!(f, "not a valid policy document: {e}"),
            PolicyDocumentError::UnknownKey { key, known } => write!(
                f,
                "unknown key \"{key}\" in the policy document (known keys: {})",
                known.join(", ")
            ),
        }
    }
}

impl std::error::Error for PolicyDocumentError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PolicyDocumentError::Invalid(e) => Some(e),
            PolicyDocumentError::UnknownKey { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_policy_with_a_broken_pattern_or_domain_says_what_is_wrong() {
        assert_eq!(Policy::default().problem(), None);
        let p = Policy { dlp_patterns: vec!["(unclosed".into()], ..Policy::default() };
        assert!(p.problem().expect("refused").contains("\"(unclosed\" is not valid"));
        let p = Policy { internal_domains: vec!["acme".into()], ..Policy::default() };
        assert!(p.problem().expect("refused").contains("\"acme\" is not a mail domain"));
        let p = Policy { stub_intro: " ".into(), ..Policy::default() };
        assert!(p.problem().is_some());
    }

    #[test]
    fn policy_documents_refuse_unknown_keys() {
        let p = Policy::from_admin_document(r#"{"secure_attachments": true}"#).expect("partial");
        assert!(p.secure_attachments && p.secure_external);
        let e =
            Policy::from_admin_document(r#"{"secure_everything": true}"#).expect_err("unknown key");
        assert!(e.to_string().contains("\"secure_everything\""), "{e}");
        assert!(e.to_string().contains("secure_attachments"), "lists the known keys: {e}");
        assert!(Policy::from_admin_document(r#"{"secure_attachments": "yes"}"#).is_err());
        assert!(Policy::from_admin_document("{").is_err());
    }

    #[test]
    fn a_policy_from_a_newer_platform_still_loads() {
        let p: Policy =
            serde_json::from_str(r#"{"internal_domains": ["acme.example"], "a_future_rule": 1}"#)
                .expect("lenient");
        assert_eq!(p.internal_domains, ["acme.example"]);
        assert_eq!(Policy { internal_domains: Vec::new(), ..p }, Policy::default());
    }

    #[test]
    fn every_key_of_a_written_policy_is_known() {
        let written = serde_json::to_string(&Policy::default()).expect("serializable");
        assert_eq!(Policy::from_admin_document(&written).expect("own output"), Policy::default());
    }
}
