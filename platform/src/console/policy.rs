//! The organisation's policy as a form: internal domains, the rules that secure a message on
//! their own (outside recipients, subject keywords, attachments, DLP patterns), how recipients
//! hear of a message, expiry, the largest message, the compliance copy, the stub's words and
//! the Message Center's limits for replies. DLP patterns are tried against sample text on
//! the page before anything is saved, with the same compiler sends use
//! (`sealpost_policy::try_patterns`); a policy with a pattern that does not compile is
//! refused with the reason (`Policy::problem`, via `Admin::replace_policy` — the command
//! line's `set-policy` refuses the same). What a saved policy then does to a message is
//! `sealpost_policy::classify`'s, pinned by its shared fixtures.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;

use sealpost_policy::{NotificationMode, Policy, try_patterns};

use super::Said;
use super::error::{ConsoleError, page, refusal};
use super::extract::{AdminForm, TenantAdmin};
use super::home::Nav;
use crate::admin::Admin;
use crate::center::csrf_token;
use crate::center::extract::csrf_field;
use crate::state::AppState;
use crate::store::accounts;
use crate::store::console_sessions::ConsoleSession;

/// Most lines a list field (domains, keywords, patterns) may have.
const MAX_LINES: usize = 200;
/// Longest line of a list field, in characters.
const MAX_LINE_CHARS: usize = 2000;
/// Longest sample text, in bytes.
const MAX_SAMPLE_BYTES: usize = 100_000;
const MIB: u64 = 1 << 20;

/// The policy form as posted (and as shown: the same fields, as text).
#[derive(Deserialize, Default)]
pub(super) struct PolicyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    internal_domains: String,
    #[serde(default)]
    secure_external: Option<String>,
    #[serde(default)]
    subject_keywords: String,
    #[serde(default)]
    secure_attachments: Option<String>,
    #[serde(default)]
    dlp_patterns: String,
    #[serde(default)]
    sample: String,
    #[serde(default)]
    notification_mode: String,
    #[serde(default)]
    default_expiry_days: String,
    #[serde(default)]
    max_envelope_mib: String,
    #[serde(default)]
    compliance_copy: Option<String>,
    #[serde(default)]
    stub_subject: String,
    #[serde(default)]
    stub_keeps_subject: Option<String>,
    #[serde(default)]
    stub_intro: String,
    #[serde(default)]
    center_messages_per_hour: String,
    #[serde(default)]
    center_mib_per_day: String,
    /// `try` (the patterns against the sample) or `save`.
    #[serde(default)]
    intent: String,
}
csrf_field!(PolicyForm);

impl PolicyForm {
    /// The form filled in from `p`.
    fn of(p: &Policy) -> PolicyForm {
        let on = |b: bool| b.then(|| "on".to_string());
        PolicyForm {
            internal_domains: p.internal_domains.join("\n"),
            secure_external: on(p.secure_external),
            subject_keywords: p.subject_keywords.join("\n"),
            secure_attachments: on(p.secure_attachments),
            dlp_patterns: p.dlp_patterns.join("\n"),
            notification_mode: match p.notification_mode {
                NotificationMode::SenderSmtp => "sender_smtp".into(),
                NotificationMode::PlatformSends => "platform_sends".into(),
            },
            default_expiry_days: p.default_expiry_days.to_string(),
            max_envelope_mib: p.max_envelope_bytes.div_ceil(MIB).to_string(),
            compliance_copy: on(p.compliance_copy),
            stub_subject: p.stub_subject.clone(),
            stub_keeps_subject: on(p.stub_keeps_subject),
            stub_intro: p.stub_intro.clone(),
            center_messages_per_hour: p.center_messages_per_hour.to_string(),
            center_mib_per_day: p.center_bytes_per_day.div_ceil(MIB).to_string(),
            ..PolicyForm::default()
        }
    }

    /// The policy the form describes, or what is wrong with what was typed.
    fn policy(&self) -> Result<Policy, String> {
        fn lines(what: &str, text: &str) -> Result<Vec<String>, String> {
            let lines: Vec<String> =
                text.lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from).collect();
            if lines.len() > MAX_LINES {
                return Err(format!("{what}: at most {MAX_LINES} lines"));
            }
            if let Some(long) = lines.iter().find(|l| l.chars().count() > MAX_LINE_CHARS) {
                let start: String = long.chars().take(40).collect();
                return Err(format!(
                    "{what}: \"{start}…\" is longer than {MAX_LINE_CHARS} characters"
                ));
            }
            Ok(lines)
        }
        fn number<T: std::str::FromStr>(what: &str, text: &str) -> Result<T, String> {
            text.trim().parse().map_err(|_| format!("{what}: give a whole number"))
        }
        let notification_mode = match self.notification_mode.as_str() {
            "sender_smtp" => NotificationMode::SenderSmtp,
            "platform_sends" => NotificationMode::PlatformSends,
            _ => return Err("Choose how recipients hear of a message.".into()),
        };
        let max_mib: u64 = number("Largest message", &self.max_envelope_mib)?;
        let day_mib: u64 =
            number("Bytes per day from the Message Center", &self.center_mib_per_day)?;
        Ok(Policy {
            internal_domains: lines("Internal domains", &self.internal_domains.to_lowercase())?,
            secure_external: self.secure_external.is_some(),
            subject_keywords: lines("Subject keywords", &self.subject_keywords)?,
            secure_attachments: self.secure_attachments.is_some(),
            dlp_patterns: lines("DLP patterns", &self.dlp_patterns)?,
            notification_mode,
            stub_subject: self.stub_subject.trim().chars().take(200).collect(),
            stub_keeps_subject: self.stub_keeps_subject.is_some(),
            stub_intro: self.stub_intro.trim().chars().take(2000).collect(),
            max_envelope_bytes: max_mib.checked_mul(MIB).ok_or("Largest message: too large")?,
            default_expiry_days: number("Expiry", &self.default_expiry_days)?,
            compliance_copy: self.compliance_copy.is_some(),
            center_messages_per_hour: number(
                "Messages per hour from the Message Center",
                &self.center_messages_per_hour,
            )?,
            center_bytes_per_day: day_mib.checked_mul(MIB).ok_or("Bytes per day: too large")?,
        })
    }
}

/// One pattern tried against the sample.
struct Tried {
    pattern: String,
    outcome: String,
    matched: bool,
}

#[derive(Template)]
#[template(path = "console/policy.html")]
struct PolicyPage<'a> {
    nav: Nav<'a>,
    form: &'a PolicyForm,
    tried: Option<Vec<Tried>>,
    done: Option<&'a str>,
    problem: Option<&'a str>,
}

fn show(
    jar: CookieJar,
    session: &ConsoleSession,
    form: &PolicyForm,
    tried: Option<Vec<Tried>>,
    outcome: Result<&str, &str>,
) -> Result<Response, ConsoleError> {
    let (jar, csrf) = csrf_token(jar);
    let said = Said::from(outcome);
    let view = PolicyPage {
        nav: Nav::of(session, &csrf),
        form,
        tried,
        done: said.done,
        problem: said.problem,
    };
    Ok((jar, page(said.status(), &view)?).into_response())
}

/// `GET /admin/policy`
pub(super) async fn edit(
    State(state): State<AppState>,
    jar: CookieJar,
    TenantAdmin(session): TenantAdmin,
) -> Result<Response, ConsoleError> {
    let policy = accounts::policy(&state.db, session.tenant_id).await?;
    show(jar, &session, &PolicyForm::of(&policy), None, Ok(""))
}

/// `POST /admin/policy`: tries the patterns against the sample (`intent=try`), or saves.
pub(super) async fn save(
    State(state): State<AppState>,
    jar: CookieJar,
    AdminForm(session, form): AdminForm<PolicyForm>,
) -> Result<Response, ConsoleError> {
    let policy = match form.policy() {
        Ok(p) => p,
        Err(why) => return show(jar, &session, &form, None, Err(&why)),
    };
    if form.intent == "try" {
        if form.sample.len() > MAX_SAMPLE_BYTES {
            let why = format!("The sample text is longer than {MAX_SAMPLE_BYTES} bytes.");
            return show(jar, &session, &form, None, Err(&why));
        }
        let tried = try_patterns(&policy, &form.sample)
            .into_iter()
            .map(|(pattern, outcome)| match outcome {
                Ok(true) => Tried {
                    pattern,
                    outcome: "matches: a message like this is secured".into(),
                    matched: true,
                },
                Ok(false) => Tried { pattern, outcome: "does not match".into(), matched: false },
                Err(e) => Tried { pattern, outcome: format!("is not valid: {e}"), matched: false },
            })
            .collect();
        return show(jar, &session, &form, Some(tried), Ok("Tried; nothing was saved."));
    }
    let admin = Admin::console(&state, &session.email, session.operator);
    match admin.replace_policy(session.tenant_id, &policy).await {
        Ok(()) => {
            let saved = PolicyForm { sample: form.sample.clone(), ..PolicyForm::of(&policy) };
            show(
                jar,
                &session,
                &saved,
                None,
                Ok("Saved. Senders' mail clients apply it from their next send."),
            )
        }
        Err(e) => {
            let why = refusal(e)?;
            let why = format!("Not saved: {why}.");
            show(jar, &session, &form, None, Err(&why))
        }
    }
}
