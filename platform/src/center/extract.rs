//! The Center's extractors: the guards a handler would otherwise open with, each rejecting
//! with a [`CenterError`].
//!
//! - [`Reader`]: a signed-in session (else to the sign-in page, which says so when the
//!   browser's session has ended); as `Option<Reader>`, the session if there is one.
//! - [`CsrfForm`], [`SignedInForm`], [`AnonymousForm`]: a posted form (`Form<T>`, read once)
//!   whose CSRF token is checked — and then the session, or the per-client limit of sign-in
//!   and code forms. A multipart form is checked with [`check_csrf`] once it is read.
//! - [`Linked`]: the message of the path's `{link}` (unknown, recalled, expired: its page).
//!   [`Reading`]: that message opened for its signed-in sender or recipient; [`Replying`]:
//!   for a recipient, to answer it.
//!
//! A form post checks its token before anything else is looked up, and its link only after
//! the token (and the session), so a post without them learns nothing about the link: those
//! handlers call [`linked`] themselves rather than take [`Linked`].

use aws_lc_rs::constant_time::verify_slices_are_equal;
use axum::extract::{Form, FromRequest, FromRequestParts, OptionalFromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::response::IntoResponse;
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use sealpost_envelope::Manifest;

use super::error::CenterError;
use super::{CSRF_COOKIE, SESSION_COOKIE, is_recipient, without_session};
use crate::db::now_ms;
use crate::reading::StoredMessage;
use crate::state::AppState;
use crate::store::center::{self, Session};
use crate::store::mailbox as mailbox_store;
use crate::store::messages::{self, MessageRow};

/// The signed-in person's live session (`.0.email` is their address).
pub(super) struct Reader(pub(super) Session);

impl FromRequestParts<AppState> for Reader {
    type Rejection = CenterError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, CenterError> {
        require_session(state, &CookieJar::from_headers(&parts.headers)).await.map(Reader)
    }
}

impl OptionalFromRequestParts<AppState> for Reader {
    type Rejection = CenterError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Option<Self>, CenterError> {
        Ok(current_session(state, &CookieJar::from_headers(&parts.headers)).await?.map(Reader))
    }
}

/// The live session of the browser's cookie, if any.
pub(super) async fn current_session(
    state: &AppState,
    jar: &CookieJar,
) -> Result<Option<Session>, CenterError> {
    match jar.get(SESSION_COOKIE) {
        Some(c) => Ok(center::session(&state.db, c.value()).await?),
        None => Ok(None),
    }
}

/// The live session, or the way to the sign-in page — saying so when the browser still holds
/// a session that has ended.
async fn require_session(state: &AppState, jar: &CookieJar) -> Result<Session, CenterError> {
    match current_session(state, jar).await? {
        Some(session) => Ok(session),
        None if jar.get(SESSION_COOKIE).is_some() => {
            Err(CenterError::SessionEnded(Box::new(without_session(jar.clone()))))
        }
        None => Err(CenterError::SignInNeeded),
    }
}

/// A form that carries the CSRF token of the page it came from.
pub(crate) trait CsrfField {
    /// The token as posted.
    fn csrf(&self) -> &str;
}

/// Implements [`CsrfField`] for form structs with a `csrf: String` field.
macro_rules! csrf_field {
    ($($form:ty),+ $(,)?) => {
        $(impl $crate::center::extract::CsrfField for $form {
            fn csrf(&self) -> &str {
                &self.csrf
            }
        })+
    };
}
pub(crate) use csrf_field;

/// Refuses a token that is not this browser's CSRF cookie (compared in constant time).
pub(super) fn check_csrf(jar: &CookieJar, given: &str) -> Result<(), CenterError> {
    if csrf_matches(jar, given) { Ok(()) } else { Err(CenterError::FormExpired) }
}

/// Whether `given` is this browser's CSRF cookie (compared in constant time). The admin
/// console's forms are checked with it too: one browser, one token.
pub(crate) fn csrf_matches(jar: &CookieJar, given: &str) -> bool {
    jar.get(CSRF_COOKIE)
        .is_some_and(|c| verify_slices_are_equal(c.value().as_bytes(), given.as_bytes()).is_ok())
}

/// A form post whose CSRF token is checked. A body that is not the form is refused as
/// `Form` refuses it.
pub(super) struct CsrfForm<T>(pub(super) T);

impl<T: DeserializeOwned + CsrfField + Send> FromRequest<AppState> for CsrfForm<T> {
    type Rejection = CenterError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, CenterError> {
        let jar = CookieJar::from_headers(req.headers());
        let Form(form) = Form::<T>::from_request(req, state)
            .await
            .map_err(|r| CenterError::Page(Box::new(r.into_response())))?;
        check_csrf(&jar, form.csrf())?;
        Ok(CsrfForm(form))
    }
}

/// A signed-in person's form post: its CSRF token checked, then the session.
pub(super) struct SignedInForm<T>(pub(super) Session, pub(super) T);

impl<T: DeserializeOwned + CsrfField + Send> FromRequest<AppState> for SignedInForm<T> {
    type Rejection = CenterError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, CenterError> {
        let jar = CookieJar::from_headers(req.headers());
        let CsrfForm(form) = CsrfForm::<T>::from_request(req, state).await?;
        Ok(SignedInForm(require_session(state, &jar).await?, form))
    }
}

/// A sign-in or code form post: its CSRF token checked, then the per-client limit.
pub(super) struct AnonymousForm<T>(pub(super) T);

impl<T: DeserializeOwned + CsrfField + Send> FromRequest<AppState> for AnonymousForm<T> {
    type Rejection = CenterError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, CenterError> {
        let client = crate::ratelimit::client_of_request(&req, &state.settings.trusted_proxies)
            .ok_or_else(|| CenterError::internal("the server gives no client address"))?;
        let CsrfForm(form) = CsrfForm::<T>::from_request(req, state).await?;
        let per_minute = state.settings.sign_in_attempts_per_minute;
        let allowance = crate::ratelimit::sign_in_attempt(&state.db, client, per_minute).await?;
        if allowance != crate::ratelimit::Allowance::Allowed {
            return Err(CenterError::TooMany);
        }
        Ok(AnonymousForm(form))
    }
}

/// The path's `{link}` (other parameters of the route are left to the handler).
#[derive(Deserialize)]
struct LinkParam {
    link: String,
}

async fn link_of(parts: &mut Parts, state: &AppState) -> Result<String, CenterError> {
    let Path(LinkParam { link }) =
        <Path<LinkParam> as FromRequestParts<_>>::from_request_parts(parts, state)
            .await
            .map_err(|r| CenterError::Page(Box::new(r.into_response())))?;
    Ok(link)
}

/// The message the path's `{link}` points at, still to be read.
pub(super) struct Linked(pub(super) MessageRow);

impl FromRequestParts<AppState> for Linked {
    type Rejection = CenterError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, CenterError> {
        let link = link_of(parts, state).await?;
        linked(state, &link).await.map(Linked)
    }
}

/// The message `link` points at, or why it cannot be shown (unknown, recalled, expired).
pub(super) async fn linked(state: &AppState, link: &str) -> Result<MessageRow, CenterError> {
    let m = messages::by_link(&state.db, link).await?.ok_or(CenterError::NotFound)?;
    if m.recalled_at.is_some() {
        return Err(CenterError::Recalled);
    }
    if m.expires_at.is_some_and(|t| t <= now_ms()) {
        return Err(CenterError::Expired);
    }
    Ok(m)
}

/// The linked message opened for the signed-in person allowed to read it: its sender or a
/// recipient. Refused (in this order): the link's own page (unknown, recalled, expired); to
/// the link's first page when nobody is signed in; not found for anyone else; to the unlock
/// code first, for a recipient of a message that has one; the damaged-message page.
pub(super) struct Reading {
    /// The message.
    pub m: MessageRow,
    /// Who reads it.
    pub email: String,
    /// Whether they received it (or only sent it).
    pub is_recipient: bool,
    /// Its envelope, opened.
    pub stored: StoredMessage,
    /// Its manifest.
    pub manifest: Manifest,
}

impl FromRequestParts<AppState> for Reading {
    type Rejection = CenterError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, CenterError> {
        let link = link_of(parts, state).await?;
        let m = linked(state, &link).await?;
        let jar = CookieJar::from_headers(&parts.headers);
        let Some(Session { email, .. }) = current_session(state, &jar).await? else {
            return Err(CenterError::redirect(format!("/c/open/{link}")));
        };
        let is_recipient = is_recipient(state, &m, &email).await?;
        let is_sender = m.sender_email.eq_ignore_ascii_case(&email);
        if !is_recipient && !is_sender {
            return Err(CenterError::NotFound);
        }
        if m.unlock_hash.is_some()
            && !is_sender
            && !mailbox_store::unlocked(&state.db, &m.id, &email).await?
        {
            return Err(CenterError::redirect(format!("/c/unlock/{link}")));
        }
        let stored = StoredMessage::open(state, &m).await?;
        let manifest = stored.manifest(state).await?;
        Ok(Reading { m, email, is_recipient, stored, manifest })
    }
}

/// The linked message opened for one of its recipients to answer. Refused as [`Reading`];
/// its sender is sent back to it (they do not reply to their own message).
pub(super) struct Replying(pub(super) Reading);

impl FromRequestParts<AppState> for Replying {
    type Rejection = CenterError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, CenterError> {
        let reading = Reading::from_request_parts(parts, state).await?;
        if !reading.is_recipient {
            let link = link_of(parts, state).await?;
            return Err(CenterError::redirect(format!("/c/read/{link}")));
        }
        Ok(Replying(reading))
    }
}
