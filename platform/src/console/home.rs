//! The console's first page: the organisation, who is signed in and as what, and the way to
//! each part of the console their role opens.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum_extra::extract::cookie::CookieJar;

use super::error::{ConsoleError, page};
use super::extract::SignedIn;
use crate::center::csrf_token;
use crate::domain::Role;
use crate::state::AppState;
use crate::store::members;

#[derive(Template)]
#[template(path = "console/home.html")]
struct Home<'a> {
    nav: Nav<'a>,
    organisation: &'a str,
    role: &'static str,
    members: i64,
}

/// What every console page's header shows: who is signed in, the links their role opens, and
/// the sign-out form.
pub(super) struct Nav<'a> {
    /// The member's address.
    pub(super) email: &'a str,
    /// Whether the member is an administrator.
    pub(super) admin: bool,
    /// Whether the member is one of the platform's operators.
    pub(super) operator: bool,
    /// The CSRF token for the sign-out form.
    pub(super) csrf: &'a str,
}

impl<'a> Nav<'a> {
    pub(super) fn of(
        session: &'a crate::store::console_sessions::ConsoleSession,
        csrf: &'a str,
    ) -> Nav<'a> {
        Nav {
            email: &session.email,
            admin: session.role == Role::Admin,
            operator: session.operator,
            csrf,
        }
    }
}

/// `GET /admin`
pub(super) async fn home(
    State(state): State<AppState>,
    jar: CookieJar,
    SignedIn(session): SignedIn,
) -> Result<Response, ConsoleError> {
    let organisation =
        members::tenant_name(&state.db, session.tenant_id).await?.ok_or(ConsoleError::NotFound)?;
    let count = members::count(&state.db, session.tenant_id).await?;
    let (jar, csrf) = csrf_token(jar);
    let role = match session.role {
        Role::Admin => "administrator",
        Role::Compliance => "compliance officer",
        Role::Sender => "operator",
    };
    let view =
        Home { nav: Nav::of(&session, &csrf), organisation: &organisation, role, members: count };
    Ok(axum::response::IntoResponse::into_response((jar, page(StatusCode::OK, &view)?)))
}
