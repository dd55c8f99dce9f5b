//! Tracking: every message of the organisation, searchable by sender, recipient (Bcc too),
//! subject and time, and each one's delivery slip — its recipients with what happened for
//! each, and all its events. Administrators recall a message and change its expiry
//! (`messages::tracking`, as senders do, recorded under the administrator). Compliance
//! officers open a message read-only, decrypted, after stating why: the reason is required,
//! and every opening is an audit entry (`compliance.message_opened`, with the reason) that
//! no member can remove — the log is hash-chained.
//!
//! Messages are found by their ids only within the session's organisation; another
//! organisation's id is "not found".

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::{Deserialize, Serialize};

use super::Said;
use super::error::{ConsoleError, page};
use super::extract::{AdminForm, ConsoleForm, CsrfOnly, Staff};
use super::home::Nav;
use super::{DAY_MS, day_of, day_start, when};
use crate::center::csrf_token;
use crate::center::display;
use crate::center::extract::csrf_field;
use crate::center::html::{SafeBody, safe_body};
use crate::center::read::human_size;
use crate::domain::Role;
use crate::messages::tracking::{self, MessageStatus};
use crate::reading::StoredMessage;
use crate::state::AppState;
use crate::store::console_sessions::ConsoleSession;
use crate::store::messages::{self as stored, MessageRow, TenantFilter};
use crate::store::{PageMark, audit};

/// Messages on one page of the search.
const PAGE: i64 = 50;
/// A compliance officer's reason: at least this many characters …
const MIN_REASON_CHARS: usize = 10;
/// … and at most this many.
const MAX_REASON_CHARS: usize = 1000;

#[derive(Deserialize, Serialize, Default, Clone)]
pub(super) struct SearchQuery {
    #[serde(default)]
    sender: String,
    #[serde(default)]
    recipient: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    since: String,
    #[serde(default)]
    until: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    before: Option<String>,
}

impl SearchQuery {
    fn filter(&self) -> Result<TenantFilter, &'static str> {
        let text = |s: &str| {
            Some(s.trim().chars().take(254).collect::<String>()).filter(|s| !s.is_empty())
        };
        let date = |s: &str| match s.trim() {
            "" => Ok(None),
            d => day_start(d).map(Some).ok_or("Give dates as YYYY-MM-DD."),
        };
        let before = match &self.before {
            Some(b) => Some(b.parse::<PageMark>().map_err(|_| "That page does not exist.")?),
            None => None,
        };
        Ok(TenantFilter {
            sender: text(&self.sender),
            recipient: text(&self.recipient),
            subject: text(&self.subject),
            since: date(&self.since)?,
            until: date(&self.until)?.map(|d| d + DAY_MS),
            before,
            limit: PAGE,
        })
    }
}

struct Row {
    id: String,
    created: String,
    from: String,
    subject: String,
    state: &'static str,
}

#[derive(Template)]
#[template(path = "console/messages.html")]
struct SearchPage<'a> {
    nav: Nav<'a>,
    query: &'a SearchQuery,
    rows: Vec<Row>,
    next: Option<String>,
    problem: Option<&'a str>,
}

/// `GET /admin/messages?sender=…&recipient=…&subject=…&since=…&until=…&before=…`
pub(super) async fn search(
    State(state): State<AppState>,
    jar: CookieJar,
    Staff(session): Staff,
    Query(query): Query<SearchQuery>,
) -> Result<Response, ConsoleError> {
    let (found, problem) = match query.filter() {
        Ok(f) => (stored::list_for_tenant(&state.db, session.tenant_id, &f).await?, None),
        Err(why) => (Vec::new(), Some(why)),
    };
    let next = (found.len() as i64 == PAGE).then(|| found.last()).flatten().map(|m| {
        let q = SearchQuery { before: Some(PageMark::after(m).to_string()), ..query.clone() };
        serde_urlencoded::to_string(&q).unwrap_or_default()
    });
    let rows = found
        .iter()
        .map(|m| Row {
            id: m.id.clone(),
            created: when(m.created_at),
            from: m.sender_email.clone(),
            subject: display::line(&m.subject),
            state: MessageStatus::of(m).as_str(),
        })
        .collect();
    let status = if problem.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    let (jar, csrf) = csrf_token(jar);
    let view = SearchPage { nav: Nav::of(&session, &csrf), query: &query, rows, next, problem };
    Ok((jar, page(status, &view)?).into_response())
}

/// Message `id` of the session's organisation.
async fn of_tenant(
    state: &AppState,
    session: &ConsoleSession,
    id: &str,
) -> Result<MessageRow, ConsoleError> {
    let (_, id) = crate::messages::slip::canonical_id(id).map_err(|_| ConsoleError::NotFound)?;
    match stored::get(&state.db, &id).await? {
        Some(m) if m.tenant_id == session.tenant_id => Ok(m),
        _ => Err(ConsoleError::NotFound),
    }
}

struct RecipientRow {
    email: String,
    kind: String,
    events: String,
}

struct EventRow {
    at: String,
    recipient: String,
    kind: String,
}

#[derive(Template)]
#[template(path = "console/message.html")]
struct SlipPage<'a> {
    nav: Nav<'a>,
    id: &'a str,
    from: String,
    subject: String,
    created: String,
    state: &'static str,
    expires: String,
    expiry_day: String,
    size: String,
    recipients: Vec<RecipientRow>,
    events: Vec<EventRow>,
    compliance: bool,
    done: Option<&'a str>,
    problem: Option<&'a str>,
}

async fn show_slip(
    state: &AppState,
    jar: CookieJar,
    session: &ConsoleSession,
    m: &MessageRow,
    outcome: Result<&str, &str>,
) -> Result<Response, ConsoleError> {
    let (recipients, events) = tracking::recipient_status(state, m).await?;
    let recipients = recipients
        .into_iter()
        .map(|r| RecipientRow {
            email: r.email,
            kind: r.kind,
            events: r
                .status
                .iter()
                .map(|(kind, at)| format!("{kind} {}", when(*at)))
                .collect::<Vec<_>>()
                .join(", "),
        })
        .collect();
    let events = events
        .into_iter()
        .map(|e| EventRow {
            at: when(e.at),
            recipient: e.recipient.unwrap_or_default(),
            kind: e.kind,
        })
        .collect();
    let said = Said::from(outcome);
    let (jar, csrf) = csrf_token(jar);
    let view = SlipPage {
        nav: Nav::of(session, &csrf),
        id: &m.id,
        from: m.sender_email.clone(),
        subject: display::line(&m.subject),
        created: when(m.created_at),
        state: MessageStatus::of(m).as_str(),
        expires: m.expires_at.map_or_else(|| "never".into(), when),
        expiry_day: m.expires_at.map(day_of).unwrap_or_default(),
        size: m.envelope_size.map(|s| human_size(s as u64)).unwrap_or_default(),
        recipients,
        events,
        compliance: session.role == Role::Compliance,
        done: said.done,
        problem: said.problem,
    };
    Ok((jar, page(said.status(), &view)?).into_response())
}

/// `GET /admin/messages/{id}`: the delivery slip.
pub(super) async fn slip(
    State(state): State<AppState>,
    jar: CookieJar,
    Staff(session): Staff,
    Path(id): Path<String>,
) -> Result<Response, ConsoleError> {
    let m = of_tenant(&state, &session, &id).await?;
    show_slip(&state, jar, &session, &m, Ok("")).await
}

/// `POST /admin/messages/{id}/recall`
pub(super) async fn recall(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(id): Path<String>,
    AdminForm(session, _): AdminForm<CsrfOnly>,
) -> Result<Response, ConsoleError> {
    let m = of_tenant(&state, &session, &id).await?;
    let outcome = if tracking::recall(&state, &m, &session.email).await? {
        Ok("Recalled: nobody can open the message any more.")
    } else {
        Err("The message was recalled already.")
    };
    let m = of_tenant(&state, &session, &id).await?;
    show_slip(&state, jar, &session, &m, outcome).await
}

#[derive(Deserialize)]
pub(super) struct ExpiryForm {
    csrf: String,
    /// `YYYY-MM-DD` (the message expires at the end of that day, UTC), or empty for never.
    #[serde(default)]
    day: String,
}
csrf_field!(ExpiryForm);

/// `POST /admin/messages/{id}/expiry`
pub(super) async fn expiry(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(id): Path<String>,
    AdminForm(session, form): AdminForm<ExpiryForm>,
) -> Result<Response, ConsoleError> {
    let m = of_tenant(&state, &session, &id).await?;
    if m.recalled_at.is_some() {
        return show_slip(&state, jar, &session, &m, Err("A recalled message stays recalled."))
            .await;
    }
    let expires_at = match form.day.trim() {
        "" => None,
        d => match day_start(d) {
            Some(start) => Some(start + DAY_MS),
            None => {
                return show_slip(&state, jar, &session, &m, Err("Give the day as YYYY-MM-DD."))
                    .await;
            }
        },
    };
    tracking::change_expiry(&state, &m, expires_at, &session.email).await?;
    let m = of_tenant(&state, &session, &id).await?;
    show_slip(&state, jar, &session, &m, Ok("The expiry is changed.")).await
}

#[derive(Deserialize)]
pub(super) struct ReviewForm {
    csrf: String,
    reason: String,
}
csrf_field!(ReviewForm);

struct AttachmentRow {
    name: String,
    size: String,
}

#[derive(Template)]
#[template(path = "console/review.html")]
struct ReviewPage<'a> {
    nav: Nav<'a>,
    id: &'a str,
    reason: &'a str,
    subject: String,
    from: String,
    to: String,
    cc: String,
    date: String,
    body_html: Option<String>,
    body_text: String,
    attachments: Vec<AttachmentRow>,
}

/// A compliance officer's access to message `id` of their organisation, put on record as
/// `action` with the stated reason before a byte is decrypted: the message and the reason. A
/// refused form is the slip again, saying why (`ConsoleError::Page`).
async fn on_record(
    state: &AppState,
    jar: CookieJar,
    session: &ConsoleSession,
    id: &str,
    form: &ReviewForm,
    action: &str,
) -> Result<(MessageRow, String), ConsoleError> {
    if session.role != Role::Compliance {
        return Err(ConsoleError::AdminsOnly);
    }
    let m = of_tenant(state, session, id).await?;
    let reason = form.reason.trim();
    let chars = reason.chars().count();
    let why = if !(MIN_REASON_CHARS..=MAX_REASON_CHARS).contains(&chars) {
        format!(
            "State why you open this message ({MIN_REASON_CHARS} to {MAX_REASON_CHARS} characters): it is recorded in the audit log."
        )
    } else if !m.is_final() {
        "The message was never completed.".into()
    } else {
        let detail = format!("{} reason: {reason}", m.id);
        audit::append(&state.db, Some(m.tenant_id), &session.email, action, &detail).await?;
        return Ok((m, reason.to_string()));
    };
    let slip = show_slip(state, jar, session, &m, Err(&why)).await?;
    Err(ConsoleError::Page(Box::new(slip)))
}

/// `POST /admin/messages/{id}/export`: a compliance officer downloads the message, decrypted,
/// as a ZIP — what `admin export-message` writes into a folder — with the reason recorded
/// first.
pub(super) async fn export(
    State(state): State<AppState>,
    jar: CookieJar,
    Staff(session): Staff,
    Path(id): Path<String>,
    ConsoleForm(form): ConsoleForm<ReviewForm>,
) -> Result<Response, ConsoleError> {
    let action = "compliance.message_exported";
    let (m, _) = on_record(&state, jar, &session, &id, &form, action).await?;
    let stored_message = StoredMessage::open(&state, &m).await.map_err(ConsoleError::internal)?;
    let manifest = stored_message.manifest(&state).await.map_err(ConsoleError::internal)?;
    let entries = crate::admin::export::entries(&manifest);
    let body = crate::admin::export::zip(state, std::sync::Arc::new(stored_message), entries);
    let disposition = format!("attachment; filename=\"message-{}.zip\"", m.id);
    Ok((
        [
            (header::CONTENT_TYPE, "application/zip".to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        axum::body::Body::from_stream(body),
    )
        .into_response())
}

/// `POST /admin/messages/{id}/review`: a compliance officer opens the message, decrypted,
/// read-only, with the reason recorded first.
pub(super) async fn review(
    State(state): State<AppState>,
    jar: CookieJar,
    Staff(session): Staff,
    Path(id): Path<String>,
    ConsoleForm(form): ConsoleForm<ReviewForm>,
) -> Result<Response, ConsoleError> {
    let action = "compliance.message_opened";
    let (m, reason) = on_record(&state, jar.clone(), &session, &id, &form, action).await?;
    let reason = reason.as_str();
    let stored_message = StoredMessage::open(&state, &m).await.map_err(ConsoleError::internal)?;
    let manifest = stored_message.manifest(&state).await.map_err(ConsoleError::internal)?;
    let (body_html, body_text) = match manifest.body.html.clone() {
        Some(html) => {
            let key = format!("compliance:{}", m.id);
            match &*safe_body(&key, html, Default::default()).await {
                SafeBody::Html(h) => (Some(h.clone()), String::new()),
                SafeBody::Text { text, .. } => (None, text.clone()),
            }
        }
        None => (None, manifest.body.text.clone().unwrap_or_default()),
    };
    let meta = &manifest.metadata;
    let (jar, csrf) = csrf_token(jar);
    let view = ReviewPage {
        nav: Nav::of(&session, &csrf),
        id: &m.id,
        reason,
        subject: display::line(&meta.subject),
        from: display::line(&meta.from),
        to: display::line(&meta.to.join(", ")),
        cc: display::line(&meta.cc.join(", ")),
        date: meta.date.clone(),
        body_html,
        body_text,
        attachments: manifest
            .attachments
            .iter()
            .map(|a| AttachmentRow { name: display::file_name(&a.name), size: human_size(a.size) })
            .collect(),
    };
    Ok((jar, page(StatusCode::OK, &view)?).into_response())
}
