//! Keys: the organisation's compliance key — every message can also be opened with it when
//! the policy's compliance copy is on — set by pasting its public key (PEM); and the
//! platform key new messages are wrapped for, with its id and age (operators rotate it).

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;

use super::Said;
use super::error::{ConsoleError, page, refusal};
use super::extract::{AdminForm, TenantAdmin};
use super::home::Nav;
use super::when;
use crate::admin::Admin;
use crate::center::csrf_token;
use crate::center::extract::csrf_field;
use crate::db::now_ms;
use crate::state::AppState;
use crate::store::console_sessions::ConsoleSession;
use crate::store::{accounts, platform_keys, user_keys};

/// Longest public key accepted, in bytes (an RSA-8192 SPKI in PEM is under 1.5 KB).
const MAX_PEM_BYTES: usize = 16 * 1024;

#[derive(Template)]
#[template(path = "console/keys.html")]
struct KeysPage<'a> {
    nav: Nav<'a>,
    compliance_key: Option<String>,
    compliance_copy: bool,
    platform_key: Option<(String, String, i64)>,
    done: Option<&'a str>,
    problem: Option<&'a str>,
}

async fn show(
    state: &AppState,
    jar: CookieJar,
    session: &ConsoleSession,
    outcome: Result<&str, &str>,
) -> Result<Response, ConsoleError> {
    let compliance_key =
        user_keys::compliance_key(&state.db, session.tenant_id).await?.map(|k| k.key_id);
    let compliance_copy = accounts::policy(&state.db, session.tenant_id).await?.compliance_copy;
    let platform_key = platform_keys::active(&state.db)
        .await?
        .map(|(id, made)| (id, when(made), (now_ms() - made).max(0) / 86_400_000));
    let said = Said::from(outcome);
    let (jar, csrf) = csrf_token(jar);
    let view = KeysPage {
        nav: Nav::of(session, &csrf),
        compliance_key,
        compliance_copy,
        platform_key,
        done: said.done,
        problem: said.problem,
    };
    Ok((jar, page(said.status(), &view)?).into_response())
}

/// `GET /admin/keys`
pub(super) async fn keys(
    State(state): State<AppState>,
    jar: CookieJar,
    TenantAdmin(session): TenantAdmin,
) -> Result<Response, ConsoleError> {
    show(&state, jar, &session, Ok("")).await
}

#[derive(Deserialize)]
pub(super) struct ComplianceKeyForm {
    csrf: String,
    pem: String,
}
csrf_field!(ComplianceKeyForm);

/// `POST /admin/keys/compliance`
pub(super) async fn set_compliance_key(
    State(state): State<AppState>,
    jar: CookieJar,
    AdminForm(session, form): AdminForm<ComplianceKeyForm>,
) -> Result<Response, ConsoleError> {
    if form.pem.len() > MAX_PEM_BYTES {
        return show(&state, jar, &session, Err("That is not a public key: it is far too long."))
            .await;
    }
    let admin = Admin::console(&state, &session.email, session.operator);
    match admin.set_compliance_key(session.tenant_id, form.pem.trim().as_bytes()).await {
        Ok(id) => {
            let done = format!("The compliance key is now {}.", id.to_hex());
            show(&state, jar, &session, Ok(&done)).await
        }
        Err(e) => {
            let why = format!("Not a usable public key: {}", refusal(e)?);
            show(&state, jar, &session, Err(&why)).await
        }
    }
}
