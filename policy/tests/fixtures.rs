//! The shared table of cases (`fixtures/classify.json`) against this crate's `classify`: the
//! answers every other implementation is held to.

use std::collections::BTreeSet;

use sealpost_policy::ReasonCode;
use sealpost_policy::fixtures::classify_cases;

#[test]
fn every_case_of_the_table_is_decided_as_written() {
    let failures: Vec<String> =
        classify_cases().iter().filter_map(|case| case.check(&case.decide()).err()).collect();
    assert!(failures.is_empty(), "{} cases failed:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn the_table_covers_every_rule_and_names_each_case_once() {
    let cases = classify_cases();
    let mut names = BTreeSet::new();
    for case in &cases {
        assert!(names.insert(case.name.as_str()), "two cases are named {:?}", case.name);
    }
    let seen: BTreeSet<String> =
        cases.iter().flat_map(|c| c.expected_codes()).map(|c| format!("{c:?}")).collect();
    let every = [
        ReasonCode::UserChoice,
        ReasonCode::ExternalRecipient,
        ReasonCode::SubjectKeyword,
        ReasonCode::Attachments,
        ReasonCode::DlpPattern,
        ReasonCode::DlpTruncated,
        ReasonCode::PolicyError,
    ];
    // Adding a rule without adding it here (and to the table) does not compile.
    let _every_is_listed = |code: ReasonCode| match code {
        ReasonCode::UserChoice
        | ReasonCode::ExternalRecipient
        | ReasonCode::SubjectKeyword
        | ReasonCode::Attachments
        | ReasonCode::DlpPattern
        | ReasonCode::DlpTruncated
        | ReasonCode::PolicyError => (),
    };
    for code in every {
        assert!(seen.contains(&format!("{code:?}")), "no case expects {code:?}");
    }
}
