//! The decision: must this message be secured, and why.
//!
//! The rules, in the order their reasons are listed: the user's toggle (`user_choice`), each
//! external recipient (`external_recipient`), each subject keyword found (`subject_keyword`),
//! attachments (`attachments`), each DLP pattern that matches or cannot be compiled
//! (`dlp_pattern`, `policy_error`), a body too long to scan in full (`dlp_truncated`).
//! Everything that goes wrong while deciding secures the message: plaintext of a message that
//! should have been secured must never reach SMTP.

use regex::RegexBuilder;
use serde::{Deserialize, Serialize};

use crate::Policy;

/// Longest body text (UTF-8 bytes, each of text and HTML) the DLP patterns are run over; the
/// rest is not scanned. A pattern can only match what is scanned, so a longer body is secured
/// by the `dlp_truncated` rule whenever the policy has patterns.
pub const MAX_SCANNED_BODY: usize = 4 << 20;

/// The compiled size a DLP pattern may reach; a bigger one is a `policy_error` (and secures
/// the message) rather than a slow send.
const MAX_PATTERN_SIZE: usize = 1 << 20;

/// What a message looks like to the policy.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Candidate {
    /// To, Cc and Bcc recipients: bare addresses (`bob@example.com`).
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

/// Which rule secures a message; stable on the wire (the mail clients translate each one).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReasonCode {
    /// The user switched "Send secure" on.
    UserChoice,
    /// A recipient is outside the organisation (or their address cannot be read).
    ExternalRecipient,
    /// The subject contains one of the policy's keywords.
    SubjectKeyword,
    /// The message has attachments and the policy secures those.
    Attachments,
    /// A body matches one of the policy's DLP patterns.
    DlpPattern,
    /// A body is longer than the part the DLP patterns are run over.
    DlpTruncated,
    /// A rule could not be evaluated (a DLP pattern that does not compile).
    PolicyError,
}

/// Why a message is secured.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct Reason {
    /// The rule.
    pub code: ReasonCode,
    /// What a person is shown with it: the recipient, the keyword as the policy spells it,
    /// the number of attachments, the pattern; empty for `user_choice`.
    pub detail: String,
}

impl Reason {
    fn new(code: ReasonCode, detail: impl Into<String>) -> Reason {
        Reason { code, detail: detail.into() }
    }
}

/// The decision.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct Decision {
    /// Whether the message must go through Sealpost.
    pub secure: bool,
    /// Every reason that applies, in rule order (empty when not secured).
    pub reasons: Vec<Reason>,
    /// Whether policy requires securing, so the user may not switch it off.
    pub required_by_policy: bool,
}

/// Decides whether `m` must be secured. `toggle` is the user's "Send secure" choice: `true`
/// secures any message; `false` or `None` leaves it to policy, which a user cannot overrule.
pub fn classify(policy: &Policy, m: &Candidate, toggle: Option<bool>) -> Decision {
    let mut reasons = Vec::new();
    if policy.secure_external {
        let external = m.recipients.iter().filter(|r| is_external(policy, r));
        reasons.extend(external.map(|r| Reason::new(ReasonCode::ExternalRecipient, r.trim())));
    }
    let subject = m.subject.to_lowercase();
    for k in &policy.subject_keywords {
        if !k.trim().is_empty() && subject.contains(&k.trim().to_lowercase()) {
            reasons.push(Reason::new(ReasonCode::SubjectKeyword, k.clone()));
        }
    }
    if policy.secure_attachments && m.attachments > 0 {
        reasons.push(Reason::new(ReasonCode::Attachments, m.attachments.to_string()));
    }
    let bodies = [m.text.as_deref(), m.html.as_deref()];
    for p in &policy.dlp_patterns {
        match compile(p) {
            Ok(re) => {
                let hit = bodies.iter().flatten().any(|b| re.is_match(clip(b, MAX_SCANNED_BODY)));
                if hit {
                    reasons.push(Reason::new(ReasonCode::DlpPattern, p.clone()));
                }
            }
            // A rule that cannot be checked must not let a message through in clear.
            Err(e) => reasons.push(Reason::new(ReasonCode::PolicyError, format!("{p}: {e}"))),
        }
    }
    if !policy.dlp_patterns.is_empty()
        && bodies.iter().flatten().any(|b| b.len() > MAX_SCANNED_BODY)
    {
        reasons.push(Reason::new(ReasonCode::DlpTruncated, "body too long to scan"));
    }
    let required_by_policy = !reasons.is_empty();
    if toggle == Some(true) {
        reasons.insert(0, Reason::new(ReasonCode::UserChoice, ""));
    }
    Decision { secure: !reasons.is_empty(), reasons, required_by_policy }
}

/// A DLP pattern compiled as every decision compiles it (the size limit included): an
/// administrator's page tries patterns with this, so what it accepts is what sends match.
pub fn compile(pattern: &str) -> Result<regex::Regex, regex::Error> {
    RegexBuilder::new(pattern).size_limit(MAX_PATTERN_SIZE).build()
}

/// Why a pattern does not compile, in one line: the regex crate's message draws the pattern
/// with a caret under the problem, which a web page or a log line cannot show; its last line
/// (`error: unclosed group`) says it.
pub fn why(e: &regex::Error) -> String {
    let text = e.to_string();
    let last = text.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or(&text);
    last.trim().trim_start_matches("error: ").trim_end_matches('.').to_string()
}

/// Which of `policy`'s DLP patterns match `sample` (each pattern with its outcome: matched or
/// not, or why it does not compile) — what an administrator tries before saving.
pub fn try_patterns(policy: &Policy, sample: &str) -> Vec<(String, Result<bool, String>)> {
    let sample = clip(sample, MAX_SCANNED_BODY);
    let outcome = |p: &String| compile(p).map(|re| re.is_match(sample)).map_err(|e| why(&e));
    policy.dlp_patterns.iter().map(|p| (p.clone(), outcome(p))).collect()
}

/// Whether `address` is outside the organisation: its domain (after the last `@`) is not one
/// of the internal domains, compared case-insensitively and exactly (a subdomain is another
/// domain). Anything unparsable counts as external.
pub fn is_external(policy: &Policy, address: &str) -> bool {
    let domain = match address.trim().rsplit_once('@') {
        Some((local, d)) if !local.is_empty() && !d.is_empty() => d.to_ascii_lowercase(),
        _ => return true,
    };
    !policy.internal_domains.iter().any(|d| d.trim().eq_ignore_ascii_case(&domain))
}

/// The first `max` bytes of `s`, shortened to a character boundary.
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
        assert_eq!(d.reasons[0].code, ReasonCode::UserChoice);
    }

    #[test]
    fn each_rule_says_why_and_the_user_cannot_switch_policy_off() {
        let d = classify(&acme(), &to(&["bob@acme.example", "eve@outside.example"]), Some(false));
        assert!(d.secure && d.required_by_policy);
        assert_eq!(
            d.reasons,
            vec![Reason::new(ReasonCode::ExternalRecipient, "eve@outside.example")]
        );

        let mut m = to(&["bob@acme.example"]);
        m.subject = "CONFIDENTIAL: Q3".into();
        assert_eq!(classify(&acme(), &m, None).reasons[0].code, ReasonCode::SubjectKeyword);

        let mut m = to(&["bob@acme.example"]);
        m.html = Some("<p>card 4417-1234-5678-9113</p>".into());
        assert_eq!(classify(&acme(), &m, None).reasons[0].code, ReasonCode::DlpPattern);

        let mut p = acme();
        p.secure_attachments = true;
        let mut m = to(&["bob@acme.example"]);
        m.attachments = 2;
        assert_eq!(classify(&p, &m, None).reasons[0].code, ReasonCode::Attachments);
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
        assert_eq!(d.reasons[0].code, ReasonCode::PolicyError);
        // So does one too big to compile within the size limit (a million `a`s; this case is
        // not in the shared table because other regex engines have other limits).
        p.dlp_patterns = vec!["a{1000}{1000}".into()];
        let d = classify(&p, &to(&["bob@acme.example"]), None);
        assert_eq!(d.reasons[0].code, ReasonCode::PolicyError);
        assert!(d.reasons[0].detail.contains("size limit"), "{d:?}");
    }

    #[test]
    fn reason_codes_keep_their_wire_names() {
        let names = [
            (ReasonCode::UserChoice, "user_choice"),
            (ReasonCode::ExternalRecipient, "external_recipient"),
            (ReasonCode::SubjectKeyword, "subject_keyword"),
            (ReasonCode::Attachments, "attachments"),
            (ReasonCode::DlpPattern, "dlp_pattern"),
            (ReasonCode::DlpTruncated, "dlp_truncated"),
            (ReasonCode::PolicyError, "policy_error"),
        ];
        for (code, name) in names {
            assert_eq!(serde_json::to_value(code).expect("serializable"), name);
        }
    }
}
