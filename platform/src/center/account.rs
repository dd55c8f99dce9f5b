//! Signing in without a message link, signing out, and resetting a forgotten password with a
//! code mailed to the address (which also ends every other session of that address).

use std::net::SocketAddr;

use askama::Template;
use axum::extract::{ConnectInfo, Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;
use zeroize::Zeroizing;

use super::first_contact::{
    SignInRequest, WRONG_CODE, check_sign_in, password_problem, second_factor,
};
use super::{
    CsrfOnly, SESSION_COOKIE, anonymous_post_refusal, csrf_ok, csrf_token, forbidden, internal,
    mail_code, notice, page, signed_in, start_session, without_session,
};
use crate::domain::EmailAddress;
use crate::state::AppState;
use crate::store::center::{self, CodeScope};
use crate::store::{audit, lockouts};

const INBOX: &str = "/c/mail/inbox";

#[derive(Template)]
#[template(path = "center/signin.html")]
struct SignIn<'a> {
    csrf: &'a str,
    problem: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "center/reset.html")]
struct Reset<'a> {
    csrf: &'a str,
    email: Option<&'a str>,
    problem: Option<&'a str>,
}

#[derive(Deserialize)]
pub(super) struct SignInQuery {
    #[serde(default)]
    ended: Option<String>,
}

pub(super) async fn sign_in_page(
    State(state): State<AppState>,
    jar: CookieJar,
    Query(q): Query<SignInQuery>,
) -> Response {
    match signed_in(&state, &jar).await {
        Ok(Some(_)) => return Redirect::to(INBOX).into_response(),
        Ok(None) => {}
        Err(r) => return r,
    }
    let problem = q.ended.is_some().then_some(
        "Your session has ended (after 30 minutes without activity, or 8 hours). Sign in again.",
    );
    let (jar, csrf) = csrf_token(jar);
    (jar, page(StatusCode::OK, &SignIn { csrf: &csrf, problem })).into_response()
}

pub(super) async fn sign_in(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    jar: CookieJar,
    Form(req): Form<SignInRequest>,
) -> Response {
    if let Some(r) = anonymous_post_refusal(&state, peer, &headers, &jar, &req.csrf) {
        return r;
    }
    let csrf = req.csrf.clone();
    let refused =
        |text: &str| page(StatusCode::UNAUTHORIZED, &SignIn { csrf: &csrf, problem: Some(text) });
    match check_sign_in(&state, req, refused).await {
        Ok(email) => {
            start_session(&state, jar, None, (&email, center::Proof::Password), INBOX).await
        }
        Err(r) => r,
    }
}

pub(super) async fn sign_out(
    State(state): State<AppState>,
    jar: CookieJar,
    Form(req): Form<CsrfOnly>,
) -> Response {
    if !csrf_ok(&jar, &req.csrf) {
        return forbidden();
    }
    if let Some(c) = jar.get(SESSION_COOKIE)
        && let Err(e) = center::end_session(&state.db, c.value()).await
    {
        return internal(e);
    }
    let jar = without_session(jar);
    (jar, notice(StatusCode::OK, "You are signed out", "Close this window, or sign in again."))
        .into_response()
}

pub(super) async fn reset_page(jar: CookieJar) -> Response {
    let (jar, csrf) = csrf_token(jar);
    (jar, page(StatusCode::OK, &Reset { csrf: &csrf, email: None, problem: None })).into_response()
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
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    jar: CookieJar,
    Form(req): Form<ResetRequest>,
) -> Response {
    if let Some(r) = anonymous_post_refusal(&state, peer, &headers, &jar, &req.csrf) {
        return r;
    }
    let Ok(email) = EmailAddress::parse(&req.email) else {
        let problem = Some("That is not an email address.");
        return page(StatusCode::BAD_REQUEST, &Reset { csrf: &req.csrf, email: None, problem });
    };
    let email = email.to_string();
    let has_account = match center::has_password(&state.db, &email).await {
        Ok(v) => v,
        Err(e) => return internal(e),
    };
    let mail = (
        "password_reset",
        "Your Sealpost password reset code",
        "choose a new Secure Message Center password",
    );
    let scope = CodeScope::PasswordReset;
    if let Err(r) = mail_code(&state, scope, &email, None, mail, has_account).await {
        return r;
    }
    page(StatusCode::OK, &Reset { csrf: &req.csrf, email: Some(&email), problem: None })
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

pub(super) async fn reset_password(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    jar: CookieJar,
    Form(req): Form<NewPasswordRequest>,
) -> Response {
    if let Some(r) = anonymous_post_refusal(&state, peer, &headers, &jar, &req.csrf) {
        return r;
    }
    let Ok(email) = EmailAddress::parse(&req.email) else {
        return forbidden();
    };
    let email = email.to_string();
    let again = |status: StatusCode, problem: &str| {
        page(status, &Reset { csrf: &req.csrf, email: Some(&email), problem: Some(problem) })
    };
    if let Some(problem) = password_problem(&req.password, &req.confirm) {
        return again(StatusCode::BAD_REQUEST, problem);
    }
    // A reset does not get round the second factor (checked first: the code is single use).
    let good = match second_factor(&state, &email, &req.totp).await {
        Ok(true) => {
            req.code.len() <= 16
                && match center::check_code(&state.db, CodeScope::PasswordReset, &email, &req.code)
                    .await
                {
                    Ok(ok) => ok,
                    Err(e) => return internal(e),
                }
        }
        Ok(false) => false,
        Err(r) => return r,
    };
    if !good {
        return again(StatusCode::UNAUTHORIZED, WRONG_CODE);
    }
    let password = Zeroizing::new(req.password.clone());
    if let Err(e) = center::set_password(&state.db, &email, password).await {
        return internal(e);
    }
    if let Err(e) = center::end_sessions_of(&state.db, &email, None).await {
        return internal(e);
    }
    // The mailbox and the second factor are proved: the run of wrong passwords is over.
    if let Err(e) = lockouts::succeeded(&state.db, lockouts::Scope::CenterSignIn, &email).await {
        return internal(e);
    }
    let _ = audit::append(&state.db, None, &email, "recipient.password_reset", "").await;
    start_session(&state, jar, None, (&email, center::Proof::Code), INBOX).await
}
