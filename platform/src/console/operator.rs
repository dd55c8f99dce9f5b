//! The platform's own page, for its operators (`users.operator`; the first administrator is
//! one, `sealpost-platform admin operator` makes more): every organisation with its domains,
//! members and use over the last 30 days — counts only, never a member's or a message's
//! details — and new organisations with their mail domains, or a domain added to one. A
//! domain belongs to one organisation only (`Admin::create_tenant`, `Admin::add_domain`).

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;

use super::Said;
use super::error::{ConsoleError, outcome, page, said};
use super::extract::{Operator, OperatorForm};
use super::home::Nav;
use super::{DAY_MS, when};
use crate::admin::Admin;
use crate::center::csrf_token;
use crate::center::extract::csrf_field;
use crate::center::read::human_size;
use crate::db::now_ms;
use crate::state::AppState;
use crate::store::console_sessions::ConsoleSession;
use crate::store::reports;

struct OrganisationRow {
    id: i64,
    name: String,
    domains: String,
    created: String,
    members: i64,
    messages: i64,
    bytes: String,
}

#[derive(Template)]
#[template(path = "console/operator.html")]
struct OperatorPage<'a> {
    nav: Nav<'a>,
    organisations: Vec<OrganisationRow>,
    done: Option<&'a str>,
    problem: Option<&'a str>,
}

async fn show(
    state: &AppState,
    jar: CookieJar,
    session: &ConsoleSession,
    outcome: Result<&str, &str>,
) -> Result<Response, ConsoleError> {
    let usage = reports::usage_by_tenant(&state.db, now_ms() - 30 * DAY_MS).await?;
    let domains = reports::domains(&state.db).await?;
    let organisations = usage
        .into_iter()
        .map(|t| OrganisationRow {
            domains: domains
                .iter()
                .filter(|(id, _)| *id == t.id)
                .map(|(_, d)| d.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            id: t.id,
            name: t.name,
            created: when(t.created_at),
            members: t.members,
            messages: t.messages,
            bytes: human_size(t.bytes.max(0) as u64),
        })
        .collect();
    let said = Said::from(outcome);
    let (jar, csrf) = csrf_token(jar);
    let view = OperatorPage {
        nav: Nav::of(session, &csrf),
        organisations,
        done: said.done,
        problem: said.problem,
    };
    Ok((jar, page(said.status(), &view)?).into_response())
}

/// `GET /admin/operator`
pub(super) async fn organisations(
    State(state): State<AppState>,
    jar: CookieJar,
    Operator(session): Operator,
) -> Result<Response, ConsoleError> {
    show(&state, jar, &session, Ok("")).await
}

#[derive(Deserialize)]
pub(super) struct NewOrganisation {
    csrf: String,
    name: String,
    /// One per line (or separated by commas or spaces).
    domains: String,
}
csrf_field!(NewOrganisation);

/// `POST /admin/operator/organisations`
pub(super) async fn create(
    State(state): State<AppState>,
    jar: CookieJar,
    OperatorForm(session, form): OperatorForm<NewOrganisation>,
) -> Result<Response, ConsoleError> {
    let domains: Vec<String> = form
        .domains
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|d| !d.is_empty())
        .take(100)
        .map(String::from)
        .collect();
    let admin = Admin::console(&state, &session.email, session.operator);
    let result = admin.create_tenant(&form.name, &domains).await.map(|_| ());
    let done = format!(
        "The organisation \"{}\" is created. Add its first administrator with \
         `sealpost-platform admin member --tenant … --email … add --role admin`.",
        form.name.trim()
    );
    show(&state, jar, &session, said(&outcome(result, &done)?)).await
}

#[derive(Deserialize)]
pub(super) struct NewDomain {
    csrf: String,
    domain: String,
}
csrf_field!(NewDomain);

/// `POST /admin/operator/organisations/{id}/domains`
pub(super) async fn add_domain(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(id): Path<i64>,
    OperatorForm(session, form): OperatorForm<NewDomain>,
) -> Result<Response, ConsoleError> {
    let admin = Admin::console(&state, &session.email, session.operator);
    if crate::store::members::tenant_name(&state.db, id).await?.is_none() {
        return Err(ConsoleError::NotFound);
    }
    let result = admin.add_domain(id, &form.domain).await;
    show(&state, jar, &session, said(&outcome(result, "The domain is added.")?)).await
}
