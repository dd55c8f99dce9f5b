//! Signing in to the console: address, password and the code of the second factor, in one
//! form. Only administrators, compliance officers and the platform's operators get in. Someone without a second factor
//! yet gets a session that can only set one up (`enrol`): the console is never open on a
//! password alone. Wrong answers count towards the account's lockout, and every attempt
//! towards the client's sign-in limit, as at the API.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;
use zeroize::Zeroizing;

use super::SESSION_COOKIE;
use super::error::{ConsoleError, page};
use super::extract::{AnonymousForm, ConsoleForm, CsrfOnly, Enrolling, current};
use crate::center::extract::csrf_field;
use crate::center::{cookie, csrf_token};
use crate::db::now_ms;
use crate::domain::{EmailAddress, Role};
use crate::state::AppState;
use crate::store::accounts::{self, LoginRefused};
use crate::store::totp::{self, Enrolment, Owner};
use crate::store::{audit, console_sessions};

#[derive(Template)]
#[template(path = "console/signin.html")]
struct SignInPage<'a> {
    csrf: &'a str,
    email: &'a str,
    problem: Option<&'a str>,
}

/// `GET /admin/signin`
pub(super) async fn sign_in_page(
    State(state): State<AppState>,
    jar: CookieJar,
) -> Result<Response, ConsoleError> {
    if current(&state, &jar).await?.is_some() {
        return Ok(Redirect::to("/admin").into_response());
    }
    let (jar, csrf) = csrf_token(jar);
    let view = SignInPage { csrf: &csrf, email: "", problem: None };
    Ok((jar, page(StatusCode::OK, &view)?).into_response())
}

#[derive(Deserialize)]
pub(super) struct SignInForm {
    csrf: String,
    email: String,
    password: Zeroizing<String>,
    #[serde(default)]
    code: String,
}
csrf_field!(SignInForm);

/// `POST /admin/signin`
pub(super) async fn sign_in(
    State(state): State<AppState>,
    jar: CookieJar,
    AnonymousForm(form): AnonymousForm<SignInForm>,
) -> Result<Response, ConsoleError> {
    let again = |status: StatusCode, problem: &str| -> Result<Response, ConsoleError> {
        let email = form.email.chars().take(EmailAddress::MAX_LEN).collect::<String>();
        page(status, &SignInPage { csrf: &form.csrf, email: &email, problem: Some(problem) })
    };
    const WRONG: &str = "Wrong address, password or code.";
    let Ok(email) = EmailAddress::parse(&form.email) else {
        return again(StatusCode::UNAUTHORIZED, WRONG);
    };
    if form.password.len() > crate::routes::account::MAX_PASSWORD_BYTES {
        return again(StatusCode::UNAUTHORIZED, WRONG);
    }
    let code = Some(form.code.trim()).filter(|c| !c.is_empty());
    let outcome =
        accounts::verify_login(&state.db, &state.master, &email, form.password.clone(), code)
            .await?;
    let user = match outcome {
        Ok(user) => user,
        Err(LoginRefused::TotpRequired) => {
            return again(
                StatusCode::UNAUTHORIZED,
                "Enter the code from your authenticator app as well.",
            );
        }
        Err(LoginRefused::BadCredentials) => {
            // In the member's organisation's log, when the address is a member's: its
            // administrators see attempts on their accounts.
            let tenant = accounts::user_by_email(&state.db, &email).await?.map(|(_, t)| t);
            audit::append(&state.db, tenant, email.as_str(), "console.sign_in_failed", "").await?;
            return again(StatusCode::UNAUTHORIZED, WRONG);
        }
        Err(LoginRefused::Locked { until }) => {
            let minutes = ((until - now_ms()) / 60_000).max(1);
            let why = format!("Too many failed sign-ins: try again in {minutes} minutes.");
            return again(StatusCode::TOO_MANY_REQUESTS, &why);
        }
    };
    if user.role == Role::Sender && !accounts::is_operator(&state.db, user.user_id).await? {
        return again(
            StatusCode::FORBIDDEN,
            "The console is for your organisation's administrators and compliance officers.",
        );
    }
    let enrolled = totp::enabled(&state.db, Owner::User(user.user_id)).await?;
    let token = console_sessions::start(&state.db, user.user_id, enrolled).await?;
    let detail = if enrolled { "" } else { "second factor still to set up" };
    audit::append(&state.db, Some(user.tenant_id), &user.email, "console.signed_in", detail)
        .await?;
    let jar = jar.add(cookie(SESSION_COOKIE, token.to_string()));
    Ok((jar, Redirect::to(if enrolled { "/admin" } else { "/admin/enrol" })).into_response())
}

/// `POST /admin/signout`
pub(super) async fn sign_out(
    State(state): State<AppState>,
    jar: CookieJar,
    ConsoleForm(_): ConsoleForm<CsrfOnly>,
) -> Result<Response, ConsoleError> {
    if let Some(c) = jar.get(SESSION_COOKIE) {
        console_sessions::end(&state.db, c.value()).await?;
    }
    let jar = jar.remove(cookie(SESSION_COOKIE, String::new()));
    Ok((jar, Redirect::to("/admin/signin")).into_response())
}

#[derive(Template)]
#[template(path = "console/enrol.html")]
struct EnrolPage<'a> {
    csrf: &'a str,
    email: &'a str,
    enrolment: &'a Enrolment,
    problem: Option<&'a str>,
}

/// The key to add to the authenticator — the one begun, else a new one — shown with
/// `problem` (a wrong first code).
async fn show_enrolment(
    state: &AppState,
    jar: CookieJar,
    email: &str,
    user_id: i64,
    problem: Option<&str>,
) -> Result<Response, ConsoleError> {
    let (db, master, owner) = (&state.db, &state.master, Owner::User(user_id));
    let enrolment = match totp::pending(db, master, owner, email).await? {
        Some(e) => e,
        None => totp::begin(db, master, owner, email)
            .await?
            .ok_or_else(|| ConsoleError::Redirect("/admin".into()))?,
    };
    let (jar, csrf) = csrf_token(jar);
    let status = if problem.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    let view = EnrolPage { csrf: &csrf, email, enrolment: &enrolment, problem };
    Ok((jar, page(status, &view)?).into_response())
}

/// `GET /admin/enrol`: the key for the authenticator.
pub(super) async fn enrol_page(
    State(state): State<AppState>,
    jar: CookieJar,
    Enrolling(session): Enrolling,
) -> Result<Response, ConsoleError> {
    show_enrolment(&state, jar, &session.email, session.user_id, None).await
}

#[derive(Deserialize)]
pub(super) struct CodeForm {
    csrf: String,
    code: String,
}
csrf_field!(CodeForm);

/// `POST /admin/enrol`: the first code confirms the factor, and the session opens.
pub(super) async fn enrol(
    State(state): State<AppState>,
    jar: CookieJar,
    Enrolling(session): Enrolling,
    ConsoleForm(form): ConsoleForm<CodeForm>,
) -> Result<Response, ConsoleError> {
    let owner = Owner::User(session.user_id);
    if !totp::check(&state.db, &state.master, owner, &form.code).await? {
        let problem = "That code is not right. Check that the key below is the one in your \
                       authenticator app, and enter the code it shows now.";
        return show_enrolment(&state, jar, &session.email, session.user_id, Some(problem)).await;
    }
    totp::set_enabled(&state.db, owner, true).await?;
    let token = jar.get(SESSION_COOKIE).map(|c| c.value().to_string()).unwrap_or_default();
    console_sessions::mark_enrolled(&state.db, &token).await?;
    let tenant = Some(session.tenant_id);
    audit::append(&state.db, tenant, &session.email, "member.second_factor_enrolled", "").await?;
    Ok(Redirect::to("/admin").into_response())
}
