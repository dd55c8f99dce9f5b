//! The shared table of policy cases, `fixtures/classify.json`, and the checker every
//! implementation's answers go through: this crate runs the table against [`classify`]
//! directly, the platform runs it through `POST /api/v1/classify`. The file's format is
//! described in `fixtures/README.md`.
//!
//! This is test tooling (feature `fixtures`): a malformed table panics, naming the problem.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::{Candidate, Decision, MAX_SCANNED_BODY, Policy, ReasonCode, classify};

/// The table, as written.
pub const CLASSIFY_JSON: &str = include_str!("../fixtures/classify.json");

/// The file: the scan limit its long-body cases are written for, and the cases (other
/// top-level keys are notes for the reader).
#[derive(Deserialize)]
struct Table {
    max_scanned_body: usize,
    cases: Vec<Case>,
}

/// One case: a policy, a message, the user's toggle, and the decision expected.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// What the case pins, in a few words (unique within the table).
    pub name: String,
    /// The tenant's policy document; absent or `null` means no policy at hand (the defaults).
    #[serde(default)]
    policy: Option<serde_json::Value>,
    /// The message, before padding.
    candidate: Candidate,
    /// Bodies too long to write out: this many ASCII `x` bytes are put in front of the named
    /// field (`text` or `html`; a missing body counts as empty).
    #[serde(default)]
    pad_start: BTreeMap<String, usize>,
    /// The user's "Send secure" toggle.
    #[serde(default)]
    pub toggle: Option<bool>,
    /// The decision expected.
    expect: Expected,
}

/// The decision a case expects.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expected {
    secure: bool,
    required_by_policy: bool,
    reasons: Vec<ExpectedReason>,
}

/// One expected reason; `detail_starts_with` is for details that carry a regex engine's own
/// error text, which differs between engines.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectedReason {
    code: ReasonCode,
    #[serde(default)]
    detail: Option<String>,
    #[serde(default)]
    detail_starts_with: Option<String>,
}

/// Every case of the table.
pub fn classify_cases() -> Vec<Case> {
    let table: Table = serde_json::from_str(CLASSIFY_JSON).expect("fixtures/classify.json");
    assert_eq!(table.max_scanned_body, MAX_SCANNED_BODY, "the table's long bodies need updating");
    table.cases
}

impl Case {
    /// The policy, read as an administrator's document would be (so a misspelt key in the
    /// table fails loudly instead of testing the defaults).
    pub fn policy(&self) -> Policy {
        match &self.policy {
            None => Policy::default(),
            Some(doc) => Policy::from_admin_document(&doc.to_string())
                .unwrap_or_else(|e| panic!("case {:?}: {e}", self.name)),
        }
    }

    /// The message, padded as the case says.
    pub fn candidate(&self) -> Candidate {
        let mut m = self.candidate.clone();
        for (field, &bytes) in &self.pad_start {
            let body = match field.as_str() {
                "text" => &mut m.text,
                "html" => &mut m.html,
                other => {
                    panic!("case {:?}: pad_start names {other:?}, not text or html", self.name)
                }
            };
            let rest = body.take().unwrap_or_default();
            *body = Some("x".repeat(bytes) + &rest);
        }
        m
    }

    /// This crate's answer for the case.
    pub fn decide(&self) -> Decision {
        classify(&self.policy(), &self.candidate(), self.toggle)
    }

    /// The reason codes the case expects (to see that the table covers every rule).
    pub fn expected_codes(&self) -> impl Iterator<Item = ReasonCode> + '_ {
        self.expect.reasons.iter().map(|r| r.code)
    }

    /// Whether `got` is the expected decision; the error says where it differs.
    pub fn check(&self, got: &Decision) -> Result<(), String> {
        let want = &self.expect;
        let fail = |what: String| Err(format!("case {:?}: {what}; got {got:?}", self.name));
        if got.secure != want.secure || got.required_by_policy != want.required_by_policy {
            return fail(format!(
                "expected secure {} and required_by_policy {}",
                want.secure, want.required_by_policy
            ));
        }
        if got.reasons.len() != want.reasons.len() {
            return fail(format!("expected {} reasons", want.reasons.len()));
        }
        for (i, (got, want)) in got.reasons.iter().zip(&want.reasons).enumerate() {
            let detail_ok = match (&want.detail, &want.detail_starts_with) {
                (Some(d), None) => got.detail == *d,
                (None, Some(prefix)) => got.detail.starts_with(prefix.as_str()),
                _ => return fail(format!("reason {i}: give detail or detail_starts_with")),
            };
            if got.code != want.code || !detail_ok {
                return fail(format!("reason {i}: expected {want:?}"));
            }
        }
        Ok(())
    }
}
