//! The organisation's audit log: its entries newest first, filtered by who, what and when;
//! the hash chain verified from the page; and the filtered entries exported as JSON Lines
//! (one object per entry, with its hashes) for a SIEM. Only the organisation's own entries
//! are shown or exported; the chain is the platform's, so verifying walks all of it.

use askama::Template;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;

use super::error::{ConsoleError, page};
use super::extract::{AdminForm, CsrfOnly, TenantAdmin};
use super::home::Nav;
use super::{DAY_MS, day_start, when};
use crate::admin::Admin;
use crate::center::csrf_token;
use crate::state::AppState;
use crate::store::audit::{self, AuditRow, Filter, Verdict};
use crate::store::console_sessions::ConsoleSession;

/// Entries on one page.
const PAGE: i64 = 100;
/// How often an organisation may have the chain verified.
const VERIFY_EVERY_MS: i64 = 60_000;
/// Entries read per query while exporting.
const EXPORT_BATCH: i64 = 1000;

/// The filter as the page's form gives it (dates as `YYYY-MM-DD`, in UTC).
#[derive(Deserialize, serde::Serialize, Default, Clone)]
pub(super) struct AuditQuery {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    since: String,
    #[serde(default)]
    until: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    before: Option<i64>,
}

impl AuditQuery {
    /// The store's filter, or what is wrong with the form.
    fn filter(&self, limit: i64) -> Result<Filter, &'static str> {
        let text = |s: &str| {
            Some(s.trim().chars().take(254).collect::<String>()).filter(|s| !s.is_empty())
        };
        let date = |s: &str| match s.trim() {
            "" => Ok(None),
            d => day_start(d).map(Some).ok_or("Give dates as YYYY-MM-DD."),
        };
        Ok(Filter {
            actor: text(&self.actor),
            action: text(&self.action),
            since: date(&self.since)?,
            // The last day given is included.
            until: date(&self.until)?.map(|d| d + DAY_MS),
            before_seq: self.before,
            limit,
        })
    }

    /// The query string of this filter with `before` set to `seq`.
    fn next_page(&self, seq: i64) -> String {
        let q = AuditQuery { before: Some(seq), ..self.clone() };
        query_string(&q)
    }
}

/// The filter as a query string (for the next page's and the export's links).
fn query_string(q: &AuditQuery) -> String {
    serde_urlencoded::to_string(q).unwrap_or_default()
}

struct EntryView {
    seq: i64,
    at: String,
    actor: String,
    action: String,
    detail: String,
}

impl From<&AuditRow> for EntryView {
    fn from(r: &AuditRow) -> EntryView {
        EntryView {
            seq: r.seq,
            at: when(r.at),
            actor: r.actor.clone(),
            action: r.action.clone(),
            detail: r.detail.clone(),
        }
    }
}

#[derive(Template)]
#[template(path = "console/audit.html")]
struct AuditPage<'a> {
    nav: Nav<'a>,
    query: &'a AuditQuery,
    entries: Vec<EntryView>,
    next: Option<String>,
    export: String,
    done: Option<String>,
    problem: Option<String>,
}

async fn show(
    state: &AppState,
    jar: CookieJar,
    session: &ConsoleSession,
    query: &AuditQuery,
    outcome: Result<Option<String>, String>,
) -> Result<Response, ConsoleError> {
    let (entries, problem) = match query.filter(PAGE) {
        Ok(f) => (audit::list_for_tenant(&state.db, session.tenant_id, &f).await?, None),
        Err(why) => (Vec::new(), Some(why.to_string())),
    };
    let next =
        (entries.len() as i64 == PAGE).then(|| entries.last().map(|e| query.next_page(e.seq)));
    let (done, problem) = match outcome {
        Ok(done) => (done, problem),
        Err(p) => (None, Some(p)),
    };
    let status = if problem.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    let (jar, csrf) = csrf_token(jar);
    let export = query_string(&AuditQuery { before: None, ..query.clone() });
    let view = AuditPage {
        nav: Nav::of(session, &csrf),
        query,
        entries: entries.iter().map(EntryView::from).collect(),
        next: next.flatten(),
        export,
        done,
        problem,
    };
    Ok((jar, page(status, &view)?).into_response())
}

/// `GET /admin/audit?actor=…&action=…&since=…&until=…&before=…`
pub(super) async fn list(
    State(state): State<AppState>,
    jar: CookieJar,
    TenantAdmin(session): TenantAdmin,
    Query(query): Query<AuditQuery>,
) -> Result<Response, ConsoleError> {
    show(&state, jar, &session, &query, Ok(None)).await
}

/// `POST /admin/audit/verify`: walks the chain and says whether it holds.
pub(super) async fn verify(
    State(state): State<AppState>,
    jar: CookieJar,
    AdminForm(session, _): AdminForm<CsrfOnly>,
) -> Result<Response, ConsoleError> {
    // Walking the chain reads all of it: once a minute per organisation is plenty.
    let last = audit::last_at(&state.db, session.tenant_id, "audit.verified").await?;
    if last.is_some_and(|at| crate::db::now_ms() - at < VERIFY_EVERY_MS) {
        let why = "The chain was verified less than a minute ago; try again in a minute.";
        return show(&state, jar, &session, &AuditQuery::default(), Err(why.into())).await;
    }
    let admin = Admin::console(&state, &session.email, session.operator);
    let outcome = match admin.verify_audit().await.map_err(ConsoleError::internal)? {
        Verdict::Intact { .. } => {
            Ok(Some("The audit log is intact: every entry links up with the one before.".into()))
        }
        Verdict::Broken { seq, reason } => Err(format!(
            "The audit log is broken at entry {seq}: {reason}. Tell the platform's operators."
        )),
    };
    let detail = match &outcome {
        Ok(_) => "intact".to_string(),
        Err(_) => "broken".to_string(),
    };
    audit::append(&state.db, Some(session.tenant_id), &session.email, "audit.verified", &detail)
        .await?;
    show(&state, jar, &session, &AuditQuery::default(), outcome).await
}

/// One exported entry.
#[derive(serde::Serialize)]
struct Exported<'a> {
    seq: i64,
    at: String,
    at_ms: i64,
    actor: &'a str,
    action: &'a str,
    detail: &'a str,
    prev_hash: String,
    hash: String,
}

fn json_line(r: &AuditRow) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(r.at.max(0) as u64);
    let e = Exported {
        seq: r.seq,
        at: humantime::format_rfc3339_millis(t).to_string(),
        at_ms: r.at,
        actor: &r.actor,
        action: &r.action,
        detail: &r.detail,
        prev_hash: hex::encode(&r.prev_hash),
        hash: hex::encode(&r.hash),
    };
    // Serialising these fields cannot fail.
    let mut line = serde_json::to_string(&e).unwrap_or_default();
    line.push('\n');
    line
}

/// `GET /admin/audit/export?…`: the filtered entries as JSON Lines, newest first, streamed
/// in batches (a log of any length costs one batch of memory).
pub(super) async fn export(
    State(state): State<AppState>,
    TenantAdmin(session): TenantAdmin,
    Query(query): Query<AuditQuery>,
) -> Result<Response, ConsoleError> {
    let Ok(first) = query.filter(EXPORT_BATCH) else {
        return Err(ConsoleError::NotFound);
    };
    audit::append(&state.db, Some(session.tenant_id), &session.email, "audit.exported", "").await?;
    let tenant = session.tenant_id;
    let stream = futures_util::stream::unfold(Some(first), move |filter| {
        let db = state.db.clone();
        async move {
            let mut filter = filter?;
            match audit::list_for_tenant(&db, tenant, &filter).await {
                Ok(rows) => {
                    let more = rows.len() as i64 == filter.limit;
                    let chunk: String = rows.iter().map(json_line).collect();
                    filter.before_seq = rows.last().map(|r| r.seq);
                    let next = if more { Some(filter) } else { None };
                    Some((Ok::<_, std::io::Error>(bytes::Bytes::from(chunk)), next))
                }
                Err(e) => Some((Err(std::io::Error::other(e.to_string())), None)),
            }
        }
    });
    let mut response = Body::from_stream(stream).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-ndjson"));
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"sealpost-audit.jsonl\""),
    );
    Ok(response)
}
