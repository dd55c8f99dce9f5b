//! First contact: the stub's link, the address, the one-time code mailed to it, the password
//! a first-time recipient chooses, and password sign-in through a link.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;
use zeroize::Zeroizing;

use super::error::{CenterError, page};
use super::extract::{
    AnonymousForm, CsrfForm, Linked, Reader, csrf_field, current_session, linked,
};
use super::language::{Phrase, Tr};
use super::look_of;
use super::{csrf_token, is_recipient, mail_code, may_read, start_session};
use crate::branding::Look;
use crate::domain::EmailAddress;
use crate::state::AppState;
use crate::store::{audit, center, lockouts, totp};

#[derive(Template)]
#[template(path = "center/bounce.html")]
struct Bounce<'a> {
    t: &'a Tr,
    link: &'a str,
}

#[derive(Template)]
#[template(path = "center/identify.html")]
struct Identify<'a> {
    t: &'a Tr,
    link: &'a str,
    csrf: &'a str,
    problem: Option<Phrase>,
    look: Option<Look>,
}

#[derive(Template)]
#[template(path = "center/password.html")]
struct ChoosePassword<'a> {
    t: &'a Tr,
    link: &'a str,
    csrf: &'a str,
    email: &'a str,
    problem: Option<Phrase>,
    look: Option<Look>,
}

#[derive(Template)]
#[template(path = "center/code.html")]
struct EnterCode<'a> {
    t: &'a Tr,
    link: &'a str,
    csrf: &'a str,
    email: &'a str,
    problem: Option<Phrase>,
    look: Option<Look>,
}

pub(super) async fn bounce(t: Tr, Path(link): Path<String>) -> Result<Response, CenterError> {
    if link.len() > 64 || !link.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(CenterError::NotFound);
    }
    page(StatusCode::OK, &Bounce { t: &t, link: &link })
}

pub(super) async fn open(
    State(state): State<AppState>,
    t: Tr,
    jar: CookieJar,
    Path(link): Path<String>,
    Linked(m): Linked,
    reader: Option<Reader>,
) -> Result<Response, CenterError> {
    if let Some(Reader(me)) = reader
        && may_read(&state, &m, &me.email).await?
    {
        return Ok(Redirect::to(&format!("/c/read/{link}")).into_response());
    }
    let (jar, csrf) = csrf_token(jar);
    let look = look_of(&state, m.tenant_id).await;
    let form = Identify { t: &t, link: &link, csrf: &csrf, problem: None, look };
    Ok((jar, page(StatusCode::OK, &form)?).into_response())
}

#[derive(Deserialize)]
pub(super) struct CodeRequest {
    csrf: String,
    email: String,
}

/// A first-contact form post is checked in this order: its CSRF token, the per-client
/// limit (`AnonymousForm`), then the link.
pub(super) async fn send_code(
    State(state): State<AppState>,
    t: Tr,
    Path(link): Path<String>,
    AnonymousForm(req): AnonymousForm<CodeRequest>,
) -> Result<Response, CenterError> {
    let m = linked(&state, &link).await?;
    let email = EmailAddress::parse(&req.email).map_err(|_| CenterError::NotAnAddress)?;
    let email = email.to_string();
    // The same answer whether or not the address received the message (see `mail_code`): it
    // tells no one who did.
    let received = is_recipient(&state, &m, &email).await?;
    let mail = ("one_time_code", "Your Sealpost code", "open a secure message");
    let scope = center::CodeScope::Message(&m.id);
    mail_code(&state, scope, &email, Some(m.tenant_id), mail, received).await?;
    let look = look_of(&state, m.tenant_id).await;
    page(
        StatusCode::OK,
        &EnterCode { t: &t, link: &link, csrf: &req.csrf, email: &email, problem: None, look },
    )
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
    t: Tr,
    jar: CookieJar,
    Path(link): Path<String>,
    AnonymousForm(req): AnonymousForm<VerifyRequest>,
) -> Result<Response, CenterError> {
    let m = linked(&state, &link).await?;
    let email = EmailAddress::parse(&req.email).map_err(|_| CenterError::FormExpired)?;
    let email = email.to_string();
    // The second factor first: a mailed code is used up once it matches.
    let scope = center::CodeScope::Message(&m.id);
    let good = second_factor(&state, &email, &req.totp).await?
        && req.code.len() <= 16
        && center::check_code(&state.db, scope, &email, &req.code).await?;
    if !good {
        let look = look_of(&state, m.tenant_id).await;
        let (csrf, problem) = (&req.csrf, Some(WRONG_CODE));
        let form = EnterCode { t: &t, link: &link, csrf, email: &email, problem, look };
        return Err(CenterError::form(StatusCode::UNAUTHORIZED, &form));
    }
    let next = if center::has_password(&state.db, &email).await? {
        format!("/c/read/{link}")
    } else {
        format!("/c/password/{link}")
    };
    start_session(&state, jar, Some(&m), (&email, center::Proof::Code), &next).await
}

/// What a wrong mailed code (or, where turned on, authenticator code) is told: the same for
/// both, and for an address that was sent no code.
pub(super) const WRONG_CODE: Phrase = Phrase("wrong-code");

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
) -> Result<bool, CenterError> {
    let owner = totp::Owner::Recipient(email);
    if !totp::enabled(&state.db, owner).await? {
        return Ok(true);
    }
    let scope = lockouts::Scope::CenterSignIn;
    if lockouts::locked_until(&state.db, scope, email).await?.is_some() {
        return Ok(false);
    }
    if totp::check(&state.db, &state.master, owner, code).await? {
        return Ok(true);
    }
    lockouts::failed(&state.db, scope, email).await?;
    Ok(false)
}

/// What a refused sign-in is told: the same whichever factor was wrong.
pub(super) const WRONG_SIGN_IN: Phrase = Phrase("wrong-sign-in");
/// What a locked-out sign-in is told, for known and unknown addresses alike.
pub(super) const LOCKED: Phrase = Phrase("sign-in-locked");

/// Checks an address, password and — where turned on — authenticator code: the address, or
/// the refusal `refused` makes. Every address, known or not, is locked out after a few wrong
/// answers of either factor (`store::lockouts`), and the answer never says which was wrong.
pub(super) async fn check_sign_in(
    state: &AppState,
    req: SignInRequest,
    refused: impl Fn(Phrase) -> CenterError,
) -> Result<String, CenterError> {
    let password = Zeroizing::new(req.password);
    let Ok(email) = EmailAddress::parse(&req.email) else {
        return Err(refused(WRONG_SIGN_IN));
    };
    let email = email.to_string();
    let scope = lockouts::Scope::CenterSignIn;
    if lockouts::locked_until(&state.db, scope, &email).await?.is_some() {
        return Err(refused(LOCKED));
    }
    let password_right =
        password.len() <= 1024 && center::check_password(&state.db, &email, password).await?;
    // The second factor counts its own failure; a wrong password counts here.
    let right = if password_right {
        second_factor(state, &email, &req.totp).await?
    } else {
        lockouts::failed(&state.db, scope, &email).await?;
        false
    };
    if right {
        lockouts::succeeded(&state.db, scope, &email).await?;
        return Ok(email);
    }
    match lockouts::locked_until(&state.db, scope, &email).await? {
        Some(_) => Err(refused(LOCKED)),
        None => Err(refused(WRONG_SIGN_IN)),
    }
}

/// Password sign-in of a returning recipient (rate-limited per address, locked after a few
/// failures).
pub(super) async fn sign_in(
    State(state): State<AppState>,
    t: Tr,
    jar: CookieJar,
    Path(link): Path<String>,
    AnonymousForm(req): AnonymousForm<SignInRequest>,
) -> Result<Response, CenterError> {
    let m = linked(&state, &link).await?;
    let csrf = req.csrf.clone();
    let look = look_of(&state, m.tenant_id).await;
    let refused = |problem: Phrase| {
        let (t, problem, look) = (&t, Some(problem), look.clone());
        let form = Identify { t, link: &link, csrf: &csrf, problem, look };
        CenterError::form(StatusCode::UNAUTHORIZED, &form)
    };
    let email = check_sign_in(&state, req, refused).await?;
    let proof = (email.as_str(), center::Proof::Password);
    start_session(&state, jar, Some(&m), proof, &format!("/c/read/{link}")).await
}

/// What is wrong with a new password and its confirmation, if anything.
pub(crate) fn password_problem(password: &str, confirm: &str) -> Option<Phrase> {
    if password != confirm {
        Some(Phrase("passwords-differ"))
    } else if password.chars().count() < 12 {
        Some(Phrase("password-too-short"))
    } else if password.len() > 1024 {
        Some(Phrase("password-too-long"))
    } else {
        None
    }
}

/// The signed-in address, when this browser may choose the account's first password: a
/// session a mailed code began minutes ago, for an address that has no password yet. A
/// borrowed or older session cannot set one (a password is changed in the preferences, with
/// the current one, or reset with a mailed code). Otherwise where to go instead.
async fn may_choose_password(
    state: &AppState,
    jar: &CookieJar,
    link: &str,
) -> Result<String, CenterError> {
    let Some(session) = current_session(state, jar).await? else {
        return Err(CenterError::redirect(format!("/c/open/{link}")));
    };
    if center::has_password(&state.db, &session.email).await? {
        return Err(CenterError::redirect(format!("/c/read/{link}")));
    }
    if !session.freshly_proved_by_code() {
        return Err(CenterError::CodeFirst);
    }
    Ok(session.email)
}

pub(super) async fn choose_password(
    State(state): State<AppState>,
    t: Tr,
    jar: CookieJar,
    Path(link): Path<String>,
) -> Result<Response, CenterError> {
    let email = may_choose_password(&state, &jar, &link).await?;
    let (jar, csrf) = csrf_token(jar);
    let look = super::look_of_link(&state, &link).await;
    let form =
        ChoosePassword { t: &t, link: &link, csrf: &csrf, email: &email, problem: None, look };
    Ok((jar, page(StatusCode::OK, &form)?).into_response())
}

#[derive(Deserialize)]
pub(super) struct PasswordRequest {
    csrf: String,
    password: String,
    confirm: String,
}

csrf_field!(CodeRequest, VerifyRequest, SignInRequest, PasswordRequest);

pub(super) async fn save_password(
    State(state): State<AppState>,
    t: Tr,
    jar: CookieJar,
    Path(link): Path<String>,
    CsrfForm(req): CsrfForm<PasswordRequest>,
) -> Result<Response, CenterError> {
    let email = may_choose_password(&state, &jar, &link).await?;
    if let Some(problem) = password_problem(&req.password, &req.confirm) {
        let look = super::look_of_link(&state, &link).await;
        let (csrf, problem) = (&req.csrf, Some(problem));
        let form = ChoosePassword { t: &t, link: &link, csrf, email: &email, problem, look };
        return Err(CenterError::form(StatusCode::BAD_REQUEST, &form));
    }
    center::set_password(&state.db, &email, Zeroizing::new(req.password)).await?;
    let _ = audit::append(&state.db, None, &email, "recipient.password_set", "").await;
    Ok(Redirect::to(&format!("/c/read/{link}")).into_response())
}
