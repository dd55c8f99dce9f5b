//! The console's one error type, [`ConsoleError`]: every way a console request ends other
//! than with its page — to the sign-in or enrolment page, a page only administrators may see,
//! something not in this organisation, an expired form, too many attempts, a form shown again
//! with its problem, or an internal error whose cause is logged and never shown. Also the
//! page renderers the handlers share.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};

use crate::admin::AdminError;
use crate::store::StoreError;

/// Why a console request does not get the page it asked for.
#[derive(Debug)]
pub(super) enum ConsoleError {
    /// No console session: to the sign-in page.
    SignInNeeded,
    /// The session may only set up the second factor: to that page.
    EnrolFirst,
    /// 403: the member's role does not open this page.
    AdminsOnly,
    /// 404: nothing of that name in this organisation.
    NotFound,
    /// 403: the form's CSRF token is missing or wrong.
    FormExpired,
    /// 429: too many attempts from this client.
    TooMany,
    /// Somewhere else (after a form that is done).
    Redirect(String),
    /// A page already made (a form shown again with its problem).
    Page(Box<Response>),
    /// 500: the cause is logged, never shown.
    Internal(String),
}

impl ConsoleError {
    /// An internal error caused by `cause`.
    pub(super) fn internal(cause: impl std::fmt::Display) -> ConsoleError {
        ConsoleError::Internal(cause.to_string())
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        let (status, heading, text) = match self {
            ConsoleError::SignInNeeded => return Redirect::to("/admin/signin").into_response(),
            ConsoleError::EnrolFirst => return Redirect::to("/admin/enrol").into_response(),
            ConsoleError::Redirect(to) => return Redirect::to(&to).into_response(),
            ConsoleError::Page(r) => return *r,
            ConsoleError::AdminsOnly => (
                StatusCode::FORBIDDEN,
                "For administrators",
                "This page is for your organisation's administrators.",
            ),
            ConsoleError::NotFound => (
                StatusCode::NOT_FOUND,
                "Not found",
                "There is nothing by that name in your organisation.",
            ),
            ConsoleError::FormExpired => (
                StatusCode::FORBIDDEN,
                "Please start again",
                "This form has expired. Go back, reload the page and try again.",
            ),
            ConsoleError::TooMany => (
                StatusCode::TOO_MANY_REQUESTS,
                "Too many attempts",
                "Wait a minute, then try again.",
            ),
            ConsoleError::Internal(cause) => {
                tracing::error!(error = %cause, "admin console");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "Please try again in a moment.",
                )
            }
        };
        notice(status, heading, text)
    }
}

impl From<StoreError> for ConsoleError {
    fn from(e: StoreError) -> ConsoleError {
        ConsoleError::internal(e)
    }
}

impl From<askama::Error> for ConsoleError {
    fn from(e: askama::Error) -> ConsoleError {
        ConsoleError::internal(format_args!("cannot render a page: {e}"))
    }
}

/// An operation that did nothing: what to tell the administrator, or the error it is.
pub(super) fn refusal(e: AdminError) -> Result<String, ConsoleError> {
    match e {
        AdminError::NoUser(_) | AdminError::NoTenant(_) | AdminError::NoMessage(_) => {
            Err(ConsoleError::NotFound)
        }
        AdminError::Invalid(why) | AdminError::Store(StoreError::Refused(why)) => Ok(why),
        e @ (AdminError::NoDeadLetter(_) | AdminError::NoOwnRelay) => Ok(e.to_string()),
        other => Err(ConsoleError::internal(other)),
    }
}

/// What a page says after an operation: `Ok(done)` when it worked, `Err(why)` when it was
/// refused ([`refusal`]); an error that is not the administrator's to fix stays an error.
/// [`said`] lends it to the page.
pub(super) fn outcome(
    result: Result<(), AdminError>,
    done: &str,
) -> Result<Result<String, String>, ConsoleError> {
    match result {
        Ok(()) => Ok(Ok(done.to_string())),
        Err(e) => refusal(e).map(Err),
    }
}

/// An [`outcome`] as the pages take it.
pub(super) fn said(outcome: &Result<String, String>) -> Result<&str, &str> {
    outcome.as_deref().map_err(String::as_str)
}

/// Template `t` rendered as the page with `status`.
pub(super) fn page(status: StatusCode, t: &impl Template) -> Result<Response, ConsoleError> {
    Ok((status, Html(t.render()?)).into_response())
}

#[derive(Template)]
#[template(path = "console/notice.html")]
struct Notice<'a> {
    heading: &'a str,
    text: &'a str,
}

/// A notice page: `heading` and a sentence, with `status`.
pub(super) fn notice(status: StatusCode, heading: &str, text: &str) -> Response {
    match (Notice { heading, text }).render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "cannot render a page");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}
