//! The admin console (`/admin`): an organisation's administrators run Sealpost from the
//! browser. Server-rendered (askama) like the Message Center, working without JavaScript,
//! under the same strict Content-Security-Policy (no script, no framing).
//!
//! Who gets in: members with the administrator or compliance role, signed in with password
//! *and* second factor. Someone without a factor yet gets a session that can only set one up
//! (`sign_in`: forced enrolment at first sign-in); the factor is confirmed with a code before
//! anything else opens. Console sessions are their own (`store::console_sessions`: another
//! cookie, 20 minutes idle, 8 hours at most), and read the member's role and state on every
//! request, so a role taken away or a member disabled is out at once.
//!
//! What they see is their own organisation only: every page and action is scoped by the
//! session's tenant, and the operations are `crate::admin`'s — the same code the command line
//! runs, each recorded in the audit log under the member's address.
//!
//! - `members`: list and search, add (a set-password link is mailed) or import from CSV
//!   (dry run first; a file with a problem changes nothing), roles, disable and
//!   enable, reset the second factor, devices and their revocation, a new set-password link.
//! - `policy`: the organisation's policy as a form, DLP patterns tried on sample text before
//!   saving, a policy with an invalid pattern refused with the reason.
//! - `messages`: tracking — every message of the organisation searched, its delivery slip,
//!   recall and expiry by an administrator; a compliance officer's read-only review,
//!   decrypted, after a stated reason that goes into the audit log.
//! - `branding`: the display name, colour and logo recipients see, previewed.
//! - `mail`: the organisation's own SMTP relay with a test mail, and its outgoing queue
//!   (waiting, retrying, dead, with the error) with retry.
//! - `keys`: the compliance key set from its public key; the platform key's id and age.
//! - `reports`: use per day and per week as charts drawn on the server (SVG), top senders,
//!   CSV.
//! - `audit`: the organisation's audit log, filtered, the chain verified from the page, and
//!   exported as JSON Lines for a SIEM.
//! - `operator`: the platform's operators' page — every organisation with its domains and
//!   use, new organisations and domains (a domain belongs to one organisation only).
//! - `password`: the page a set-password link opens (no session: the link is the proof).
//!
//! `extract.rs` holds the guards (a signed-in member, an administrator, a form with its CSRF
//! token) and `error.rs` the one error type with its pages.

mod audit;
mod branding;
mod error;
mod extract;
mod home;
mod keys;
mod mail;
mod members;
mod messages;
mod operator;
mod password;
mod policy;
mod reports;
mod sign_in;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Router, middleware};

use crate::state::AppState;

/// The console session's cookie (the CSRF cookie is the Center's: one browser, one token).
const SESSION_COOKIE: &str = "__Host-sealpost-console";

/// No script, no framing, nothing from anywhere but the platform; the console's pages carry
/// no inline style at all.
const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; font-src 'none'; \
                   form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The console's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin", get(home::home))
        .route("/admin/signin", get(sign_in::sign_in_page).post(sign_in::sign_in))
        .route("/admin/signout", post(sign_in::sign_out))
        .route("/admin/enrol", get(sign_in::enrol_page).post(sign_in::enrol))
        .route("/admin/members", get(members::list).post(members::add))
        .route(
            "/admin/members/import",
            post(members::import).layer(axum::extract::DefaultBodyLimit::max(
                crate::admin::MAX_IMPORT_BYTES + 64 * 1024,
            )),
        )
        .route("/admin/members/{id}", get(members::show))
        .route("/admin/members/{id}/name", post(members::set_name))
        .route("/admin/members/{id}/role", post(members::set_role))
        .route("/admin/members/{id}/disable", post(members::disable))
        .route("/admin/members/{id}/enable", post(members::enable))
        .route("/admin/members/{id}/second-factor", post(members::reset_second_factor))
        .route("/admin/members/{id}/password-link", post(members::send_password_link))
        .route("/admin/members/{id}/devices/{device}/revoke", post(members::revoke_device))
        .route("/admin/policy", get(policy::edit).post(policy::save))
        .route("/admin/messages", get(messages::search))
        .route("/admin/messages/{id}", get(messages::slip))
        .route("/admin/messages/{id}/recall", post(messages::recall))
        .route("/admin/messages/{id}/expiry", post(messages::expiry))
        .route("/admin/messages/{id}/review", post(messages::review))
        .route("/admin/messages/{id}/export", post(messages::export))
        .route(
            "/admin/branding",
            get(branding::branding_page).post(branding::save).layer(
                axum::extract::DefaultBodyLimit::max(crate::branding::MAX_LOGO_BYTES + 64 * 1024),
            ),
        )
        .route("/admin/mail", get(mail::overview))
        .route("/admin/mail/relay", post(mail::set_relay))
        .route("/admin/mail/relay/clear", post(mail::clear_relay))
        .route("/admin/mail/test", post(mail::test_mail))
        .route("/admin/mail/{id}/retry", post(mail::retry))
        .route("/admin/keys", get(keys::keys))
        .route("/admin/keys/compliance", post(keys::set_compliance_key))
        .route("/admin/reports", get(reports::reports))
        .route("/admin/reports.csv", get(reports::csv))
        .route("/admin/audit", get(audit::list))
        .route("/admin/audit/verify", post(audit::verify))
        .route("/admin/audit/export", get(audit::export))
        .route("/admin/operator", get(operator::organisations))
        .route("/admin/operator/organisations", post(operator::create))
        .route("/admin/operator/organisations/{id}/domains", post(operator::add_domain))
        .route("/admin/password/{token}", get(password::open).post(password::choose))
        .route("/admin/static/console.css", get(stylesheet))
        .layer(middleware::from_fn(security_headers))
}

async fn security_headers(request: axum::extract::Request, next: middleware::Next) -> Response {
    let mut response = next.run(request).await;
    // A page with a policy of its own keeps it (the branding preview's: `branding`).
    let own = response.headers().get(header::CONTENT_SECURITY_POLICY).cloned();
    crate::harden::page_headers(response.headers_mut(), CSP);
    if let Some(own) = own {
        response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, own);
    }
    response
}

async fn stylesheet() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], include_str!("../../static/console.css"))
}

/// Formats a time (ms since the epoch) for administrators, exact and in UTC (as the audit
/// log and its exports): `2026-11-23 06:10 UTC`.
fn when(ms: i64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0) as u64);
    let s = humantime::format_rfc3339_seconds(t).to_string();
    format!("{} {} UTC", &s[..10], &s[11..16])
}

/// What a page says about the action just taken: what was done, or the problem (the page is
/// then a 400); `Ok("")` says nothing.
pub(super) struct Said<'a> {
    /// What was done.
    pub(super) done: Option<&'a str>,
    /// Why it was not.
    pub(super) problem: Option<&'a str>,
}

impl<'a> Said<'a> {
    pub(super) fn from(outcome: Result<&'a str, &'a str>) -> Said<'a> {
        match outcome {
            Ok("") => Said { done: None, problem: None },
            Ok(done) => Said { done: Some(done), problem: None },
            Err(problem) => Said { done: None, problem: Some(problem) },
        }
    }

    /// The page's status: 400 with a problem, else 200.
    pub(super) fn status(&self) -> axum::http::StatusCode {
        if self.problem.is_some() {
            axum::http::StatusCode::BAD_REQUEST
        } else {
            axum::http::StatusCode::OK
        }
    }
}

/// A day, ms.
const DAY_MS: i64 = 86_400_000;

/// Midnight UTC of a `YYYY-MM-DD` date (as a form's date field gives it), ms.
fn day_start(date: &str) -> Option<i64> {
    let t = humantime::parse_rfc3339(&format!("{}T00:00:00Z", date.trim())).ok()?;
    Some(t.duration_since(std::time::UNIX_EPOCH).ok()?.as_millis() as i64)
}

/// The `YYYY-MM-DD` date (UTC) of a time, ms.
fn day_of(ms: i64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0) as u64);
    humantime::format_rfc3339_seconds(t).to_string()[..10].to_string()
}
