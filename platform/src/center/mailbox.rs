//! The signed-in person's folders: inbox and archive (messages to them, from senders of any
//! tenant), sent (from their mail client through the helper, or replies written here); filing
//! a message, and recalling one they sent.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;

use super::display::date;
use super::error::{CenterError, page};
use super::extract::{Reader, SignedInForm, csrf_field, linked};
use super::language::{Phrase, Tr};
use super::{CsrfOnly, csrf_token, is_recipient, reader_zone};
use crate::db::now_ms;
use crate::state::AppState;
use crate::store::mailbox::{self, Folder};
use crate::store::{PageMark, audit, drafts, messages};

struct Line {
    party: String,
    subject: String,
    date: String,
    href: String,
    status: Option<Phrase>,
    /// Not opened yet by the signed-in reader (inbox and archive).
    unread: bool,
}

#[derive(Template)]
#[template(path = "center/mailbox.html")]
struct Mailbox<'a> {
    t: &'a Tr,
    title: Phrase,
    party_heading: Phrase,
    email: &'a str,
    csrf: &'a str,
    lines: Vec<Line>,
    /// The next page of older messages, when there may be one.
    older: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct Page {
    /// The next page: the messages after this mark (see [`PageMark`]).
    #[serde(default)]
    before: Option<String>,
}

pub(super) async fn folder(
    State(state): State<AppState>,
    t: Tr,
    Reader(me): Reader,
    jar: CookieJar,
    Path(folder): Path<String>,
    Query(page_at): Query<Page>,
) -> Result<Response, CenterError> {
    let email = me.email;
    if folder == "drafts" {
        return drafts_page(&state, &t, jar, &email).await;
    }
    let folder = Folder::parse(&folder).ok_or(CenterError::NotFound)?;
    let before = page_at.before.as_deref().map(str::parse::<PageMark>).transpose();
    let before = before.map_err(|_| CenterError::NotFound)?;
    let rows = mailbox::list(&state.db, &email, folder, before.as_ref(), mailbox::PAGE).await?;
    let now = now_ms();
    let zone = reader_zone(&state, &email).await?;
    let older = (rows.len() as i64 == mailbox::PAGE)
        .then(|| {
            let mark = PageMark::after(rows.last()?);
            Some(format!("/c/mail/{}?before={mark}", folder.as_str()))
        })
        .flatten();
    let mut lines = Vec::with_capacity(rows.len());
    // Senders repeat in a folder: each one's name is looked up once per page.
    let mut names = std::collections::HashMap::new();
    for m in rows {
        let party = if folder == Folder::Sent {
            let recipients = messages::recipients(&state.db, &m.id).await?;
            recipients.into_iter().map(|(e, _)| e).collect::<Vec<_>>().join(", ")
        } else {
            // The sender's name, as their organisation set it, beside the address.
            if !names.contains_key(&m.sender_email) {
                let name = crate::store::members::display_name_of(&state.db, &m.sender_email);
                names.insert(m.sender_email.clone(), name.await?);
            }
            match names.get(&m.sender_email).cloned().flatten() {
                Some(name) => format!("{name} <{}>", m.sender_email),
                None => m.sender_email.clone(),
            }
        };
        let status = if m.recalled_at.is_some() {
            Some(Phrase("status-recalled"))
        } else if m.expires_at.is_some_and(|t| t <= now) {
            Some(Phrase("status-expired"))
        } else {
            None
        };
        let unread =
            folder != Folder::Sent && !messages::opened_by(&state.db, &m.id, &email).await?;
        lines.push(Line {
            party: super::display::line(&party),
            subject: super::display::line(&m.subject),
            date: date(t.lang, m.created_at, &zone, now),
            href: format!("/c/read/{}", m.link_token.as_deref().unwrap_or_default()),
            status,
            unread,
        });
    }
    let (title, party_heading) = match folder {
        Folder::Inbox => (Phrase("folder-inbox"), Phrase("mailbox-from")),
        Folder::Sent => (Phrase("folder-sent"), Phrase("mailbox-to")),
        Folder::Archive => (Phrase("folder-archive"), Phrase("mailbox-from")),
    };
    let (jar, csrf) = csrf_token(jar);
    let view = Mailbox { t: &t, title, party_heading, email: &email, csrf: &csrf, lines, older };
    Ok((jar, page(StatusCode::OK, &view)?).into_response())
}

/// The drafts folder: each draft's subject (opened with its tenant's key), whom it answers.
async fn drafts_page(
    state: &AppState,
    t: &Tr,
    jar: CookieJar,
    email: &str,
) -> Result<Response, CenterError> {
    let rows = drafts::list(&state.db, email).await?;
    let (zone, now) = (reader_zone(state, email).await?, now_ms());
    let mut lines = Vec::with_capacity(rows.len());
    for d in rows {
        let subject = super::reply::unseal_draft(state, email, &d).await?.subject;
        lines.push(Line {
            party: d.original_sender,
            subject,
            date: date(t.lang, d.updated_at, &zone, now),
            href: format!("/c/reply/{}?draft={}", d.link_token.unwrap_or_default(), d.id),
            status: None,
            unread: false,
        });
    }
    let (jar, csrf) = csrf_token(jar);
    let (title, party_heading) = (Phrase("folder-drafts"), Phrase("mailbox-to"));
    let view = Mailbox { t, title, party_heading, email, csrf: &csrf, lines, older: None };
    Ok((jar, page(StatusCode::OK, &view)?).into_response())
}

#[derive(Deserialize)]
pub(super) struct FileRequest {
    csrf: String,
    folder: String,
}

csrf_field!(FileRequest);

/// Files a received message in the inbox or the archive, or deletes it from the recipient's
/// mailbox (the sender's copy and the other recipients' stay).
pub(super) async fn file(
    State(state): State<AppState>,
    Path(link): Path<String>,
    SignedInForm(me, req): SignedInForm<FileRequest>,
) -> Result<Response, CenterError> {
    let email = me.email;
    if !["inbox", "archive", "deleted"].contains(&req.folder.as_str()) {
        return Err(CenterError::NotFound);
    }
    // Any message the link leads to, recalled or expired too: it is filed away all the same.
    let Ok(Some(m)) = messages::by_link(&state.db, &link).await else {
        return Err(CenterError::NotFound);
    };
    if !is_recipient(&state, &m, &email).await? {
        return Err(CenterError::NotFound);
    }
    mailbox::file(&state.db, &m.id, &email, &req.folder).await?;
    let detail = format!("{} {}", m.id, req.folder);
    let _ = audit::append(&state.db, Some(m.tenant_id), &email, "message.filed", &detail).await;
    let next =
        if req.folder == "inbox" { format!("/c/read/{link}") } else { "/c/mail/inbox".into() };
    Ok(Redirect::to(&next).into_response())
}

/// The sender recalls a message from the Center: nobody can open it from now on.
pub(super) async fn recall(
    State(state): State<AppState>,
    Path(link): Path<String>,
    SignedInForm(me, _): SignedInForm<CsrfOnly>,
) -> Result<Response, CenterError> {
    let email = me.email;
    let m = linked(&state, &link).await?;
    if !m.sender_email.eq_ignore_ascii_case(&email) {
        return Err(CenterError::NotFound);
    }
    crate::messages::tracking::recall(&state, &m, &email).await?;
    Ok(Redirect::to("/c/mail/sent").into_response())
}
