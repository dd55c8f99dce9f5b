//! A person's preferences in the Message Center: their password (chosen, or changed with the
//! current one) and two-step sign-in with an authenticator app (TOTP, the same factor as
//! platform users'; turned on only with a first code it shows, off only with a current code).

use askama::Template;
use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;
use zeroize::Zeroizing;

use super::first_contact::password_problem;
use super::{CsrfOnly, csrf_token, internal, page, require_session, signed_in_post};
use crate::state::AppState;
use crate::store::totp::{self, Enrolment, Owner};
use crate::store::{audit, center};

#[derive(Template)]
#[template(path = "center/preferences.html")]
struct Preferences<'a> {
    email: &'a str,
    csrf: &'a str,
    has_password: bool,
    totp_on: bool,
    enrolment: Option<Enrolment>,
    done: Option<&'a str>,
    problem: Option<&'a str>,
}

/// The page, as it stands for `email`, with what just happened.
async fn show(
    state: &AppState,
    email: &str,
    csrf: &str,
    status: StatusCode,
    outcome: Result<&str, &str>,
    enrolment: Option<Enrolment>,
) -> Response {
    let has_password = match center::has_password(&state.db, email).await {
        Ok(v) => v,
        Err(e) => return internal(e),
    };
    let totp_on = match totp::enabled(&state.db, Owner::Recipient(email)).await {
        Ok(v) => v,
        Err(e) => return internal(e),
    };
    let (done, problem) = match outcome {
        Ok("") => (None, None),
        Ok(done) => (Some(done), None),
        Err(problem) => (None, Some(problem)),
    };
    let view = Preferences { email, csrf, has_password, totp_on, enrolment, done, problem };
    page(status, &view)
}

pub(super) async fn preferences(State(state): State<AppState>, jar: CookieJar) -> Response {
    let email = match require_session(&state, &jar).await {
        Ok(e) => e,
        Err(r) => return r,
    };
    let (jar, csrf) = csrf_token(jar);
    (jar, show(&state, &email, &csrf, StatusCode::OK, Ok(""), None).await).into_response()
}

#[derive(Deserialize)]
pub(super) struct PasswordChange {
    csrf: String,
    #[serde(default)]
    current: String,
    password: String,
    confirm: String,
}

pub(super) async fn change_password(
    State(state): State<AppState>,
    jar: CookieJar,
    Form(req): Form<PasswordChange>,
) -> Response {
    let email = match signed_in_post(&state, &jar, &req.csrf).await {
        Ok(e) => e,
        Err(r) => return r,
    };
    let refused =
        |problem| show(&state, &email, &req.csrf, StatusCode::BAD_REQUEST, Err(problem), None);
    if let Some(problem) = password_problem(&req.password, &req.confirm) {
        return refused(problem).await;
    }
    let has_password = match center::has_password(&state.db, &email).await {
        Ok(v) => v,
        Err(e) => return internal(e),
    };
    if has_password {
        let current = Zeroizing::new(req.current.clone());
        match center::check_password(&state.db, &email, current).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return refused("The current password is wrong.").await,
            Err(e) => return internal(e),
        }
    }
    if let Err(e) =
        center::set_password(&state.db, &email, Zeroizing::new(req.password.clone())).await
    {
        return internal(e);
    }
    let _ = audit::append(&state.db, None, &email, "recipient.password_changed", "").await;
    show(&state, &email, &req.csrf, StatusCode::OK, Ok("Your new password is saved."), None).await
}

pub(super) async fn begin_totp(
    State(state): State<AppState>,
    jar: CookieJar,
    Form(req): Form<CsrfOnly>,
) -> Response {
    let email = match signed_in_post(&state, &jar, &req.csrf).await {
        Ok(e) => e,
        Err(r) => return r,
    };
    match center::has_password(&state.db, &email).await {
        Ok(true) => {}
        Ok(false) => {
            let problem = Err("Choose a password first.");
            return show(&state, &email, &req.csrf, StatusCode::BAD_REQUEST, problem, None).await;
        }
        Err(e) => return internal(e),
    }
    match totp::begin(&state.db, &state.master, Owner::Recipient(&email), &email).await {
        Ok(enrolment) => show(&state, &email, &req.csrf, StatusCode::OK, Ok(""), enrolment).await,
        Err(e) => internal(e),
    }
}

#[derive(Deserialize)]
pub(super) struct TotpCode {
    csrf: String,
    code: String,
}

/// Turns two-step sign-in on (`on`, with the first code of a new enrolment) or off (with a
/// current code).
async fn switch_totp(state: &AppState, jar: &CookieJar, req: &TotpCode, on: bool) -> Response {
    let email = match signed_in_post(state, jar, &req.csrf).await {
        Ok(e) => e,
        Err(r) => return r,
    };
    let owner = Owner::Recipient(&email);
    let right = match totp::check(&state.db, &state.master, owner, &req.code).await {
        Ok(v) => v,
        Err(e) => return internal(e),
    };
    if !right {
        let problem = if on {
            "That code is not right. Check the key in your app and the phone's clock, then set it up again."
        } else {
            "That code is not right. Two-step sign-in stays on."
        };
        return show(state, &email, &req.csrf, StatusCode::UNAUTHORIZED, Err(problem), None).await;
    }
    if let Err(e) = totp::set_enabled(&state.db, owner, on).await {
        return internal(e);
    }
    let action = if on { "recipient.totp_enabled" } else { "recipient.totp_disabled" };
    let _ = audit::append(&state.db, None, &email, action, "").await;
    let done = if on { "Two-step sign-in is on." } else { "Two-step sign-in is off." };
    show(state, &email, &req.csrf, StatusCode::OK, Ok(done), None).await
}

pub(super) async fn confirm_totp(
    State(state): State<AppState>,
    jar: CookieJar,
    Form(req): Form<TotpCode>,
) -> Response {
    switch_totp(&state, &jar, &req, true).await
}

pub(super) async fn disable_totp(
    State(state): State<AppState>,
    jar: CookieJar,
    Form(req): Form<TotpCode>,
) -> Response {
    switch_totp(&state, &jar, &req, false).await
}
