//! The Center's one error type, [`CenterError`]: every way a request ends other than with the
//! page it asked for — a notice page (no such message, recalled, expired, damaged, a form
//! that expired, too many attempts, …), a redirect (sign in first, open or unlock the message
//! first), a form shown again with its problem, or an internal error whose cause is logged
//! and never shown. Handlers return `Result<Response, CenterError>` and use `?`: store,
//! message (`ApiError`) and template errors convert. Also the page renderers the handlers
//! share: [`page`] and [`notice`].
//!
//! A notice is named by the ids of its words ([`Phrase`]s): the response carries them
//! ([`NoticeOf`]), and the language middleware renders the page in the request's language.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;

use super::language::{NoticeOf, Phrase, Tr};
use crate::error::ApiError;
use crate::store::StoreError;

/// Why a Center request does not get the page it asked for.
#[derive(Debug)]
pub(super) enum CenterError {
    /// 404: the link leads to no message (or to none this reader may see).
    NotFound,
    /// 410: the sender recalled the message.
    Recalled,
    /// 410: the message's time is over.
    Expired,
    /// 500: the stored envelope is damaged (the cause is logged with the message's id in
    /// `reading::damaged`).
    Damaged,
    /// 403: the form's CSRF token is missing or wrong.
    FormExpired,
    /// 429: too many attempts from this client, or codes for this address.
    TooMany,
    /// 400: what was given as an address is not one.
    NotAnAddress,
    /// 403: a first password is chosen only right after a mailed code.
    CodeFirst,
    /// 400: the language switch was asked for a language the Center does not speak, or to
    /// go back somewhere that is not one of its pages.
    NotHere,
    /// No session: to the sign-in page.
    SignInNeeded,
    /// The browser's session has ended: to the sign-in page, which says so, with the cookie
    /// removed (the jar that removes it).
    SessionEnded(Box<CookieJar>),
    /// Somewhere else first (open the message, unlock it, read it).
    Redirect(String),
    /// A page already made: a form shown again with its problem, or an extractor's own
    /// rejection, sent as it is. (Boxed, as the jar above: the error stays small.)
    Page(Box<Response>),
    /// 500: the cause is logged, never shown.
    Internal(String),
}

impl CenterError {
    /// An internal error caused by `cause`.
    pub(super) fn internal(cause: impl std::fmt::Display) -> CenterError {
        CenterError::Internal(cause.to_string())
    }

    /// Template `form`, shown again with `status` (it carries its problem).
    pub(super) fn form(status: StatusCode, form: &impl Template) -> CenterError {
        match page(status, form) {
            Ok(r) => CenterError::Page(Box::new(r)),
            Err(e) => e,
        }
    }

    /// To `to` first.
    pub(super) fn redirect(to: impl Into<String>) -> CenterError {
        CenterError::Redirect(to.into())
    }
}

impl IntoResponse for CenterError {
    fn into_response(self) -> Response {
        let (status, heading, text) = match self {
            CenterError::NotFound => {
                (StatusCode::NOT_FOUND, Phrase("not-found"), Phrase("not-found-text"))
            }
            CenterError::Recalled => {
                (StatusCode::GONE, Phrase("recalled"), Phrase("recalled-text"))
            }
            CenterError::Expired => (StatusCode::GONE, Phrase("expired"), Phrase("expired-text")),
            CenterError::Damaged => {
                (StatusCode::INTERNAL_SERVER_ERROR, Phrase("damaged"), Phrase("damaged-text"))
            }
            CenterError::FormExpired => {
                (StatusCode::FORBIDDEN, Phrase("form-expired"), Phrase("form-expired-text"))
            }
            CenterError::TooMany => {
                (StatusCode::TOO_MANY_REQUESTS, Phrase("too-many"), Phrase("too-many-text"))
            }
            CenterError::NotAnAddress => {
                (StatusCode::BAD_REQUEST, Phrase("not-an-address"), Phrase("not-an-address-text"))
            }
            CenterError::CodeFirst => {
                (StatusCode::FORBIDDEN, Phrase("code-first"), Phrase("code-first-text"))
            }
            CenterError::NotHere => {
                (StatusCode::BAD_REQUEST, Phrase("not-here"), Phrase("not-here-text"))
            }
            CenterError::SignInNeeded => return Redirect::to("/c/signin").into_response(),
            CenterError::SessionEnded(jar) => {
                return (*jar, Redirect::to("/c/signin?ended=1")).into_response();
            }
            CenterError::Redirect(to) => return Redirect::to(&to).into_response(),
            CenterError::Page(r) => return *r,
            CenterError::Internal(cause) => {
                tracing::error!(error = %cause, "message center");
                (StatusCode::INTERNAL_SERVER_ERROR, Phrase("went-wrong"), Phrase("went-wrong-text"))
            }
        };
        let words = NoticeOf { heading, text };
        let mut response = status.into_response();
        response.extensions_mut().insert(words);
        response
    }
}

impl From<StoreError> for CenterError {
    fn from(e: StoreError) -> CenterError {
        CenterError::internal(e)
    }
}

/// What `crate::messages` and `crate::reading` return: a damaged message keeps its own page
/// (its cause is logged in `reading::damaged`); anything else is an internal error.
impl From<ApiError> for CenterError {
    fn from(e: ApiError) -> CenterError {
        if e.code() == crate::reading::DAMAGED {
            CenterError::Damaged
        } else {
            CenterError::internal(e)
        }
    }
}

impl From<askama::Error> for CenterError {
    fn from(e: askama::Error) -> CenterError {
        CenterError::internal(format_args!("cannot render a page: {e}"))
    }
}

/// Template `t` rendered as the page with `status`.
pub(super) fn page(status: StatusCode, t: &impl Template) -> Result<Response, CenterError> {
    Ok((status, Html(t.render()?)).into_response())
}

#[derive(Template)]
#[template(path = "center/notice.html")]
struct Notice<'a> {
    t: &'a Tr,
    heading: Phrase,
    text: Phrase,
}

/// A notice page in `t`'s language: `heading` and a sentence, with `status`.
pub(super) fn notice(t: &Tr, status: StatusCode, heading: Phrase, text: Phrase) -> Response {
    match (Notice { t, heading, text }).render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "cannot render a page");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}
