//! The page a set-password link opens (`/admin/password/{token}`): a member — new, or one who
//! forgot their password — chooses a password. No session: the link is the proof, good once
//! for a day (`store::password_links`). Posting counts towards the client's sign-in limit, so
//! links cannot be guessed at speed (they carry 256 random bits in any case).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;
use zeroize::Zeroizing;

use super::error::{ConsoleError, notice, page};
use super::extract::AnonymousForm;
use crate::center::csrf_token;
use crate::center::extract::csrf_field;
use crate::center::first_contact::password_problem;
use crate::state::AppState;
use crate::store::{audit, console_sessions, password_links};

#[derive(Template)]
#[template(path = "console/password.html")]
struct PasswordPage<'a> {
    csrf: &'a str,
    email: &'a str,
    token: &'a str,
    problem: Option<&'a str>,
}

fn link_over() -> Response {
    notice(
        StatusCode::GONE,
        "This link no longer works",
        "A link to choose your password works once, for 24 hours, and only the newest one sent \
         to you. Ask your administrator for a new one.",
    )
}

/// The page for link `token`, with `problem` (a refused password), or the notice that the
/// link is over.
async fn page_for(
    state: &AppState,
    jar: CookieJar,
    token: &str,
    problem: Option<&str>,
) -> Result<Response, ConsoleError> {
    let Some((_, email)) = password_links::member_of(&state.db, token).await? else {
        return Ok(link_over());
    };
    let (jar, csrf) = csrf_token(jar);
    let status = if problem.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    let view = PasswordPage { csrf: &csrf, email: &email, token, problem };
    Ok((jar, page(status, &view)?).into_response())
}

/// `GET /admin/password/{token}`
pub(super) async fn open(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(token): Path<String>,
) -> Result<Response, ConsoleError> {
    page_for(&state, jar, &token, None).await
}

#[derive(Deserialize)]
pub(super) struct ChooseForm {
    csrf: String,
    password: Zeroizing<String>,
    confirm: Zeroizing<String>,
}
csrf_field!(ChooseForm);

/// `POST /admin/password/{token}`
pub(super) async fn choose(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(token): Path<String>,
    AnonymousForm(form): AnonymousForm<ChooseForm>,
) -> Result<Response, ConsoleError> {
    if let Some(problem) = password_problem(&form.password, &form.confirm) {
        // The console is in English; the rule and its words are the Center's.
        let problem = crate::center::language::Lang::En.text(problem.as_ref());
        return page_for(&state, jar, &token, Some(&problem)).await;
    }
    let Some((_, email)) = password_links::member_of(&state.db, &token).await? else {
        return Ok(link_over());
    };
    let Some(user_id) = password_links::use_link(&state.db, &token, form.password).await? else {
        return Ok(link_over());
    };
    console_sessions::end_all_of(&state.db, user_id).await?;
    let tenant = crate::store::accounts::tenant_of(&state.db, user_id).await?;
    audit::append(&state.db, Some(tenant), &email, "member.password_set", "by link").await?;
    Ok(notice(
        StatusCode::OK,
        "Your password is set",
        "Sign in with it in your mail client's Sealpost settings (Thunderbird or Outlook). \
         Administrators sign in to the console at /admin.",
    ))
}
