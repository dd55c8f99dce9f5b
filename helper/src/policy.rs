//! Which messages must be secured: the tenant's policy and the user's toggle.
//!
//! The policy is the platform's (`GET /api/v1/policy`); the helper caches it and decides
//! locally so the decision is instant at send time. Deciding fails closed: with no policy
//! at hand the defaults apply, and they secure every message that leaves the organisation
//! (with no internal domains known, every recipient is outside it).

use regex::RegexBuilder;
use serde::{Deserialize, Serialize};

/// The parts of the tenant policy the helper acts on (unknown fields are ignored, so a newer
/// platform can add rules).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default)]
pub struct Policy {
    /// The organisation's own mail domains.
    pub internal_domains: Vec<String>,
    /// Secure messages with at least one external recipient.
    pub secure_external: bool,
    /// Secure messages whose subject contains one of these words (case-insensitive).
    pub subject_keywords: Vec<String>,
    /// Secure messages with attachments.
    pub secure_attachments: bool,
    /// Secure messages whose body matches one of these regular expressions.
    pub dlp_patterns: Vec<String>,
    /// Wrap for the tenant's compliance key too.
    pub compliance_copy: bool,
    /// Largest envelope the tenant accepts.
    pub max_envelope_bytes: u64,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            internal_domains: Vec::new(),
            secure_external: true,
            subject_keywords: Vec::new(),
            secure_attachments: false,
            dlp_patterns: Vec::new(),
            compliance_copy: false,
            max_envelope_bytes: 1 << 30,
        }
    }
}

/// What a message looks like to the policy.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Candidate {
    /// To, Cc and Bcc recipients.
    #[serde(default)]
    pub recipients: Vec<String>,
    /// Subject line.
    #[serde(default)]
    pub subject: String,
    /// Plain-text body.
    #[serde(default)]
    pub text: Option<String>,
    /// HTML body.
    #[serde(default)]
    pub html: Option<String>,
    /// Number of attachments.
    #[serde(default)]
    pub attachments: usize,
}

/// Why a message is secured.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Reason {
    /// Stable code: `user_choice`, `external_recipient`, `subject_keyword`, `attachments`,
    /// `dlp_pattern`, `policy_error`.
    pub code: &'static str,
    /// The detail a person is shown: the recipient, the keyword, the pattern.
    pub detail: String,
}

/// The decision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// Whether the message must go through Sealpost.
    pub secure: bool,
    /// Every reason that applies (empty when not secured).
    pub reasons: Vec<Reason>,
    /// Whether the user may switch securing off: not when policy requires it.
    pub required_by_policy: bool,
}

/// Longest body text the DLP patterns are run over; the rest is not scanned (a pattern can
/// only match what is scanned, so huge bodies are secured by the `dlp_truncated` rule).
const MAX_SCANNED_BODY: usize = 4 << 20;

/// Decides whether `m` must be secured. `toggle` is the user's "Send secure" choice: `true`
/// secures any message; `false` or `None` leaves it to policy, which a user cannot overrule.
pub fn classify(policy: &Policy, m: &Candidate, toggle: Option<bool>) -> Decision {
    let mut reasons = Vec::new();
    if policy.secure_external {
        let external = m.recipients.iter().filter(|r| is_external(policy, r));
        reasons.extend(
            external.map(|r| Reason { code: "external_recipient", detail: r.trim().to_string() }),
        );
    }
    let subject = m.subject.to_lowercase();
    for k in &policy.subject_keywords {
        if !k.trim().is_empty() && subject.contains(&k.trim().to_lowercase()) {
            reasons.push(Reason { code: "subject_keyword", detail: k.clone() });
        }
    }
    if policy.secure_attachments && m.attachments > 0 {
        reasons.push(Reason { code: "attachments", detail: m.attachments.to_string() });
    }
    let bodies = [m.text.as_deref(), m.html.as_deref()];
    for p in &policy.dlp_patterns {
        match RegexBuilder::new(p).size_limit(1 << 20).build() {
            Ok(re) => {
                let hit = bodies.iter().flatten().any(|b| re.is_match(clip(b, MAX_SCANNED_BODY)));
                if hit {
                    reasons.push(Reason { code: "dlp_pattern", detail: p.clone() });
                }
            }
            // A rule that cannot be checked must not let a message through in clear.
            Err(e) => reasons.push(Reason { code: "policy_error", detail: format!("{p}: {e}") }),
        }
    }
    if !policy.dlp_patterns.is_empty()
        && bodies.iter().flatten().any(|b| b.len() > MAX_SCANNED_BODY)
    {
        reasons.push(Reason { code: "dlp_truncated", detail: "body too long to scan".into() });
    }
    let required_by_policy = !reasons.is_empty();
    if toggle == Some(true) {
        reasons.insert(0, Reason { code: "user_choice", detail: String::new() });
    }
    Decision { secure: !reasons.is_empty(), reasons, required_by_policy }
}

/// Whether `address` is outside the organisation. Anything unparsable counts as external.
pub fn is_external(policy: &Policy, address: &str) -> bool {
    let domain = match address.trim().rsplit_once('@') {
        Some((local, d)) if !local.is_empty() && !d.is_empty() => d.to_ascii_lowercase(),
        _ => return true,
    };
    !policy.internal_domains.iter().any(|d| d.trim().eq_ignore_ascii_case(&domain))
}

fn clip(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acme() -> Policy {
        Policy {
            internal_domains: vec!["acme.example".into()],
            subject_keywords: vec!["Confidential".into()],
            dlp_patterns: vec![r"\b\d{4}-\d{4}-\d{4}-\d{4}\b".into()],
            ..Policy::default()
        }
    }

    fn to(recipients: &[&str]) -> Candidate {
        Candidate {
            recipients: recipients.iter().map(|s| s.to_string()).collect(),
            subject: "Lunch".into(),
            text: Some("see you at noon".into()),
            ..Candidate::default()
        }
    }

    #[test]
    fn internal_mail_is_left_alone_unless_the_user_asks() {
        let m = to(&["bob@ACME.example", "carol@acme.example"]);
        let d = classify(&acme(), &m, None);
        assert!(!d.secure && d.reasons.is_empty() && !d.required_by_policy);
        assert!(!classify(&acme(), &m, Some(false)).secure);
        let d = classify(&acme(), &m, Some(true));
        assert!(d.secure && !d.required_by_policy);
        assert_eq!(d.reasons[0].code, "user_choice");
    }

    #[test]
    fn each_rule_says_why_and_the_user_cannot_switch_policy_off() {
        let d = classify(&acme(), &to(&["bob@acme.example", "eve@outside.example"]), Some(false));
        assert!(d.secure && d.required_by_policy);
        assert_eq!(
            d.reasons,
            vec![Reason { code: "external_recipient", detail: "eve@outside.example".into() }]
        );

        let mut m = to(&["bob@acme.example"]);
        m.subject = "CONFIDENTIAL: Q3".into();
        assert_eq!(classify(&acme(), &m, None).reasons[0].code, "subject_keyword");

        let mut m = to(&["bob@acme.example"]);
        m.html = Some("<p>card 4417-1234-5678-9113</p>".into());
        assert_eq!(classify(&acme(), &m, None).reasons[0].code, "dlp_pattern");

        let mut p = acme();
        p.secure_attachments = true;
        let mut m = to(&["bob@acme.example"]);
        m.attachments = 2;
        assert_eq!(classify(&p, &m, None).reasons[0].code, "attachments");
    }

    #[test]
    fn failing_closed() {
        // No policy fetched yet: the defaults treat every recipient as external.
        assert!(classify(&Policy::default(), &to(&["bob@acme.example"]), None).secure);
        // Garbage addresses are external.
        assert!(classify(&acme(), &to(&["not-an-address"]), None).secure);
        // A pattern that cannot be compiled secures the message instead of being skipped.
        let mut p = acme();
        p.dlp_patterns = vec!["(unclosed".into()];
        let d = classify(&p, &to(&["bob@acme.example"]), None);
        assert!(d.secure);
        assert_eq!(d.reasons[0].code, "policy_error");
    }
}
