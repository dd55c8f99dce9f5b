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
        if !sealpost_policy::is_mail_domain(domain) {
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

/// The longest display name (a member's, an organisation's), in characters.
pub const MAX_DISPLAY_NAME_CHARS: usize = 80;

/// A display name, trimmed — one line of 1 to [`MAX_DISPLAY_NAME_CHARS`] characters — or
/// what is wrong with it.
pub fn display_name(name: &str) -> Result<String, String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_DISPLAY_NAME_CHARS {
        return Err(format!("a display name has 1 to {MAX_DISPLAY_NAME_CHARS} characters"));
    }
    if name.chars().any(char::is_control) {
        return Err("a display name is one line of text".into());
    }
    Ok(name.to_string())
}

/// A user's role within their tenant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Sends secure messages.
    Sender,
    /// Also administers the tenant.
    Admin,
    /// Also searches and reads the tenant's messages for compliance (each access audited).
    Compliance,
}

impl Role {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Sender => "sender",
            Role::Admin => "admin",
            Role::Compliance => "compliance",
        }
    }

    /// Parses the stored form.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "sender" => Some(Role::Sender),
            "admin" => Some(Role::Admin),
            "compliance" => Some(Role::Compliance),
            _ => None,
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
}
