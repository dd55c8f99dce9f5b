//! Signing in without a message link, signing out, and resetting a forgotten password with a
//! code mailed to the address (which also ends every other session of that address).

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;
use zeroize::Zeroizing;

use super::error::{CenterError, notice, page};
use super::extract::{AnonymousForm, CsrfForm, Reader, csrf_field};
use super::first_contact::{
    SignInRequest, WRONG_CODE, check_sign_in, password_problem, second_factor,
};
use super::language::{Phrase, Tr};
use super::{CsrfOnly, SESSION_COOKIE, csrf_token, mail_code, start_session, without_session};
use crate::domain::EmailAddress;
use crate::state::AppState;
use crate::store::center::{self, CodeScope};
use crate::store::{audit, lockouts};

const INBOX: &str = "/c/mail/inbox";

#[derive(Template)]
#[template(path = "center/signin.html")]
struct SignIn<'a> {
    t: &'a Tr,
    csrf: &'a str,
    problem: Option<Phrase>,
}

#[derive(Template)]
#[template(path = "center/reset.html")]
struct Reset<'a> {
    t: &'a Tr,
    csrf: &'a str,
    email: Option<&'a str>,
    problem: Option<Phrase>,
}

#[derive(Deserialize)]
pub(super) struct SignInQuery {
    #[serde(default)]
    ended: Option<String>,
}

pub(super) async fn sign_in_page(
    t: Tr,
    reader: Option<Reader>,
    jar: CookieJar,
    Query(q): Query<SignInQuery>,
) -> Result<Response, CenterError> {
    if reader.is_some() {
        return Ok(Redirect::to(INBOX).into_response());
    }
    let problem = q.ended.is_some().then_some(Phrase("session-ended"));
    let (jar, csrf) = csrf_token(jar);
    Ok((jar, page(StatusCode::OK, &SignIn { t: &t, csrf: &csrf, problem })?).into_response())
}

pub(super) async fn sign_in(
    State(state): State<AppState>,
    t: Tr,
    jar: CookieJar,
    AnonymousForm(req): AnonymousForm<SignInRequest>,
) -> Result<Response, CenterError> {
    let csrf = req.csrf.clone();
    let refused = |problem: Phrase| {
        let form = SignIn { t: &t, csrf: &csrf, problem: Some(problem) };
        CenterError::form(StatusCode::UNAUTHORIZED, &form)
    };
    let email = check_sign_in(&state, req, refused).await?;
    start_session(&state, jar, None, (&email, center::Proof::Password), INBOX).await
}

pub(super) async fn sign_out(
    State(state): State<AppState>,
    t: Tr,
    jar: CookieJar,
    CsrfForm(_): CsrfForm<CsrfOnly>,
) -> Result<Response, CenterError> {
    if let Some(c) = jar.get(SESSION_COOKIE) {
        center::end_session(&state.db, c.value()).await?;
    }
    let jar = without_session(jar);
    let (heading, text) = (Phrase("signed-out"), Phrase("signed-out-text"));
    Ok((jar, notice(&t, StatusCode::OK, heading, text)).into_response())
}

pub(super) async fn reset_page(t: Tr, jar: CookieJar) -> Result<Response, CenterError> {
    let (jar, csrf) = csrf_token(jar);
    let form = Reset { t: &t, csrf: &csrf, email: None, problem: None };
    Ok((jar, page(StatusCode::OK, &form)?).into_response())
}

#[derive(Deserialize)]
pub(super) struct ResetRequest {
    csrf: String,
    email: String,
}

/// Mails a reset code to an address that has a password; answers the same either way — the
/// page, the limit of codes an hour, the time — so it tells no one who has an account.
pub(super) async fn send_reset_code(
    State(state): State<AppState>,
    t: Tr,
    AnonymousForm(req): AnonymousForm<ResetRequest>,
) -> Result<Response, CenterError> {
    let Ok(email) = EmailAddress::parse(&req.email) else {
        let problem = Some(Phrase("not-an-address-problem"));
        let form = Reset { t: &t, csrf: &req.csrf, email: None, problem };
        return Err(CenterError::form(StatusCode::BAD_REQUEST, &form));
    };
    let email = email.to_string();
    let has_account = center::has_password(&state.db, &email).await?;
    let mail = (
        "password_reset",
        "Your Sealpost password reset code",
        "choose a new Secure Message Center password",
    );
    mail_code(&state, CodeScope::PasswordReset, &email, None, mail, has_account).await?;
    page(StatusCode::OK, &Reset { t: &t, csrf: &req.csrf, email: Some(&email), problem: None })
}

#[derive(Deserialize)]
pub(super) struct NewPasswordRequest {
    csrf: String,
    email: String,
    code: String,
    password: String,
    confirm: String,
    #[serde(default)]
    totp: String,
}

csrf_field!(ResetRequest, NewPasswordRequest);

pub(super) async fn reset_password(
    State(state): State<AppState>,
    t: Tr,
    jar: CookieJar,
    AnonymousForm(req): AnonymousForm<NewPasswordRequest>,
) -> Result<Response, CenterError> {
    let Ok(email) = EmailAddress::parse(&req.email) else {
        return Err(CenterError::FormExpired);
    };
    let email = email.to_string();
    let again = |status: StatusCode, problem: Phrase| {
        let form = Reset { t: &t, csrf: &req.csrf, email: Some(&email), problem: Some(problem) };
        CenterError::form(status, &form)
    };
    if let Some(problem) = password_problem(&req.password, &req.confirm) {
        return Err(again(StatusCode::BAD_REQUEST, problem));
    }
    // A reset does not get round the second factor (checked first: the code is single use).
    let good = second_factor(&state, &email, &req.totp).await?
        && req.code.len() <= 16
        && center::check_code(&state.db, CodeScope::PasswordReset, &email, &req.code).await?;
    if !good {
        return Err(again(StatusCode::UNAUTHORIZED, WRONG_CODE));
    }
    let password = Zeroizing::new(req.password.clone());
    center::set_password(&state.db, &email, password).await?;
    center::end_sessions_of(&state.db, &email, None).await?;
    // The mailbox and the second factor are proved: the run of wrong passwords is over.
    lockouts::succeeded(&state.db, lockouts::Scope::CenterSignIn, &email).await?;
    let _ = audit::append(&state.db, None, &email, "recipient.password_reset", "").await;
    start_session(&state, jar, None, (&email, center::Proof::Code), INBOX).await
}
