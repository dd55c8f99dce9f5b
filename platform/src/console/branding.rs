//! Branding: the organisation's display name, colour and logo — what recipients see in the
//! Message Center's pages of its messages, in its stubs, and as the sender's name of the
//! platform's mail for it (`crate::branding` holds the rules). The page previews the
//! Message Center's header and the stub as they will look, from what is saved.

use askama::Template;
use axum::extract::{Multipart, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;

use super::Said;
use super::error::{ConsoleError, page, refusal};
use super::extract::TenantAdmin;
use super::home::Nav;
use crate::admin::Admin;
use crate::branding::{Look, MAX_LOGO_BYTES};
use crate::center::csrf_token;
use crate::center::extract::csrf_matches;
use crate::state::AppState;
use crate::store::console_sessions::ConsoleSession;
use crate::store::{accounts, branding};
use crate::stub;

/// This page's policy: the console's, and `style` attributes for the preview — which carry
/// nothing but the organisation's colour, checked as `#rrggbb` before it was saved.
const PREVIEW_CSP: &str = "default-src 'none'; style-src 'self'; style-src-attr 'unsafe-inline'; \
                           img-src 'self'; font-src 'none'; form-action 'self'; \
                           frame-ancestors 'none'; base-uri 'none'";

#[derive(Template)]
#[template(path = "console/branding.html")]
struct BrandingPage<'a> {
    nav: Nav<'a>,
    name: String,
    colour: String,
    look: Option<Look>,
    stub_subject: String,
    stub_text: String,
    done: Option<&'a str>,
    problem: Option<&'a str>,
}

async fn show(
    state: &AppState,
    jar: CookieJar,
    session: &ConsoleSession,
    outcome: Result<&str, &str>,
) -> Result<Response, ConsoleError> {
    let saved = branding::get(&state.db, session.tenant_id).await?;
    let policy = accounts::policy(&state.db, session.tenant_id).await?;
    let example = format!("{}/m/…", state.public_url);
    let stub = stub::build(&policy, saved.as_ref(), "Quarterly figures", None, &example);
    let said = Said::from(outcome);
    let (jar, csrf) = csrf_token(jar);
    let view = BrandingPage {
        nav: Nav::of(session, &csrf),
        name: saved.as_ref().map(|b| b.display_name.clone()).unwrap_or_default(),
        colour: saved.as_ref().map_or_else(|| "#1f4e79".into(), |b| b.colour.clone()),
        look: saved.as_ref().map(|b| Look::of(session.tenant_id, b)),
        stub_subject: stub.subject,
        stub_text: stub.text,
        done: said.done,
        problem: said.problem,
    };
    let mut response = (jar, page(said.status(), &view)?).into_response();
    let csp = HeaderValue::from_static(PREVIEW_CSP);
    response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, csp);
    Ok(response)
}

/// `GET /admin/branding`
pub(super) async fn branding_page(
    State(state): State<AppState>,
    jar: CookieJar,
    TenantAdmin(session): TenantAdmin,
) -> Result<Response, ConsoleError> {
    show(&state, jar, &session, Ok("")).await
}

/// The form as posted.
#[derive(Default)]
struct Posted {
    csrf: String,
    name: String,
    colour: String,
    logo: Vec<u8>,
    remove_logo: bool,
}

async fn read(mut form: Multipart) -> Result<Posted, &'static str> {
    let unreadable = "The form could not be read. A logo is a PNG or JPEG of at most 100 KiB.";
    let mut posted = Posted::default();
    while let Some(mut field) = form.next_field().await.map_err(|_| unreadable)? {
        let name = field.name().unwrap_or_default().to_string();
        if name == "logo" {
            while let Some(chunk) = field.chunk().await.map_err(|_| unreadable)? {
                if posted.logo.len() + chunk.len() > MAX_LOGO_BYTES {
                    return Err("The logo is larger than 100 KiB.");
                }
                posted.logo.extend_from_slice(&chunk);
            }
            continue;
        }
        let value = field.text().await.map_err(|_| unreadable)?;
        match name.as_str() {
            "csrf" => posted.csrf = value,
            "name" => posted.name = value,
            "colour" => posted.colour = value,
            "remove_logo" => posted.remove_logo = true,
            _ => {}
        }
    }
    Ok(posted)
}

/// `POST /admin/branding` (multipart: `csrf`, `name`, `colour`, `logo`, `remove_logo`).
pub(super) async fn save(
    State(state): State<AppState>,
    jar: CookieJar,
    TenantAdmin(session): TenantAdmin,
    form: Multipart,
) -> Result<Response, ConsoleError> {
    let posted = match read(form).await {
        Ok(p) if csrf_matches(&jar, &p.csrf) => p,
        Ok(_) => return Err(ConsoleError::FormExpired),
        Err(why) => return show(&state, jar, &session, Err(why)).await,
    };
    let admin = Admin::console(&state, &session.email, session.operator);
    let tenant = session.tenant_id;
    let mut result = admin.set_branding(tenant, &posted.name, &posted.colour).await;
    if result.is_ok() && !posted.logo.is_empty() {
        result = admin.set_logo(tenant, Some(&posted.logo)).await;
    } else if result.is_ok() && posted.remove_logo {
        result = admin.set_logo(tenant, None).await;
    }
    match result {
        Ok(()) => {
            let done = "Saved: recipients see it on your messages' pages and stubs from now on.";
            show(&state, jar, &session, Ok(done)).await
        }
        Err(e) => {
            let why = format!("Not saved: {}.", refusal(e)?);
            show(&state, jar, &session, Err(&why)).await
        }
    }
}
