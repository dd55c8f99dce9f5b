//! The console's guards, as extractors rejecting with a [`ConsoleError`]:
//!
//! - [`SignedIn`]: a console session with the second factor set up, of an administrator, a
//!   compliance officer or an operator; [`Staff`]: of an administrator or a compliance
//!   officer; [`TenantAdmin`]: of an administrator; [`Operator`]: of one of the platform's
//!   operators ([`OperatorForm`] for their forms).
//! - [`Enrolling`]: a session that still has to set up its second factor.
//! - [`ConsoleForm`]: a posted form whose CSRF token is checked first; [`AdminForm`]: then an
//!   administrator's session; [`AnonymousForm`]: then the per-client limit of sign-in forms.
//!
//! A form's token is checked before its session, so a forged post learns nothing.

use axum::extract::{Form, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::response::IntoResponse;
use axum_extra::extract::cookie::CookieJar;
use serde::de::DeserializeOwned;

use super::SESSION_COOKIE;
use super::error::ConsoleError;
use crate::center::extract::{CsrfField, csrf_matches};
use crate::domain::Role;
use crate::state::AppState;
use crate::store::console_sessions::{self, ConsoleSession};

/// The console session of the browser's cookie, if it is live.
pub(super) async fn current(
    state: &AppState,
    jar: &CookieJar,
) -> Result<Option<ConsoleSession>, ConsoleError> {
    match jar.get(SESSION_COOKIE) {
        Some(c) => Ok(console_sessions::get(&state.db, c.value()).await?),
        None => Ok(None),
    }
}

/// The session of a member who may use the console (an administrator, a compliance officer
/// or an operator) whose second factor is set up.
async fn signed_in(state: &AppState, jar: &CookieJar) -> Result<ConsoleSession, ConsoleError> {
    let session = current(state, jar).await?.ok_or(ConsoleError::SignInNeeded)?;
    if !session.enrolled {
        return Err(ConsoleError::EnrolFirst);
    }
    match session.role {
        Role::Admin | Role::Compliance => Ok(session),
        Role::Sender if session.operator => Ok(session),
        Role::Sender => Err(ConsoleError::AdminsOnly),
    }
}

/// The session of an administrator or compliance officer of the organisation (an operator
/// who is neither reaches only the overview and the operators' page).
async fn staff(state: &AppState, jar: &CookieJar) -> Result<ConsoleSession, ConsoleError> {
    let session = signed_in(state, jar).await?;
    match session.role {
        Role::Admin | Role::Compliance => Ok(session),
        Role::Sender => Err(ConsoleError::AdminsOnly),
    }
}

/// Any member's live, enrolled console session (the overview).
pub(super) struct SignedIn(pub(super) ConsoleSession);

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = ConsoleError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ConsoleError> {
        signed_in(state, &CookieJar::from_headers(&parts.headers)).await.map(SignedIn)
    }
}

/// An administrator's or compliance officer's live, enrolled session.
pub(super) struct Staff(pub(super) ConsoleSession);

impl FromRequestParts<AppState> for Staff {
    type Rejection = ConsoleError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ConsoleError> {
        staff(state, &CookieJar::from_headers(&parts.headers)).await.map(Staff)
    }
}

/// An administrator's live, enrolled session.
pub(super) struct TenantAdmin(pub(super) ConsoleSession);

fn admin_only(session: ConsoleSession) -> Result<ConsoleSession, ConsoleError> {
    if session.role == Role::Admin { Ok(session) } else { Err(ConsoleError::AdminsOnly) }
}

impl FromRequestParts<AppState> for TenantAdmin {
    type Rejection = ConsoleError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ConsoleError> {
        let session = staff(state, &CookieJar::from_headers(&parts.headers)).await?;
        admin_only(session).map(TenantAdmin)
    }
}

/// An operator's live, enrolled session: the platform's own pages, across organisations.
pub(super) struct Operator(pub(super) ConsoleSession);

fn operators_only(session: ConsoleSession) -> Result<ConsoleSession, ConsoleError> {
    if session.operator { Ok(session) } else { Err(ConsoleError::AdminsOnly) }
}

impl FromRequestParts<AppState> for Operator {
    type Rejection = ConsoleError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ConsoleError> {
        let session = signed_in(state, &CookieJar::from_headers(&parts.headers)).await?;
        operators_only(session).map(Operator)
    }
}

/// An operator's form post: its CSRF token checked, then the session.
pub(super) struct OperatorForm<T>(pub(super) ConsoleSession, pub(super) T);

impl<T: DeserializeOwned + CsrfField + Send> FromRequest<AppState> for OperatorForm<T> {
    type Rejection = ConsoleError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ConsoleError> {
        let jar = CookieJar::from_headers(req.headers());
        let ConsoleForm(form) = ConsoleForm::<T>::from_request(req, state).await?;
        Ok(OperatorForm(operators_only(signed_in(state, &jar).await?)?, form))
    }
}

/// A live session that must set up its second factor before anything else.
pub(super) struct Enrolling(pub(super) ConsoleSession);

impl FromRequestParts<AppState> for Enrolling {
    type Rejection = ConsoleError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ConsoleError> {
        let jar = CookieJar::from_headers(&parts.headers);
        match current(state, &jar).await? {
            None => Err(ConsoleError::SignInNeeded),
            Some(s) if s.enrolled => Err(ConsoleError::Redirect("/admin".into())),
            Some(s) => Ok(Enrolling(s)),
        }
    }
}

/// A form that carries nothing but its CSRF token (a button).
#[derive(serde::Deserialize)]
pub(super) struct CsrfOnly {
    csrf: String,
}
crate::center::extract::csrf_field!(CsrfOnly);

/// A posted form whose CSRF token is this browser's.
pub(super) struct ConsoleForm<T>(pub(super) T);

impl<T: DeserializeOwned + CsrfField + Send> FromRequest<AppState> for ConsoleForm<T> {
    type Rejection = ConsoleError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ConsoleError> {
        let jar = CookieJar::from_headers(req.headers());
        let Form(form) = Form::<T>::from_request(req, state)
            .await
            .map_err(|r| ConsoleError::Page(Box::new(r.into_response())))?;
        if !csrf_matches(&jar, form.csrf()) {
            return Err(ConsoleError::FormExpired);
        }
        Ok(ConsoleForm(form))
    }
}

/// An administrator's form post: its CSRF token checked, then the session.
pub(super) struct AdminForm<T>(pub(super) ConsoleSession, pub(super) T);

impl<T: DeserializeOwned + CsrfField + Send> FromRequest<AppState> for AdminForm<T> {
    type Rejection = ConsoleError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ConsoleError> {
        let jar = CookieJar::from_headers(req.headers());
        let ConsoleForm(form) = ConsoleForm::<T>::from_request(req, state).await?;
        Ok(AdminForm(admin_only(staff(state, &jar).await?)?, form))
    }
}

/// A form posted without a session (sign-in, a set-password link): its CSRF token checked,
/// then the client's sign-in attempts counted, as the API's and the Center's are.
pub(super) struct AnonymousForm<T>(pub(super) T);

impl<T: DeserializeOwned + CsrfField + Send> FromRequest<AppState> for AnonymousForm<T> {
    type Rejection = ConsoleError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ConsoleError> {
        let client = crate::ratelimit::client_of_request(&req, &state.settings.trusted_proxies)
            .ok_or_else(|| ConsoleError::internal("the server gives no client address"))?;
        let ConsoleForm(form) = ConsoleForm::<T>::from_request(req, state).await?;
        let per_minute = state.settings.sign_in_attempts_per_minute;
        let allowance = crate::ratelimit::sign_in_attempt(&state.db, client, per_minute).await?;
        if allowance != crate::ratelimit::Allowance::Allowed {
            return Err(ConsoleError::TooMany);
        }
        Ok(AnonymousForm(form))
    }
}
