//! A person's preferences in the Message Center: their password (changed with the current
//! one; chosen, by an account that has none, only right after a mailed code) and two-step
//! sign-in with an authenticator app (TOTP, the same factor as platform users'; set up only
//! with the current password and then a first code it shows, turned off only with the
//! current password and a current code). A wrong current password counts towards the
//! sign-in lockout, and every change ends the account's other sessions: a session left open
//! on a borrowed computer cannot become a takeover.

use askama::Template;
use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;
use zeroize::Zeroizing;

use super::first_contact::password_problem;
use super::{
    csrf_token, current_session, end_other_sessions, internal, page, require_session,
    signed_in_post,
};
use crate::state::AppState;
use crate::store::totp::{self, Enrolment, Owner};
use crate::store::{audit, center, lockouts};

/// What a wrong (or locked-out) current password is told.
const WRONG_CURRENT: &str = "The current password is wrong (or, after several wrong ones, \
                             locked for a while).";

/// Whether `current` is `email`'s password: false while the address is locked out, and a
/// wrong one counts towards the lockout as at sign-in.
async fn current_password_ok(
    state: &AppState,
    email: &str,
    current: &str,
) -> Result<bool, Response> {
    let scope = lockouts::Scope::CenterSignIn;
    if lockouts::locked_until(&state.db, scope, email).await.map_err(internal)?.is_some() {
        return Ok(false);
    }
    let current = Zeroizing::new(current.to_string());
    let right = current.len() <= 1024
        && center::check_password(&state.db, email, current).await.map_err(internal)?;
    if !right {
        lockouts::failed(&state.db, scope, email).await.map_err(internal)?;
    }
    Ok(right)
}

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
        match current_password_ok(&state, &email, &req.current).await {
            Ok(true) => {}
            Ok(false) => return refused(WRONG_CURRENT).await,
            Err(r) => return r,
        }
    } else {
        // No password yet: only a session a mailed code just began may choose one.
        match current_session(&state, &jar).await {
            Ok(Some(s)) if s.freshly_proved_by_code() => {}
            Ok(_) => return refused(NEEDS_FRESH_CODE).await,
            Err(r) => return r,
        }
    }
    if let Err(e) =
        center::set_password(&state.db, &email, Zeroizing::new(req.password.clone())).await
    {
        return internal(e);
    }
    if let Err(r) = end_other_sessions(&state, &jar, &email).await {
        return r;
    }
    let _ = audit::append(&state.db, None, &email, "recipient.password_changed", "").await;
    show(&state, &email, &req.csrf, StatusCode::OK, Ok("Your new password is saved."), None).await
}

/// What choosing a first password long after the mailed code is told.
const NEEDS_FRESH_CODE: &str = "To choose a password, sign in with a new code from your email \
                                first (open the link from your email and ask for a code).";

#[derive(Deserialize)]
pub(super) struct WithPassword {
    csrf: String,
    #[serde(default)]
    current: String,
}

pub(super) async fn begin_totp(
    State(state): State<AppState>,
    jar: CookieJar,
    Form(req): Form<WithPassword>,
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
    match current_password_ok(&state, &email, &req.current).await {
        Ok(true) => {}
        Ok(false) => {
            let problem = Err(WRONG_CURRENT);
            return show(&state, &email, &req.csrf, StatusCode::UNAUTHORIZED, problem, None).await;
        }
        Err(r) => return r,
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
    /// The current password: asked to turn it off (turning it on asked at the start).
    #[serde(default)]
    current: String,
}

/// Turns two-step sign-in on (`on`, with the first code of a new enrolment) or off (with the
/// current password and a current code).
async fn switch_totp(state: &AppState, jar: &CookieJar, req: &TotpCode, on: bool) -> Response {
    let email = match signed_in_post(state, jar, &req.csrf).await {
        Ok(e) => e,
        Err(r) => return r,
    };
    if !on {
        match current_password_ok(state, &email, &req.current).await {
            Ok(true) => {}
            Ok(false) => {
                let problem = Err(WRONG_CURRENT);
                return show(state, &email, &req.csrf, StatusCode::UNAUTHORIZED, problem, None)
                    .await;
            }
            Err(r) => return r,
        }
    }
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
    if let Err(r) = end_other_sessions(state, jar, &email).await {
        return r;
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
