//! A person's preferences in the Message Center: the time zone dates are shown in; their
//! password (changed with the current
//! one; chosen, by an account that has none, only right after a mailed code) and two-step
//! sign-in with an authenticator app (TOTP, the same factor as platform users'; set up only
//! with the current password and then a first code it shows, turned off only with the
//! current password and a current code). A wrong current password counts towards the
//! sign-in lockout, and every change ends the account's other sessions: a session left open
//! on a borrowed computer cannot become a takeover.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;
use zeroize::Zeroizing;

use super::error::{CenterError, page};
use super::extract::{Reader, SignedInForm, csrf_field};
use super::first_contact::password_problem;
use super::language::{Phrase, Tr};
use super::{csrf_token, end_other_sessions};
use crate::state::AppState;
use crate::store::totp::{self, Enrolment, Owner};
use crate::store::{audit, center, lockouts};

/// What a wrong (or locked-out) current password is told.
const WRONG_CURRENT: Phrase = Phrase("wrong-current-password");

/// Whether `current` is `email`'s password: false while the address is locked out, and a
/// wrong one counts towards the lockout as at sign-in.
async fn current_password_ok(
    state: &AppState,
    email: &str,
    current: &str,
) -> Result<bool, CenterError> {
    let scope = lockouts::Scope::CenterSignIn;
    if lockouts::locked_until(&state.db, scope, email).await?.is_some() {
        return Ok(false);
    }
    let current = Zeroizing::new(current.to_string());
    let right = current.len() <= 1024 && center::check_password(&state.db, email, current).await?;
    if !right {
        lockouts::failed(&state.db, scope, email).await?;
    }
    Ok(right)
}

#[derive(Template)]
#[template(path = "center/preferences.html")]
struct Preferences<'a> {
    t: &'a Tr,
    email: &'a str,
    csrf: &'a str,
    has_password: bool,
    totp_on: bool,
    /// The time zone chosen (UTC when none) and those to choose from.
    zone: String,
    zones: &'static [String],
    enrolment: Option<Enrolment>,
    done: Option<Phrase>,
    problem: Option<Phrase>,
}

/// The page, as it stands for `email`, with what just happened (`Ok(None)`: nothing yet).
async fn show(
    state: &AppState,
    t: &Tr,
    email: &str,
    csrf: &str,
    status: StatusCode,
    outcome: Result<Option<Phrase>, Phrase>,
    enrolment: Option<Enrolment>,
) -> Result<Response, CenterError> {
    let has_password = center::has_password(&state.db, email).await?;
    let totp_on = totp::enabled(&state.db, Owner::Recipient(email)).await?;
    let (done, problem) = match outcome {
        Ok(done) => (done, None),
        Err(problem) => (None, Some(problem)),
    };
    let zone = center::time_zone(&state.db, email).await?.unwrap_or_else(|| "UTC".into());
    let zones = if has_password { super::display::zone_names() } else { &[] };
    let view = Preferences {
        t,
        email,
        csrf,
        has_password,
        totp_on,
        zone,
        zones,
        enrolment,
        done,
        problem,
    };
    page(status, &view)
}

pub(super) async fn preferences(
    State(state): State<AppState>,
    t: Tr,
    Reader(me): Reader,
    jar: CookieJar,
) -> Result<Response, CenterError> {
    let (jar, csrf) = csrf_token(jar);
    let page = show(&state, &t, &me.email, &csrf, StatusCode::OK, Ok(None), None).await?;
    Ok((jar, page).into_response())
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
    t: Tr,
    jar: CookieJar,
    SignedInForm(me, req): SignedInForm<PasswordChange>,
) -> Result<Response, CenterError> {
    let email = me.email.as_str();
    let refused =
        |problem| show(&state, &t, email, &req.csrf, StatusCode::BAD_REQUEST, Err(problem), None);
    if let Some(problem) = password_problem(&req.password, &req.confirm) {
        return refused(problem).await;
    }
    if center::has_password(&state.db, email).await? {
        if !current_password_ok(&state, email, &req.current).await? {
            return refused(WRONG_CURRENT).await;
        }
    } else if !me.freshly_proved_by_code() {
        // No password yet: only a session a mailed code just began may choose one.
        return refused(NEEDS_FRESH_CODE).await;
    }
    center::set_password(&state.db, email, Zeroizing::new(req.password.clone())).await?;
    end_other_sessions(&state, &jar, email).await?;
    let _ = audit::append(&state.db, None, email, "recipient.password_changed", "").await;
    let done = Ok(Some(Phrase("password-saved")));
    show(&state, &t, email, &req.csrf, StatusCode::OK, done, None).await
}

/// What a reader without a password is told where one is needed first.
const PASSWORD_FIRST: Phrase = Phrase("password-first");

/// What choosing a first password long after the mailed code is told.
const NEEDS_FRESH_CODE: Phrase = Phrase("needs-fresh-code");

#[derive(Deserialize)]
pub(super) struct WithPassword {
    csrf: String,
    #[serde(default)]
    current: String,
}

pub(super) async fn begin_totp(
    State(state): State<AppState>,
    t: Tr,
    SignedInForm(me, req): SignedInForm<WithPassword>,
) -> Result<Response, CenterError> {
    let email = me.email.as_str();
    if !center::has_password(&state.db, email).await? {
        let problem = Err(PASSWORD_FIRST);
        return show(&state, &t, email, &req.csrf, StatusCode::BAD_REQUEST, problem, None).await;
    }
    if !current_password_ok(&state, email, &req.current).await? {
        let problem = Err(WRONG_CURRENT);
        return show(&state, &t, email, &req.csrf, StatusCode::UNAUTHORIZED, problem, None).await;
    }
    let enrolment = totp::begin(&state.db, &state.master, Owner::Recipient(email), email).await?;
    show(&state, &t, email, &req.csrf, StatusCode::OK, Ok(None), enrolment).await
}

#[derive(Deserialize)]
pub(super) struct TotpCode {
    csrf: String,
    code: String,
    /// The current password: asked to turn it off (turning it on asked at the start).
    #[serde(default)]
    current: String,
}

#[derive(Deserialize)]
pub(super) struct ZoneChoice {
    csrf: String,
    zone: String,
}

csrf_field!(PasswordChange, WithPassword, TotpCode, ZoneChoice);

/// `POST /c/preferences/time-zone`: the time zone dates are shown in.
pub(super) async fn set_time_zone(
    State(state): State<AppState>,
    t: Tr,
    SignedInForm(me, req): SignedInForm<ZoneChoice>,
) -> Result<Response, CenterError> {
    let email = me.email.as_str();
    let zone = req.zone.trim();
    if zone.len() > 64 || !super::display::is_zone(zone) {
        let problem = Err(Phrase("zone-from-list"));
        return show(&state, &t, email, &req.csrf, StatusCode::BAD_REQUEST, problem, None).await;
    }
    let chosen = if zone == "UTC" { None } else { Some(zone) };
    if !center::set_time_zone(&state.db, email, chosen).await? {
        let problem = Err(PASSWORD_FIRST);
        return show(&state, &t, email, &req.csrf, StatusCode::BAD_REQUEST, problem, None).await;
    }
    let done = Ok(Some(Phrase("zone-saved")));
    show(&state, &t, email, &req.csrf, StatusCode::OK, done, None).await
}

/// Turns two-step sign-in on (`on`, with the first code of a new enrolment) or off (with the
/// current password and a current code) for the signed-in `email`.
async fn switch_totp(
    state: &AppState,
    t: &Tr,
    jar: &CookieJar,
    email: &str,
    req: &TotpCode,
    on: bool,
) -> Result<Response, CenterError> {
    if !on && !current_password_ok(state, email, &req.current).await? {
        let problem = Err(WRONG_CURRENT);
        return show(state, t, email, &req.csrf, StatusCode::UNAUTHORIZED, problem, None).await;
    }
    let owner = Owner::Recipient(email);
    if !totp::check(&state.db, &state.master, owner, &req.code).await? {
        let problem =
            if on { Phrase("totp-wrong-first-code") } else { Phrase("totp-wrong-code-stays-on") };
        return show(state, t, email, &req.csrf, StatusCode::UNAUTHORIZED, Err(problem), None)
            .await;
    }
    totp::set_enabled(&state.db, owner, on).await?;
    end_other_sessions(state, jar, email).await?;
    let action = if on { "recipient.totp_enabled" } else { "recipient.totp_disabled" };
    let _ = audit::append(&state.db, None, email, action, "").await;
    let done = if on { Phrase("totp-now-on") } else { Phrase("totp-now-off") };
    show(state, t, email, &req.csrf, StatusCode::OK, Ok(Some(done)), None).await
}

pub(super) async fn confirm_totp(
    State(state): State<AppState>,
    t: Tr,
    jar: CookieJar,
    SignedInForm(me, req): SignedInForm<TotpCode>,
) -> Result<Response, CenterError> {
    switch_totp(&state, &t, &jar, &me.email, &req, true).await
}

pub(super) async fn disable_totp(
    State(state): State<AppState>,
    t: Tr,
    jar: CookieJar,
    SignedInForm(me, req): SignedInForm<TotpCode>,
) -> Result<Response, CenterError> {
    switch_totp(&state, &t, &jar, &me.email, &req, false).await
}
