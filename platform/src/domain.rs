//! Validated domain types: once parsed, they are known good everywhere else.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A mail address, lowercased, checked for the shape `local@domain.tld` and bounded in size.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Longest address accepted (RFC 5321's path limit).
    pub const MAX_LEN: usize = 254;

    /// Parses and normalises an address; the error says what is wrong.
    pub fn parse(s: &str) -> Result<EmailAddress, String> {
        let s = s.trim();
        if s.len() > Self::MAX_LEN {
            return Err(format!("address is longer than {} characters", Self::MAX_LEN));
        }
        let (local, domain) = s.rsplit_once('@').ok_or_else(|| format!("\"{s}\" has no @"))?;
        let ok_char =
            |c: char| !c.is_whitespace() && !c.is_control() && !"<>()[],;:\"\\".contains(c);
        if local.is_empty() || !local.chars().all(ok_char) || local.contains('@') {
            return Err(format!("\"{s}\" has an invalid local part"));
        }
        let labels_ok = domain.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        });
        if !domain.contains('.') || !labels_ok {
            return Err(format!("\"{s}\" has an invalid domain"));
        }
        Ok(EmailAddress(s.to_lowercase()))
    }

    /// The address as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The domain part.
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, d)| d)
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for EmailAddress {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        EmailAddress::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A user's role within their tenant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Sends secure messages.
    Sender,
    /// Also administers the tenant.
    Admin,
}

impl Role {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Sender => "sender",
            Role::Admin => "admin",
        }
    }

    /// Parses the stored form.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "sender" => Some(Role::Sender),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// How recipients hear about a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NotificationMode {
    /// The sender's mail client sends the stub over the sender's own SMTP server.
    SenderSmtp,
    /// The platform mails each recipient a personal notification.
    PlatformSends,
}

/// A tenant's policy: what must be secured, and how messages look and live.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_normalised_and_bad_ones_say_why() {
        let a = EmailAddress::parse(" Bob@Outside.Example ").expect("valid");
        assert_eq!(a.as_str(), "bob@outside.example");
        assert_eq!(a.domain(), "outside.example");
        for bad in
            ["", "bob", "@x.example", "bob@", "bob@localhost", "a b@x.example", "bob@-x.example"]
        {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?}");
        }
        assert!(EmailAddress::parse(&format!("{}@x.example", "a".repeat(250))).is_err());
    }

    #[test]
    fn policy_documents_refuse_unknown_keys() {
        let p: Policy = serde_json::from_str(r#"{"secure_attachments": true}"#).expect("partial");
        assert!(p.secure_attachments && p.secure_external);
        assert!(serde_json::from_str::<Policy>(r#"{"secure_everything": true}"#).is_err());
    }
}
