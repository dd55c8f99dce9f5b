//! The Secure Message Center: the web pages recipients use, server-rendered (askama), working
//! without JavaScript.
//!
//! First contact: the stub's link `/m/{link}` bounces (a same-site refresh, so the
//! `SameSite=Strict` session cookie is sent) to `/c/open/{link}`, which shows the message to
//! a signed-in recipient or asks for the address it was sent to; a one-time code goes there
//! through the mail queue, and the right code starts a session; a first-time recipient then
//! chooses a password (argon2id) to sign in with later, without a code. `/c/read/{link}`
//! shows the message, decrypted on the server, its HTML sanitised (ammonia) and without remote
//! content; attachments download decrypted as they stream.
//!
//! Signed in, a person has a mailbox (`mailbox`): the messages sent to them by senders of any
//! tenant, those they sent, an archive; they reply securely with attachments (`reply`), and
//! a sender sees the delivery slip of their messages and can recall them. `account` holds
//! sign-in without a link, sign-out and password reset.
//!
//! Every page carries a strict Content-Security-Policy (no script at all, no framing), every
//! form a CSRF token (double-submit, checked in constant time), and nothing personal is in a
//! URL beyond the link's opaque token.

mod account;
mod mailbox;
mod reply;

use std::net::SocketAddr;

use askama::Template;
use aws_lc_rs::constant_time::verify_slices_are_equal;
use axum::extract::{ConnectInfo, Form, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Router, middleware};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use serde::Deserialize;
use zeroize::Zeroizing;

use sealpost_envelope::Manifest;

use crate::db::now_ms;
use crate::domain::EmailAddress;
use crate::reading::StoredMessage;
use crate::state::AppState;
use crate::store::mailbox as mailbox_store;
use crate::store::messages::{self, MessageRow};
use crate::store::notifications::{self, Outgoing};
use crate::store::{audit, center};

const SESSION_COOKIE: &str = "__Host-sealpost-session";
const CSRF_COOKIE: &str = "__Host-sealpost-csrf";
const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
                   frame-ancestors 'none'; base-uri 'none'";

/// The Center's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/m/{link}", get(bounce))
        .route("/c/open/{link}", get(open))
        .route("/m/{link}/code", post(send_code))
        .route("/m/{link}/verify", post(verify))
        .route("/m/{link}/signin", post(sign_in))
        .route("/c/password/{link}", get(choose_password).post(save_password))
        .route("/c/read/{link}", get(read))
        .route("/c/read/{link}/attachments/{part}", get(download))
        .route("/c/unlock/{link}", get(ask_unlock_code).post(unlock))
        .route("/c/signin", get(account::sign_in_page).post(account::sign_in))
        .route("/c/signout", post(account::sign_out))
        .route("/c/reset", get(account::reset_page).post(account::send_reset_code))
        .route("/c/reset/confirm", post(account::reset_password))
        .route("/c/mail/{folder}", get(mailbox::folder))
        .route("/c/file/{link}", post(mailbox::file))
        .route("/c/recall/{link}", post(mailbox::recall))
        .route(
            "/c/reply/{link}",
            get(reply::compose)
                .post(reply::send)
                .layer(axum::extract::DefaultBodyLimit::max(reply::MAX_FORM_BYTES)),
        )
        .route("/c/static/center.css", get(stylesheet))
        .layer(middleware::from_fn(security_headers))
}

async fn security_headers(request: axum::extract::Request, next: middleware::Next) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000"));
    response
}

async fn stylesheet() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], include_str!("../../static/center.css"))
}

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

#[derive(Template)]
#[template(path = "center/notice.html")]
struct Notice<'a> {
    heading: &'a str,
    text: &'a str,
}

struct AttachmentLine {
    name: String,
    size: String,
    href: String,
}

#[derive(Template)]
#[template(path = "center/read.html")]
struct Read {
    link: String,
    csrf: String,
    is_recipient: bool,
    can_reply_all: bool,
    archived: bool,
    is_sender: bool,
    recalled: bool,
    slip: Vec<SlipLine>,
    subject: String,
    from: String,
    to: String,
    cc: String,
    date: String,
    body_html: Option<String>,
    body_text: String,
    attachments: Vec<AttachmentLine>,
}

fn page(status: StatusCode, t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "cannot render a page");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

fn notice(status: StatusCode, heading: &str, text: &str) -> Response {
    page(status, &Notice { heading, text })
}

fn internal(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "message center");
    notice(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "Please try again in a moment.",
    )
}

fn not_found() -> Response {
    notice(
        StatusCode::NOT_FOUND,
        "No such message",
        "This link does not lead to a message. Check that you opened the whole link from the email.",
    )
}

/// The message a link points at, or the page to show instead (unknown, recalled, expired).
async fn linked(state: &AppState, link: &str) -> Result<MessageRow, Response> {
    let m = messages::by_link(&state.db, link).await.map_err(internal)?.ok_or_else(not_found)?;
    if m.recalled_at.is_some() {
        return Err(notice(
            StatusCode::GONE,
            "This message was recalled",
            "The sender has withdrawn this message. It can no longer be read.",
        ));
    }
    if m.expires_at.is_some_and(|t| t <= now_ms()) {
        return Err(notice(
            StatusCode::GONE,
            "This message has expired",
            "This message was available for a limited time only. Ask the sender to send it again.",
        ));
    }
    Ok(m)
}

/// Whether `email` received message `m` (as To, Cc or Bcc).
async fn is_recipient(state: &AppState, m: &MessageRow, email: &str) -> Result<bool, Response> {
    let all = messages::recipients(&state.db, &m.id).await.map_err(internal)?;
    Ok(all.iter().any(|(r, _)| r.eq_ignore_ascii_case(email)))
}

/// Whether `email` may read message `m`: its sender or one of its recipients.
async fn may_read(state: &AppState, m: &MessageRow, email: &str) -> Result<bool, Response> {
    Ok(m.sender_email.eq_ignore_ascii_case(email) || is_recipient(state, m, email).await?)
}

/// The signed-in address, or the response that sends the browser to sign in.
async fn require_session(state: &AppState, jar: &CookieJar) -> Result<String, Response> {
    signed_in(state, jar).await?.ok_or_else(|| Redirect::to("/c/signin").into_response())
}

/// Formats a time (ms since the epoch) for people: `2026-11-23 06:10 UTC`.
fn when(ms: i64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0) as u64);
    let s = humantime::format_rfc3339_seconds(t).to_string();
    format!("{} {} UTC", &s[..10], &s[11..16])
}

/// The signed-in recipient's address, if the session cookie is live.
async fn signed_in(state: &AppState, jar: &CookieJar) -> Result<Option<String>, Response> {
    match jar.get(SESSION_COOKIE) {
        Some(c) => center::session(&state.db, c.value()).await.map_err(internal),
        None => Ok(None),
    }
}

fn cookie(name: &'static str, value: String) -> Cookie<'static> {
    Cookie::build((name, value))
        .secure(true)
        .http_only(true)
        .same_site(SameSite::Strict)
        .path("/")
        .build()
}

/// The CSRF token of this browser (set now when it has none).
fn csrf_token(jar: CookieJar) -> (CookieJar, String) {
    if let Some(c) = jar.get(CSRF_COOKIE) {
        let v = c.value().to_string();
        if v.len() == 32 {
            return (jar, v);
        }
    }
    let v = crate::secrets::random_id();
    (jar.add(cookie(CSRF_COOKIE, v.clone())), v)
}

fn csrf_ok(jar: &CookieJar, given: &str) -> bool {
    jar.get(CSRF_COOKIE)
        .is_some_and(|c| verify_slices_are_equal(c.value().as_bytes(), given.as_bytes()).is_ok())
}

fn forbidden() -> Response {
    notice(
        StatusCode::FORBIDDEN,
        "Please start again",
        "This form has expired. Open the link from your email again.",
    )
}

fn too_many() -> Response {
    notice(
        StatusCode::TOO_MANY_REQUESTS,
        "Too many attempts",
        "Wait a few minutes, then open the link from your email again.",
    )
}

/// What every first-contact form post checks first: its CSRF token, the per-address limit,
/// and the link; the linked message.
async fn first_contact_post(
    state: &AppState,
    peer: SocketAddr,
    headers: &HeaderMap,
    jar: &CookieJar,
    link: &str,
    csrf: &str,
) -> Result<MessageRow, Response> {
    if !csrf_ok(jar, csrf) {
        return Err(forbidden());
    }
    if state.login_limiter.check(client(state, peer, headers)).is_err() {
        return Err(too_many());
    }
    linked(state, link).await
}

/// Starts `email`'s session (audited, with the tenant and message it came through, if any)
/// and goes on to `next`.
async fn start_session(
    state: &AppState,
    jar: CookieJar,
    through: Option<&MessageRow>,
    email: &str,
    next: &str,
) -> Response {
    let token = match center::new_session(&state.db, email).await {
        Ok(t) => t,
        Err(e) => return internal(e),
    };
    let (tenant, detail) = through.map_or((None, ""), |m| (Some(m.tenant_id), m.id.as_str()));
    let _ = audit::append(&state.db, tenant, email, "recipient.signed_in", detail).await;
    let jar = jar.add(cookie(SESSION_COOKIE, token.to_string()));
    (jar, Redirect::to(next)).into_response()
}

async fn bounce(Path(link): Path<String>) -> Response {
    if link.len() > 64 || !link.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return not_found();
    }
    page(StatusCode::OK, &Bounce { link: &link })
}

async fn open(State(state): State<AppState>, jar: CookieJar, Path(link): Path<String>) -> Response {
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
struct CodeRequest {
    csrf: String,
    email: String,
}

fn client(state: &AppState, peer: SocketAddr, headers: &HeaderMap) -> std::net::IpAddr {
    let forwarded = headers.get("x-forwarded-for").and_then(|v| v.to_str().ok());
    crate::ratelimit::client_ip(peer.ip(), forwarded, &state.settings.trusted_proxies)
}

async fn send_code(
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
    // The same page whether or not the address received the message: it tells no one who did.
    match is_recipient(&state, &m, &email).await {
        Ok(true) => {
            match center::new_code(&state.db, center::CodeScope::Message(&m.id), &email).await {
                Ok(Some(code)) => {
                    let mail = Outgoing {
                        key: crate::secrets::random_id(),
                        tenant_id: Some(m.tenant_id),
                        kind: "one_time_code".into(),
                        recipient: email.clone(),
                        subject: "Your Sealpost code".into(),
                        text: format!(
                            "Your code to open a secure message: {}\n\nIt is valid for 10 minutes. \
                         If you did not ask for it, ignore this mail.\n",
                            code.as_str()
                        ),
                        html: None,
                    };
                    if let Err(e) = notifications::enqueue(&state.db, &mail).await {
                        return internal(e);
                    }
                }
                Ok(None) => return too_many(),
                Err(e) => return internal(e),
            }
        }
        Ok(false) => {}
        Err(r) => return r,
    }
    page(StatusCode::OK, &EnterCode { link: &link, csrf: &req.csrf, email: &email, problem: None })
}

#[derive(Deserialize)]
struct VerifyRequest {
    csrf: String,
    email: String,
    code: String,
}

async fn verify(
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
    let good = req.code.len() <= 16
        && match center::check_code(&state.db, center::CodeScope::Message(&m.id), &email, &req.code)
            .await
        {
            Ok(ok) => ok,
            Err(e) => return internal(e),
        };
    if !good {
        let problem = "That code is wrong, used up or expired. Check it, or ask for a new one.";
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
    start_session(&state, jar, Some(&m), &email, &next).await
}

#[derive(Deserialize)]
struct SignInRequest {
    csrf: String,
    email: String,
    password: String,
}

/// Checks an address and password (rate-limited per address, locked after a few failures):
/// the address, or the page `refused` makes for the reason.
async fn check_sign_in(
    state: &AppState,
    email: &str,
    password: String,
    refused: impl Fn(&str) -> Response,
) -> Result<String, Response> {
    let password = Zeroizing::new(password);
    let Ok(email) = EmailAddress::parse(email) else {
        return Err(refused("Wrong address or password."));
    };
    let email = email.to_string();
    if password.len() > 1024 {
        return Err(refused("Wrong address or password."));
    }
    match center::check_password(&state.db, &email, password).await {
        Ok(Ok(())) => Ok(email),
        Ok(Err(center::SignInRefused::BadCredentials)) => {
            Err(refused("Wrong address or password."))
        }
        Ok(Err(center::SignInRefused::Locked(_))) => Err(refused(
            "Too many wrong passwords: signing in with a password is locked for 15 minutes. \
             You can ask for a code instead.",
        )),
        Err(e) => Err(internal(e)),
    }
}

/// Password sign-in of a returning recipient (rate-limited per address, locked after a few
/// failures).
async fn sign_in(
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
    let refused = |text: &str| {
        page(
            StatusCode::UNAUTHORIZED,
            &Identify { link: &link, csrf: &req.csrf, problem: Some(text) },
        )
    };
    let email = match check_sign_in(&state, &req.email, req.password, refused).await {
        Ok(e) => e,
        Err(r) => return r,
    };
    start_session(&state, jar, Some(&m), &email, &format!("/c/read/{link}")).await
}

/// What is wrong with a new password and its confirmation, if anything.
fn password_problem(password: &str, confirm: &str) -> Option<&'static str> {
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

async fn choose_password(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(link): Path<String>,
) -> Response {
    let email = match signed_in(&state, &jar).await {
        Ok(Some(e)) => e,
        Ok(None) => return Redirect::to(&format!("/c/open/{link}")).into_response(),
        Err(r) => return r,
    };
    let (jar, csrf) = csrf_token(jar);
    let form = ChoosePassword { link: &link, csrf: &csrf, email: &email, problem: None };
    (jar, page(StatusCode::OK, &form)).into_response()
}

#[derive(Deserialize)]
struct PasswordRequest {
    csrf: String,
    password: String,
    confirm: String,
}

async fn save_password(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(link): Path<String>,
    Form(req): Form<PasswordRequest>,
) -> Response {
    if !csrf_ok(&jar, &req.csrf) {
        return forbidden();
    }
    let email = match signed_in(&state, &jar).await {
        Ok(Some(e)) => e,
        Ok(None) => return Redirect::to(&format!("/c/open/{link}")).into_response(),
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

/// A linked message opened for the signed-in person allowed to read it.
struct Reading {
    m: MessageRow,
    email: String,
    is_recipient: bool,
    stored: StoredMessage,
    manifest: Manifest,
}

/// The linked message, opened for its signed-in sender or recipient — or the page to show
/// instead (sign in first, the unlock code first, not yours, recalled, expired).
async fn for_reader(state: &AppState, jar: &CookieJar, link: &str) -> Result<Reading, Response> {
    let m = linked(state, link).await?;
    let Some(email) = signed_in(state, jar).await? else {
        return Err(Redirect::to(&format!("/c/open/{link}")).into_response());
    };
    let is_recipient = is_recipient(state, &m, &email).await?;
    let is_sender = m.sender_email.eq_ignore_ascii_case(&email);
    if !is_recipient && !is_sender {
        return Err(not_found());
    }
    if m.unlock_hash.is_some()
        && !is_sender
        && !mailbox_store::unlocked(&state.db, &m.id, &email).await.map_err(internal)?
    {
        return Err(Redirect::to(&format!("/c/unlock/{link}")).into_response());
    }
    let stored = StoredMessage::open(state, &m).await.map_err(internal)?;
    let manifest = stored.manifest(state).await.map_err(internal)?;
    Ok(Reading { m, email, is_recipient, stored, manifest })
}

#[derive(Template)]
#[template(path = "center/unlock.html")]
struct AskUnlockCode<'a> {
    link: &'a str,
    csrf: &'a str,
    problem: Option<&'a str>,
}

async fn ask_unlock_code(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(link): Path<String>,
) -> Response {
    if let Err(r) = require_session(&state, &jar).await {
        return r;
    }
    let (jar, csrf) = csrf_token(jar);
    (jar, page(StatusCode::OK, &AskUnlockCode { link: &link, csrf: &csrf, problem: None }))
        .into_response()
}

#[derive(Deserialize)]
struct UnlockRequest {
    csrf: String,
    code: String,
}

/// Checks the unlock code a signed-in recipient gives (argon2id; a few wrong ones lock them
/// out for a while).
async fn unlock(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(link): Path<String>,
    Form(req): Form<UnlockRequest>,
) -> Response {
    if !csrf_ok(&jar, &req.csrf) {
        return forbidden();
    }
    let email = match require_session(&state, &jar).await {
        Ok(e) => e,
        Err(r) => return r,
    };
    let m = match linked(&state, &link).await {
        Ok(m) => m,
        Err(r) => return r,
    };
    let Some(hash) = m.unlock_hash.clone() else {
        return Redirect::to(&format!("/c/read/{link}")).into_response();
    };
    match is_recipient(&state, &m, &email).await {
        Ok(true) => {}
        Ok(false) => return not_found(),
        Err(r) => return r,
    }
    let refuse = |problem: &str| {
        page(
            StatusCode::UNAUTHORIZED,
            &AskUnlockCode { link: &link, csrf: &req.csrf, problem: Some(problem) },
        )
    };
    match mailbox_store::unlock_locked_until(&state.db, &m.id, &email).await {
        Ok(t) if t > now_ms() => {
            return refuse("Too many wrong unlock codes. Try again in 15 minutes.");
        }
        Ok(_) => {}
        Err(e) => return internal(e),
    }
    let code = req.code.trim();
    let right = code.len() <= 256
        && crate::store::accounts::verify_password(hash, Zeroizing::new(code.to_string())).await;
    if let Err(e) = mailbox_store::record_unlock(&state.db, &m.id, &email, right).await {
        return internal(e);
    }
    let action = if right { "message.unlocked" } else { "message.unlock_refused" };
    let _ = audit::append(&state.db, Some(m.tenant_id), &email, action, &m.id).await;
    if !right {
        return refuse("That unlock code is wrong. Ask the sender for it.");
    }
    Redirect::to(&format!("/c/read/{link}")).into_response()
}

/// One recipient's line on the delivery slip.
struct SlipLine {
    email: String,
    kind: String,
    events: String,
}

async fn slip(state: &AppState, m: &MessageRow) -> Result<Vec<SlipLine>, Response> {
    let recipients = messages::recipients(&state.db, &m.id).await.map_err(internal)?;
    let events = messages::events(&state.db, &m.id).await.map_err(internal)?;
    Ok(recipients
        .into_iter()
        .map(|(email, kind)| {
            let events = events
                .iter()
                .filter(|e| e.recipient.as_deref() == Some(email.as_str()))
                .map(|e| format!("{} {}", e.kind, when(e.at)))
                .collect::<Vec<_>>()
                .join(", ");
            SlipLine { email, kind, events }
        })
        .collect())
}

async fn read(State(state): State<AppState>, jar: CookieJar, Path(link): Path<String>) -> Response {
    let Reading { m, email, is_recipient, manifest, .. } =
        match for_reader(&state, &jar, &link).await {
            Ok(v) => v,
            Err(r) => return r,
        };
    if is_recipient {
        let _ = messages::add_event(&state.db, &m.id, Some(&email), "opened").await;
    }
    let _ = audit::append(&state.db, Some(m.tenant_id), &email, "message.opened", &m.id).await;
    let is_sender = m.sender_email.eq_ignore_ascii_case(&email);
    let slip = if is_sender {
        match slip(&state, &m).await {
            Ok(s) => s,
            Err(r) => return r,
        }
    } else {
        Vec::new()
    };
    let archived = is_recipient
        && matches!(
            mailbox_store::folder_of(&state.db, &m.id, &email).await,
            Ok(Some(ref f)) if f == "archive"
        );
    let meta = &manifest.metadata;
    let body_html = manifest.body.html.as_deref().map(sanitise);
    let (jar, csrf) = csrf_token(jar);
    let page = page(
        StatusCode::OK,
        &Read {
            link: link.clone(),
            csrf,
            subject: meta.subject.clone(),
            from: meta.from.clone(),
            to: meta.to.join(", "),
            cc: meta.cc.join(", "),
            date: meta.date.clone(),
            body_text: manifest.body.text.clone().unwrap_or_default(),
            body_html,
            attachments: manifest
                .attachments
                .iter()
                .map(|a| AttachmentLine {
                    name: a.name.clone(),
                    size: human_size(a.size),
                    href: format!("/c/read/{link}/attachments/{}", a.part),
                })
                .collect(),
            is_recipient,
            can_reply_all: meta.to.len() + meta.cc.len() > 1,
            archived,
            is_sender,
            recalled: m.recalled_at.is_some(),
            slip,
        },
    );
    (jar, page).into_response()
}

/// One attachment, decrypted as it streams; a single byte range (`Range: bytes=…`) is served
/// as 206. Always `application/octet-stream` and `attachment`: the browser saves it and never
/// renders it in the Center's origin.
async fn download(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    Path((link, part)): Path<(String, u32)>,
) -> Response {
    let Reading { m, email, stored, manifest, .. } = match for_reader(&state, &jar, &link).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(attachment) = manifest.attachments.iter().find(|a| a.part == part) else {
        return not_found();
    };
    let len = attachment.size;
    let wanted = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    let range = match wanted.map(|r| parse_range(r, len)) {
        None => None,
        Some(Some(r)) => Some(r),
        Some(None) => {
            return (
                StatusCode::RANGE_NOT_SATISFIABLE,
                [(header::CONTENT_RANGE, format!("bytes */{len}"))],
            )
                .into_response();
        }
    };
    if range.as_ref().is_none_or(|r| r.start == 0) {
        let _ = messages::add_event(&state.db, &m.id, Some(&email), "downloaded").await;
        let _ = audit::append(
            &state.db,
            Some(m.tenant_id),
            &email,
            "attachment.downloaded",
            &format!("{} part {part}", m.id),
        )
        .await;
    }
    let (status, span) = match range {
        Some(r) => (StatusCode::PARTIAL_CONTENT, r),
        None => (StatusCode::OK, 0..len),
    };
    let mut response = axum::body::Body::from_stream(crate::reading::stream_range(
        std::sync::Arc::new(stored),
        state.clone(),
        part,
        span.clone(),
    ))
    .into_response();
    *response.status_mut() = status;
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(span.end - span.start));
    if status == StatusCode::PARTIAL_CONTENT {
        let value = format!("bytes {}-{}/{len}", span.start, span.end.saturating_sub(1));
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(header::CONTENT_RANGE, v);
        }
    }
    if let Ok(v) = HeaderValue::from_str(&content_disposition(&attachment.name)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    response
}

/// One byte range of `len` bytes from a `Range` header: `bytes=a-b`, `bytes=a-`, `bytes=-n`.
/// `None` for anything else, several ranges, or a range outside the file.
fn parse_range(header: &str, len: u64) -> Option<std::ops::Range<u64>> {
    let spec = header.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let (start, end) = match (a.trim(), b.trim()) {
        ("", n) => {
            let n: u64 = n.parse().ok()?;
            (len.checked_sub(n.min(len))?, len)
        }
        (a, "") => (a.parse().ok()?, len),
        (a, b) => (a.parse().ok()?, b.parse::<u64>().ok()?.checked_add(1)?.min(len)),
    };
    (start < end && start < len).then_some(start..end)
}

/// `attachment` with the name: an ASCII fallback and the exact name (RFC 6266 / 8187).
fn content_disposition(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || " .-_()".contains(c) { c } else { '_' })
        .collect();
    let mut encoded = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// The message's HTML made safe to show: ammonia's allow-list (no script, no event handlers,
/// no styles that could reach outside), links opened without a referrer, and no remote
/// content — images only from the message itself (`cid:`), dropped otherwise.
pub fn sanitise(html: &str) -> String {
    ammonia::Builder::default()
        .link_rel(Some("noopener noreferrer nofollow"))
        .url_schemes(["https", "http", "mailto", "cid"].into_iter().collect())
        .attribute_filter(|element, attribute, value| {
            if element == "img" && attribute == "src" && !value.starts_with("cid:") {
                None
            } else {
                Some(value.into())
            }
        })
        .clean(html)
        .to_string()
}

fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["bytes", "KB", "MB", "GB"];
    let mut size = bytes as f64;
    let mut unit = 0;
    while size >= 1000.0 && unit < UNITS.len() - 1 {
        size /= 1000.0;
        unit += 1;
    }
    if unit == 0 { format!("{bytes} bytes") } else { format!("{size:.1} {}", UNITS[unit]) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitising_removes_script_and_remote_content() {
        let out = sanitise(
            r#"<p onclick="x()">Hi<script>alert(1)</script><img src="https://track.example/p.gif"><img src="cid:logo"><a href="javascript:alert(1)">j</a><iframe src="https://x"></iframe></p>"#,
        );
        assert!(!out.contains("script") && !out.contains("onclick") && !out.contains("iframe"));
        assert!(!out.contains("track.example"), "{out}");
        assert!(out.contains("cid:logo"), "{out}");
        assert!(!out.contains("javascript:"), "{out}");
    }

    #[test]
    fn one_byte_range_is_understood_and_anything_else_refused() {
        assert_eq!(parse_range("bytes=0-99", 1000), Some(0..100));
        assert_eq!(parse_range("bytes=900-", 1000), Some(900..1000));
        assert_eq!(parse_range("bytes=-100", 1000), Some(900..1000));
        assert_eq!(parse_range("bytes=990-2000", 1000), Some(990..1000));
        assert_eq!(parse_range("bytes=1000-", 1000), None);
        assert_eq!(parse_range("bytes=0-1,5-6", 1000), None);
        assert_eq!(parse_range("items=0-1", 1000), None);
        assert_eq!(parse_range("bytes=5-2", 1000), None);
    }

    #[test]
    fn attachment_names_are_safe_in_the_header_and_kept_exactly() {
        let d = content_disposition("Größe \"x\".pdf");
        assert!(d.starts_with("attachment; filename=\"Gr__e _x_.pdf\""), "{d}");
        assert!(d.ends_with("filename*=UTF-8''Gr%C3%B6%C3%9Fe%20%22x%22.pdf"), "{d}");
    }

    #[test]
    fn sizes_read_like_a_person_would_say_them() {
        assert_eq!(human_size(512), "512 bytes");
        assert_eq!(human_size(20_971_520), "21.0 MB");
    }
}
