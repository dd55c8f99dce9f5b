//! The organisation's mail: its own SMTP relay (set, tested with a test mail, removed — its
//! password is stored sealed and never shown again) and its outgoing queue — what is waiting,
//! retrying or dead-lettered, with the last error — where a dead mail is put back once its
//! cause is fixed. Only the organisation's own mail is listed or retried.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;

use super::Said;
use super::error::{ConsoleError, outcome, page, said};
use super::extract::{AdminForm, CsrfOnly, TenantAdmin};
use super::home::Nav;
use super::when;
use crate::admin::Admin;
use crate::center::csrf_token;
use crate::center::extract::csrf_field;
use crate::config::Secret;
use crate::state::AppState;
use crate::store::console_sessions::ConsoleSession;
use crate::store::relays::RelaySettings;

/// Queued mails shown.
const SHOWN: i64 = 100;

struct QueuedView {
    id: i64,
    kind: String,
    recipient: String,
    state: String,
    attempts: i64,
    error: String,
    queued: String,
}

struct RelayView {
    host: String,
    port: u16,
    security: String,
    username: String,
    from: String,
}

#[derive(Template)]
#[template(path = "console/mail.html")]
struct MailPage<'a> {
    nav: Nav<'a>,
    relay: Option<RelayView>,
    state: &'a str,
    queue: Vec<QueuedView>,
    done: Option<&'a str>,
    problem: Option<&'a str>,
}

impl MailPage<'_> {
    /// Whether the queue shows only mail in `state`.
    fn is_filter(&self, state: &str) -> bool {
        self.state == state
    }

    /// Whether the relay form shows `security` chosen: the relay's, else STARTTLS.
    fn security_is(&self, security: &str) -> bool {
        self.relay.as_ref().map_or("starttls", |r| r.security.as_str()) == security
    }
}

#[derive(Deserialize, Default)]
pub(super) struct QueueQuery {
    #[serde(default)]
    state: String,
}

async fn show(
    state: &AppState,
    jar: CookieJar,
    session: &ConsoleSession,
    filter: &str,
    outcome: Result<&str, &str>,
) -> Result<Response, ConsoleError> {
    let admin = Admin::console(state, &session.email, session.operator);
    let tenant = session.tenant_id;
    let relay = admin.relay(tenant).await.map_err(ConsoleError::internal)?.map(|r| RelayView {
        host: r.host,
        port: r.port,
        security: r.security,
        username: r.username.unwrap_or_default(),
        from: r.from,
    });
    let filter = match filter {
        "queued" | "sent" | "dead" => filter,
        _ => "",
    };
    let only = Some(filter).filter(|f| !f.is_empty());
    let rows =
        admin.notifications(Some(tenant), only, SHOWN).await.map_err(ConsoleError::internal)?;
    let queue = rows
        .into_iter()
        .map(|r| QueuedView {
            id: r.id,
            kind: r.kind,
            recipient: r.recipient,
            // A queued mail with attempts behind it is being retried.
            state: if r.state == "queued" && r.attempts > 0 { "retrying".into() } else { r.state },
            attempts: r.attempts,
            error: r.last_error.unwrap_or_default(),
            queued: when(r.created_at),
        })
        .collect();
    let said = Said::from(outcome);
    let (jar, csrf) = csrf_token(jar);
    let view = MailPage {
        nav: Nav::of(session, &csrf),
        relay,
        state: filter,
        queue,
        done: said.done,
        problem: said.problem,
    };
    Ok((jar, page(said.status(), &view)?).into_response())
}

/// `GET /admin/mail?state=…`
pub(super) async fn overview(
    State(state): State<AppState>,
    jar: CookieJar,
    TenantAdmin(session): TenantAdmin,
    Query(q): Query<QueueQuery>,
) -> Result<Response, ConsoleError> {
    show(&state, jar, &session, &q.state, Ok("")).await
}

#[derive(Deserialize)]
pub(super) struct RelayForm {
    csrf: String,
    host: String,
    port: String,
    security: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: zeroize::Zeroizing<String>,
    from: String,
}
csrf_field!(RelayForm);

/// `POST /admin/mail/relay`
pub(super) async fn set_relay(
    State(state): State<AppState>,
    jar: CookieJar,
    AdminForm(session, form): AdminForm<RelayForm>,
) -> Result<Response, ConsoleError> {
    let Ok(port) = form.port.trim().parse::<u16>() else {
        return show(&state, jar, &session, "", Err("The port is a number from 1 to 65535.")).await;
    };
    let username = Some(form.username.trim().to_string()).filter(|u| !u.is_empty());
    let password = username.as_ref().map(|_| Secret(form.password.to_string()));
    let relay = RelaySettings {
        host: form.host.trim().to_string(),
        port,
        security: form.security.trim().to_string(),
        username,
        password,
        from: form.from.trim().to_string(),
    };
    let result = Admin::console(&state, &session.email, session.operator)
        .set_relay(session.tenant_id, &relay)
        .await;
    let done = "The organisation's mail now goes through this relay. Send a test mail to see it \
                arrive.";
    show(&state, jar, &session, "", said(&outcome(result, done)?)).await
}

/// `POST /admin/mail/relay/clear`
pub(super) async fn clear_relay(
    State(state): State<AppState>,
    jar: CookieJar,
    AdminForm(session, _): AdminForm<CsrfOnly>,
) -> Result<Response, ConsoleError> {
    let result = Admin::console(&state, &session.email, session.operator)
        .clear_relay(session.tenant_id)
        .await;
    let done = "The organisation's mail goes through the platform's relay again.";
    show(&state, jar, &session, "", said(&outcome(result, done)?)).await
}

#[derive(Deserialize)]
pub(super) struct TestForm {
    csrf: String,
    to: String,
}
csrf_field!(TestForm);

/// `POST /admin/mail/test`
pub(super) async fn test_mail(
    State(state): State<AppState>,
    jar: CookieJar,
    AdminForm(session, form): AdminForm<TestForm>,
) -> Result<Response, ConsoleError> {
    let admin = Admin::console(&state, &session.email, session.operator);
    let result = admin.test_mail(&form.to, Some(session.tenant_id)).await;
    let done = "A test mail is queued: its delivery shows in the queue below.";
    show(&state, jar, &session, "", said(&outcome(result, done)?)).await
}

/// `POST /admin/mail/{id}/retry`
pub(super) async fn retry(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(id): Path<i64>,
    AdminForm(session, _): AdminForm<CsrfOnly>,
) -> Result<Response, ConsoleError> {
    let admin = Admin::console(&state, &session.email, session.operator);
    let result = admin.retry_notification(Some(session.tenant_id), id).await;
    show(&state, jar, &session, "", said(&outcome(result, "The mail is queued again.")?)).await
}
