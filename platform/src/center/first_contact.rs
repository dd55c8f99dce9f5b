//! First contact: the stub's link, the address, the one-time code mailed to it, the password
//! a first-time recipient chooses, and password sign-in through a link.

use std::net::SocketAddr;

use askama::Template;
use axum::extract::{ConnectInfo, Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;
use zeroize::Zeroizing;

use super::{
    anonymous_post_refusal, csrf_ok, csrf_token, current_session, forbidden, internal,
    is_recipient, linked, mail_code, may_read, not_found, notice, page, signed_in, start_session,
};
use crate::domain::EmailAddress;
use crate::state::AppState;
use crate::store::messages::MessageRow;
use crate::store::{audit, center, lockouts, totp};

#[derive(Template)]
#[template(path = "center/bounce.html")]
struct Bounce<'a> {
    link: &'a str,
}

#[derive(Template)]
#[template(path = "center/identify.html")]
struct Identify<'a> {
    link: &'a str,
    csrf: &'a str,
    problem: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "center/password.html")]
struct ChoosePassword<'a> {
    link: &'a str,
    csrf: &'a str,
    email: &'a str,
    problem: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "center/code.html")]
struct EnterCode<'a> {
    link: &'a str,
    csrf: &'a str,
    email: &'a str,
    problem: Option<&'a str>,
}

/// What every first-contact form post checks first: its CSRF token, the per-address limit,
/// and the link; the linked message.
pub(super) async fn first_contact_post(
    state: &AppState,
    peer: SocketAddr,
    headers: &HeaderMap,
    jar: &CookieJar,
    link: &str,
    csrf: &str,
) -> Result<MessageRow, Response> {
    if let Some(refusal) = anonymous_post_refusal(state, peer, headers, jar, csrf) {
        return Err(refusal);
    }
    linked(state, link).await
}

pub(super) async fn bounce(Path(link): Path<String>) -> Response {
    if link.len() > 64 || !link.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return not_found();
    }
    page(StatusCode::OK, &Bounce { link: &link })
}

pub(super) async fn open(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(link): Path<String>,
) -> Response {
    let m = match linked(&state, &link).await {
        Ok(m) => m,
        Err(r) => return r,
    };
    match signed_in(&state, &jar).await {
        Ok(Some(email)) => match may_read(&state, &m, &email).await {
            Ok(true) => return Redirect::to(&format!("/c/read/{link}")).into_response(),
            Ok(false) => {}
            Err(r) => return r,
        },
        Ok(None) => {}
        Err(r) => return r,
    }
    let (jar, csrf) = csrf_token(jar);
    (jar, page(StatusCode::OK, &Identify { link: &link, csrf: &csrf, problem: None }))
        .into_response()
}

#[derive(Deserialize)]
pub(super) struct CodeRequest {
    csrf: String,
    email: String,
}

pub(super) async fn send_code(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    jar: CookieJar,
    Path(link): Path<String>,
    Form(req): Form<CodeRequest>,
) -> Response {
    let m = match first_contact_post(&state, peer, &headers, &jar, &link, &req.csrf).await {
        Ok(m) => m,
        Err(r) => return r,
    };
    let Ok(email) = EmailAddress::parse(&req.email) else {
        return notice(
            StatusCode::BAD_REQUEST,
            "Check the address",
            "That is not an email address. Go back and try again.",
        );
    };
    let email = email.to_string();
    // The same answer whether or not the address received the message (see `mail_code`): it
    // tells no one who did.
    let received = match is_recipient(&state, &m, &email).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let mail = ("one_time_code", "Your Sealpost code", "open a secure message");
    let scope = center::CodeScope::Message(&m.id);
    if let Err(r) = mail_code(&state, scope, &email, Some(m.tenant_id), mail, received).await {
        return r;
    }
    page(StatusCode::OK, &EnterCode { link: &link, csrf: &req.csrf, email: &email, problem: None })
}

#[derive(Deserialize)]
pub(super) struct VerifyRequest {
    csrf: String,
    email: String,
    code: String,
    #[serde(default)]
    totp: String,
}

pub(super) async fn verify(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    jar: CookieJar,
    Path(link): Path<String>,
    Form(req): Form<VerifyRequest>,
) -> Response {
    let m = match first_contact_post(&state, peer, &headers, &jar, &link, &req.csrf).await {
        Ok(m) => m,
        Err(r) => return r,
    };
    let Ok(email) = EmailAddress::parse(&req.email) else {
        return forbidden();
    };
    let email = email.to_string();
    // The second factor first: a mailed code is used up once it matches.
    let good = match second_factor(&state, &email, &req.totp).await {
        Ok(true) => {
            req.code.len() <= 16
                && match center::check_code(
                    &state.db,
                    center::CodeScope::Message(&m.id),
                    &email,
                    &req.code,
                )
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
        let problem = WRONG_CODE;
        return page(
            StatusCode::UNAUTHORIZED,
            &EnterCode { link: &link, csrf: &req.csrf, email: &email, problem: Some(problem) },
        );
    }
    let next = match center::has_password(&state.db, &email).await {
        Ok(true) => format!("/c/read/{link}"),
        Ok(false) => format!("/c/password/{link}"),
        Err(e) => return internal(e),
    };
    start_session(&state, jar, Some(&m), (&email, center::Proof::Code), &next).await
}

/// What a wrong mailed code (or, where turned on, authenticator code) is told: the same for
/// both, and for an address that was sent no code.
pub(super) const WRONG_CODE: &str = "That code is wrong, used up or expired — or, if you turned on two-step sign-in, the code from your authenticator app is. Check them, or ask for a new code.";

#[derive(Deserialize)]
pub(super) struct SignInRequest {
    pub(super) csrf: String,
    pub(super) email: String,
    pub(super) password: String,
    /// From the authenticator app, for accounts that turned it on.
    #[serde(default)]
    pub(super) totp: String,
}

/// Whether `code` passes `email`'s second factor — always, when they have not turned it on.
/// A wrong code counts as a failed sign-in (`store::lockouts`), in every flow that asks for
/// it, and while the address is locked out no code passes.
pub(super) async fn second_factor(
    state: &AppState,
    email: &str,
    code: &str,
) -> Result<bool, Response> {
    let owner = totp::Owner::Recipient(email);
    if !totp::enabled(&state.db, owner).await.map_err(internal)? {
        return Ok(true);
    }
    let scope = lockouts::Scope::CenterSignIn;
    if lockouts::locked_until(&state.db, scope, email).await.map_err(internal)?.is_some() {
        return Ok(false);
    }
    if totp::check(&state.db, &state.master, owner, code).await.map_err(internal)? {
        return Ok(true);
    }
    lockouts::failed(&state.db, scope, email).await.map_err(internal)?;
    Ok(false)
}

/// What a refused sign-in is told: the same whichever factor was wrong.
pub(super) const WRONG_SIGN_IN: &str = "Wrong address, password or code from your authenticator app (if you turned two-step sign-in on).";
/// What a locked-out sign-in is told, for known and unknown addresses alike.
pub(super) const LOCKED: &str = "Too many wrong attempts: signing in with a password is locked for a while (longer after each lockout). You can ask for a code by mail instead.";

/// Checks an address, password and — where turned on — authenticator code: the address, or
/// the page `refused` makes. Every address, known or not, is locked out after a few wrong
/// answers of either factor (`store::lockouts`), and the answer never says which was wrong.
pub(super) async fn check_sign_in(
    state: &AppState,
    req: SignInRequest,
    refused: impl Fn(&str) -> Response,
) -> Result<String, Response> {
    let password = Zeroizing::new(req.password);
    let Ok(email) = EmailAddress::parse(&req.email) else {
        return Err(refused(WRONG_SIGN_IN));
    };
    let email = email.to_string();
    let scope = lockouts::Scope::CenterSignIn;
    if lockouts::locked_until(&state.db, scope, &email).await.map_err(internal)?.is_some() {
        return Err(refused(LOCKED));
    }
    let password_right = password.len() <= 1024
        && center::check_password(&state.db, &email, password).await.map_err(internal)?;
    // The second factor counts its own failure; a wrong password counts here.
    let right = if password_right {
        second_factor(state, &email, &req.totp).await?
    } else {
        lockouts::failed(&state.db, scope, &email).await.map_err(internal)?;
        false
    };
    if right {
        lockouts::succeeded(&state.db, scope, &email).await.map_err(internal)?;
        return Ok(email);
    }
    match lockouts::locked_until(&state.db, scope, &email).await.map_err(internal)? {
        Some(_) => Err(refused(LOCKED)),
        None => Err(refused(WRONG_SIGN_IN)),
    }
}

/// Password sign-in of a returning recipient (rate-limited per address, locked after a few
/// failures).
pub(super) async fn sign_in(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    jar: CookieJar,
    Path(link): Path<String>,
    Form(req): Form<SignInRequest>,
) -> Response {
    let m = match first_contact_post(&state, peer, &headers, &jar, &link, &req.csrf).await {
        Ok(m) => m,
        Err(r) => return r,
    };
    let csrf = req.csrf.clone();
    let refused = |text: &str| {
        page(StatusCode::UNAUTHORIZED, &Identify { link: &link, csrf: &csrf, problem: Some(text) })
    };
    let email = match check_sign_in(&state, req, refused).await {
        Ok(e) => e,
        Err(r) => return r,
    };
    let proof = (email.as_str(), center::Proof::Password);
    start_session(&state, jar, Some(&m), proof, &format!("/c/read/{link}")).await
}

/// What is wrong with a new password and its confirmation, if anything.
pub(super) fn password_problem(password: &str, confirm: &str) -> Option<&'static str> {
    if password != confirm {
        Some("The two passwords differ.")
    } else if password.chars().count() < 12 {
        Some("The password needs at least 12 characters.")
    } else if password.len() > 1024 {
        Some("That password is too long.")
    } else {
        None
    }
}

/// The signed-in address, when this browser may choose the account's first password: a
/// session a mailed code began minutes ago, for an address that has no password yet. A
/// borrowed or older session cannot set one (a password is changed in the preferences, with
/// the current one, or reset with a mailed code). Otherwise the page to show instead.
async fn may_choose_password(
    state: &AppState,
    jar: &CookieJar,
    link: &str,
) -> Result<String, Response> {
    let Some(session) = current_session(state, jar).await? else {
        return Err(Redirect::to(&format!("/c/open/{link}")).into_response());
    };
    if center::has_password(&state.db, &session.email).await.map_err(internal)? {
        return Err(Redirect::to(&format!("/c/read/{link}")).into_response());
    }
    if !session.freshly_proved_by_code() {
        return Err(notice(
            StatusCode::FORBIDDEN,
            "Ask for a new code first",
            "A password is chosen right after a code from your email. Open the link from your \
             email again and ask for a code.",
        ));
    }
    Ok(session.email)
}

pub(super) async fn choose_password(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(link): Path<String>,
) -> Response {
    let email = match may_choose_password(&state, &jar, &link).await {
        Ok(e) => e,
        Err(r) => return r,
    };
    let (jar, csrf) = csrf_token(jar);
    let form = ChoosePassword { link: &link, csrf: &csrf, email: &email, problem: None };
    (jar, page(StatusCode::OK, &form)).into_response()
}

#[derive(Deserialize)]
pub(super) struct PasswordRequest {
    csrf: String,
    password: String,
    confirm: String,
}

pub(super) async fn save_password(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(link): Path<String>,
    Form(req): Form<PasswordRequest>,
) -> Response {
    if !csrf_ok(&jar, &req.csrf) {
        return forbidden();
    }
    let email = match may_choose_password(&state, &jar, &link).await {
        Ok(e) => e,
        Err(r) => return r,
    };
    if let Some(problem) = password_problem(&req.password, &req.confirm) {
        let form =
            ChoosePassword { link: &link, csrf: &req.csrf, email: &email, problem: Some(problem) };
        return page(StatusCode::BAD_REQUEST, &form);
    }
    if let Err(e) = center::set_password(&state.db, &email, Zeroizing::new(req.password)).await {
        return internal(e);
    }
    let _ = audit::append(&state.db, None, &email, "recipient.password_set", "").await;
    Redirect::to(&format!("/c/read/{link}")).into_response()
}
