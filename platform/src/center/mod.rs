//! The Secure Message Center: the web pages recipients use, server-rendered (askama), working
//! without JavaScript.
//!
//! First contact (`first_contact`): the stub's link `/m/{link}` bounces (a same-site refresh,
//! so the `SameSite=Strict` session cookie is sent) to `/c/open/{link}`, which shows the
//! message to a signed-in reader or asks for the address it was sent to; a one-time code goes
//! there through the mail queue, and the right code starts a session; a first-time recipient
//! then chooses a password (argon2id) to sign in with later, without a code. `read` shows the
//! message (after its unlock code, where the sender set one), decrypted on the server, its
//! HTML sanitised (ammonia, at a cost bounded by its size: `html`) and without remote
//! content; attachments download decrypted as
//! they stream.
//!
//! Signed in, a person has a mailbox (`mailbox`): the messages sent to them by senders of any
//! tenant, those they sent, an archive; they reply securely with attachments (`reply`), and
//! a sender sees the delivery slip of their messages and can recall them. `account` holds
//! sign-in without a link, sign-out and password reset. This module holds what they share:
//! the routes, security headers, session and CSRF cookies, and the one-time codes.
//!
//! Handlers read as the happy path: they return `Result<Response, CenterError>`, and
//! `error.rs` holds `CenterError` (every notice page, redirect and refused form, rendered
//! with its status) and the page renderers; `extract.rs` holds the guards as extractors — a
//! signed-in session (`Reader`), a form post with a valid CSRF token (`CsrfForm`, with the
//! session `SignedInForm`, with the per-client limit `AnonymousForm`) and a message link
//! (`Linked`, opened for its reader `Reading`, for a recipient to answer `Replying`).
//!
//! Every page is in the reader's language (`language`: English and German, chosen with the
//! switch on every page, else by `Accept-Language`); the words are in
//! `platform/locales/{en,de}/center.ftl`, never in the code or the templates.
//!
//! Every page carries a strict Content-Security-Policy (no script — but the reply form's own file,
//! for large attachments (`upload`) — and no framing; inline
//! styles in attributes only, for a message's allow-listed formatting: `CSP`), every
//! form a CSRF token (double-submit, checked in constant time), and nothing personal is in a
//! URL beyond the link's opaque token.

mod account;
mod css;
pub(crate) mod display;
mod error;
pub(crate) mod extract;
pub(crate) mod first_contact;
pub(crate) mod html;
pub(crate) mod language;
mod mailbox;
mod preferences;
pub(crate) mod read;
mod reply;
mod upload;

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Router, middleware};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};

use error::CenterError;
use extract::csrf_field;
use language::Lang;

use crate::state::AppState;
use crate::store::messages::{self, MessageRow};
use crate::store::{audit, center};

const SESSION_COOKIE: &str = "__Host-sealpost-session";
const CSRF_COOKIE: &str = "__Host-sealpost-csrf";
/// No script at all; styles from the Center's own sheet, and in `style` attributes only —
/// which carry nothing but a message's formatting, after the allow-list (`css.rs`). No
/// `<style>` element is admitted (a message's are inlined on the server: `html.rs`), and no
/// font or image from anywhere but the Center, so even a `url()` the allow-list missed could
/// fetch nothing.
const CSP: &str = "default-src 'none'; style-src 'self'; style-src-attr 'unsafe-inline'; \
                   img-src 'self'; font-src 'none'; form-action 'self'; frame-ancestors 'none'; \
                   base-uri 'none'";

/// The Center's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/m/{link}", get(first_contact::bounce))
        .route("/c/open/{link}", get(first_contact::open))
        .route("/m/{link}/code", post(first_contact::send_code))
        .route("/m/{link}/verify", post(first_contact::verify))
        .route("/m/{link}/signin", post(first_contact::sign_in))
        .route(
            "/c/password/{link}",
            get(first_contact::choose_password).post(first_contact::save_password),
        )
        .route("/c/read/{link}", get(read::read))
        .route("/c/read/{link}/attachments/{part}", get(read::download))
        .route("/c/read/{link}/inline/{part}", get(read::inline_image))
        .route("/c/unlock/{link}", get(read::ask_unlock_code).post(read::unlock))
        .route("/c/signin", get(account::sign_in_page).post(account::sign_in))
        .route("/c/signout", post(account::sign_out))
        .route("/c/reset", get(account::reset_page).post(account::send_reset_code))
        .route("/c/reset/confirm", post(account::reset_password))
        .route("/c/mail/{folder}", get(mailbox::folder))
        .route("/c/preferences", get(preferences::preferences))
        .route("/c/preferences/password", post(preferences::change_password))
        .route("/c/preferences/time-zone", post(preferences::set_time_zone))
        .route("/c/preferences/totp/begin", post(preferences::begin_totp))
        .route("/c/preferences/totp/confirm", post(preferences::confirm_totp))
        .route("/c/preferences/totp/disable", post(preferences::disable_totp))
        .route("/c/file/{link}", post(mailbox::file))
        .route("/c/recall/{link}", post(mailbox::recall))
        .route(
            "/c/reply/{link}",
            get(reply::compose)
                .post(reply::send)
                .layer(axum::extract::DefaultBodyLimit::max(reply::MAX_FORM_BYTES)),
        )
        .route("/c/reply/{link}/uploads", post(upload::begin))
        .route("/c/reply/{link}/uploads/{id}", get(upload::show))
        .route(
            "/c/reply/{link}/uploads/{id}/{part}",
            axum::routing::put(upload::put).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/c/reply/{link}/uploads/{id}/send", post(upload::send))
        .route("/c/language", get(language::switch))
        .route("/c/static/center.css", get(stylesheet))
        .route("/c/static/reply.js", get(reply_script))
        .route("/c/brand/{tenant}/logo", get(logo))
        .layer(middleware::from_fn(language::middleware))
        .layer(middleware::from_fn(security_headers))
}

/// Marks a page that runs the Center's one script, `reply.js`, with the policy it gets
/// ([`with_script`]).
#[derive(Clone)]
struct WithScript(HeaderValue);

/// [`CSP`] for the reply form, whose large attachments `reply.js` uploads: that one file may
/// run (named by its full address: no other script of the Center's origin, no inline script)
/// and talk to the reply's own addresses alone. `public_url` is the platform's origin.
fn with_script(public_url: &str) -> Result<WithScript, CenterError> {
    let origin = public_url.trim_end_matches('/');
    let policy = format!(
        "default-src 'none'; script-src {origin}/c/static/reply.js; connect-src {origin}/c/reply/; \
         style-src 'self'; style-src-attr 'unsafe-inline'; img-src 'self'; font-src 'none'; \
         form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    );
    HeaderValue::from_str(&policy).map(WithScript).map_err(CenterError::internal)
}

async fn security_headers(request: axum::extract::Request, next: middleware::Next) -> Response {
    let mut response = next.run(request).await;
    match response.extensions_mut().remove::<WithScript>() {
        Some(WithScript(policy)) => {
            crate::harden::headers(response.headers_mut());
            response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, policy);
        }
        None => crate::harden::page_headers(response.headers_mut(), CSP),
    }
    response
}

/// `GET /c/static/reply.js`: the reply form's uploader.
async fn reply_script() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("../../static/reply.js"),
    )
}

pub(crate) async fn stylesheet() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], include_str!("../../static/center.css"))
}

/// What the pages of tenant `tenant`'s messages show of its branding (none when it has none,
/// or when it cannot be read: the page is the platform's own then, never an error).
async fn look_of(state: &AppState, tenant: i64) -> Option<crate::branding::Look> {
    match crate::store::branding::get(&state.db, tenant).await {
        Ok(b) => b.map(|b| crate::branding::Look::of(tenant, &b)),
        Err(e) => {
            tracing::warn!(error = %e, tenant, "cannot read the branding");
            None
        }
    }
}

/// The branding of the organisation whose message `link` leads to (none when it leads
/// nowhere: the page that says so is the platform's own).
async fn look_of_link(state: &AppState, link: &str) -> Option<crate::branding::Look> {
    let m = messages::by_link(&state.db, link).await.ok().flatten()?;
    look_of(state, m.tenant_id).await
}

/// `GET /c/brand/{tenant}/logo`: an organisation's logo, as its messages' pages show it.
async fn logo(
    axum::extract::State(state): axum::extract::State<AppState>,
    axum::extract::Path(tenant): axum::extract::Path<i64>,
) -> Result<Response, CenterError> {
    let (bytes, kind) =
        crate::store::branding::logo(&state.db, tenant).await?.ok_or(CenterError::NotFound)?;
    let kind = HeaderValue::from_str(&kind).map_err(CenterError::internal)?;
    Ok(([(header::CONTENT_TYPE, kind)], bytes).into_response())
}

/// Whether `email` received message `m` (as To, Cc or Bcc).
async fn is_recipient(state: &AppState, m: &MessageRow, email: &str) -> Result<bool, CenterError> {
    let all = messages::recipients(&state.db, &m.id).await?;
    Ok(all.iter().any(|(r, _)| r.eq_ignore_ascii_case(email)))
}

/// Whether `email` may read message `m`: its sender or one of its recipients.
async fn may_read(state: &AppState, m: &MessageRow, email: &str) -> Result<bool, CenterError> {
    Ok(m.sender_email.eq_ignore_ascii_case(email) || is_recipient(state, m, email).await?)
}

/// A form that carries nothing but its CSRF token.
#[derive(serde::Deserialize)]
struct CsrfOnly {
    csrf: String,
}
csrf_field!(CsrfOnly);

/// Asks for a new one-time code for `email` in `scope`, mailed through the queue when
/// `deliver` (the address received the message, or has an account): `kind` and `subject` of
/// the mail, `purpose` the sentence the code completes ("Your code to … : 123456"). A request
/// that is not delivered is counted and stored the same, so the answer — the page, the limit,
/// the time — is the same for every address. The page to show instead when too many codes
/// were asked for, or the queue failed.
async fn mail_code(
    state: &AppState,
    scope: center::CodeScope<'_>,
    email: &str,
    tenant_id: Option<i64>,
    (kind, subject, purpose): (&str, &str, &str),
    deliver: bool,
) -> Result<(), CenterError> {
    let mail = |code: &str| crate::store::notifications::Outgoing {
        key: crate::secrets::random_id(),
        tenant_id,
        kind: kind.into(),
        recipient: email.to_string(),
        subject: subject.into(),
        text: format!(
            "Your code to {purpose}: {code}\n\nIt is valid for 10 minutes. If you did not ask for \
             it, ignore this mail.\n"
        ),
        html: None,
    };
    let mail: Option<&(dyn Fn(&str) -> _ + Sync)> = if deliver { Some(&mail) } else { None };
    match center::new_code(&state.db, &state.master, scope, email, mail).await? {
        true => Ok(()),
        false => Err(CenterError::TooMany),
    }
}

/// The time zone `email` reads dates in: the one they chose in their preferences, else UTC.
async fn reader_zone(state: &AppState, email: &str) -> Result<jiff::tz::TimeZone, CenterError> {
    Ok(display::zone(center::time_zone(&state.db, email).await?.as_deref()))
}

/// Ends every session of `email` but this browser's (its password or second factor changed).
async fn end_other_sessions(
    state: &AppState,
    jar: &CookieJar,
    email: &str,
) -> Result<(), CenterError> {
    let keep = jar.get(SESSION_COOKIE).map(|c| c.value().to_string());
    Ok(center::end_sessions_of(&state.db, email, keep.as_deref()).await?)
}

/// A `__Host-` cookie: secure, HTTP only, same-site strict, for the whole site.
pub(crate) fn cookie(name: &'static str, value: String) -> Cookie<'static> {
    Cookie::build((name, value))
        .secure(true)
        .http_only(true)
        .same_site(SameSite::Strict)
        .path("/")
        .build()
}

/// The jar without the session cookie. The removal carries the attributes a `__Host-`
/// cookie must have, or the browser would ignore it and keep the cookie.
fn without_session(jar: CookieJar) -> CookieJar {
    jar.remove(cookie(SESSION_COOKIE, String::new()))
}

/// The CSRF token of this browser (set now when it has none).
pub(crate) fn csrf_token(jar: CookieJar) -> (CookieJar, String) {
    if let Some(c) = jar.get(CSRF_COOKIE) {
        let v = c.value().to_string();
        if v.len() == 32 {
            return (jar, v);
        }
    }
    let v = crate::secrets::random_id();
    (jar.add(cookie(CSRF_COOKIE, v.clone())), v)
}

/// Starts `email`'s session, proved by `proof` (audited, with the tenant and message it came
/// through, if any) and goes on to `next` — in the language the account chose, if it chose
/// one (in any browser, from the first page on).
async fn start_session(
    state: &AppState,
    jar: CookieJar,
    through: Option<&MessageRow>,
    (email, proof): (&str, center::Proof),
    next: &str,
) -> Result<Response, CenterError> {
    let token = center::new_session(&state.db, email, proof).await?;
    let (tenant, detail) = through.map_or((None, ""), |m| (Some(m.tenant_id), m.id.as_str()));
    let _ = audit::append(&state.db, tenant, email, "recipient.signed_in", detail).await;
    let mut jar = jar.add(cookie(SESSION_COOKIE, token.to_string()));
    if let Some(lang) =
        center::language(&state.db, email).await?.as_deref().and_then(Lang::from_code)
    {
        jar = jar.add(language::cookie(lang));
    }
    Ok((jar, Redirect::to(next)).into_response())
}
