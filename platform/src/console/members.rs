//! Members: the organisation's people, listed and searched; one added (with a set-password
//! link mailed to them), or many from a CSV file (checked line by line first, with a dry
//! run; a file with a problem changes nothing: `admin::import`); and, on a member's page, their role, disabling and enabling, a reset
//! of their second factor, their devices (each revocable), and a new set-password link.
//! Every change is `crate::admin`'s operation, scoped by the session's organisation and
//! audited under the administrator's address; what it refuses is shown on the page.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;

use super::Said;
use super::error::{ConsoleError, outcome, page, refusal, said};
use super::extract::{AdminForm, CsrfOnly, TenantAdmin};
use super::home::Nav;
use super::when;
use crate::admin::{Admin, AdminError, Planned};
use crate::center::csrf_token;
use crate::center::extract::csrf_field;
use crate::domain::Role;
use crate::state::AppState;
use crate::store::console_sessions::ConsoleSession;
use crate::store::members::{self, Member};

/// A member as a row of the list and the head of their page.
struct MemberView {
    id: i64,
    email: String,
    name: String,
    role: &'static str,
    role_value: &'static str,
    added: String,
    disabled: Option<String>,
    second_factor: bool,
    devices: i64,
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Sender => "Sender",
        Role::Admin => "Administrator",
        Role::Compliance => "Compliance officer",
    }
}

impl From<&Member> for MemberView {
    fn from(m: &Member) -> MemberView {
        MemberView {
            id: m.id,
            email: m.email.clone(),
            name: m.display_name.clone().unwrap_or_default(),
            role: role_name(m.role()),
            role_value: m.role().as_str(),
            added: when(m.created_at),
            disabled: m.disabled_at.map(when),
            second_factor: m.totp_enabled == 1,
            devices: m.devices,
        }
    }
}

/// The roles an administrator can give, as (value, name).
const ROLES: [(&str, &str); 3] =
    [("sender", "Sender"), ("admin", "Administrator"), ("compliance", "Compliance officer")];

#[derive(Template)]
#[template(path = "console/members.html")]
struct MembersPage<'a> {
    nav: Nav<'a>,
    search: &'a str,
    members: Vec<MemberView>,
    next: Option<String>,
    roles: &'a [(&'a str, &'a str)],
    done: Option<&'a str>,
    problem: Option<&'a str>,
    new_email: &'a str,
}

#[derive(Deserialize, Default)]
pub(super) struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    after: String,
}

/// The list (searched, a page after `after`) with the outcome of an add.
async fn show_list(
    state: &AppState,
    jar: CookieJar,
    session: &ConsoleSession,
    query: &ListQuery,
    outcome: Result<&str, &str>,
    new_email: &str,
) -> Result<Response, ConsoleError> {
    let search: String = query.q.chars().take(254).collect();
    let after: String = query.after.chars().take(254).collect();
    let found = members::list(&state.db, session.tenant_id, &search, &after).await?;
    let next = (found.len() as i64 == members::PAGE).then(|| found.last().map(|m| m.email.clone()));
    let (jar, csrf) = csrf_token(jar);
    let said = Said::from(outcome);
    let view = MembersPage {
        nav: Nav::of(session, &csrf),
        search: &search,
        members: found.iter().map(MemberView::from).collect(),
        next: next.flatten(),
        roles: &ROLES,
        done: said.done,
        problem: said.problem,
        new_email,
    };
    Ok((jar, page(said.status(), &view)?).into_response())
}

/// `GET /admin/members?q=…&after=…`
pub(super) async fn list(
    State(state): State<AppState>,
    jar: CookieJar,
    TenantAdmin(session): TenantAdmin,
    Query(query): Query<ListQuery>,
) -> Result<Response, ConsoleError> {
    show_list(&state, jar, &session, &query, Ok(""), "").await
}

#[derive(Deserialize)]
pub(super) struct AddForm {
    csrf: String,
    email: String,
    role: String,
}
csrf_field!(AddForm);

/// `POST /admin/members`: adds a member and mails them a set-password link.
pub(super) async fn add(
    State(state): State<AppState>,
    jar: CookieJar,
    AdminForm(session, form): AdminForm<AddForm>,
) -> Result<Response, ConsoleError> {
    let query = ListQuery::default();
    let Some(role) = Role::parse(&form.role) else {
        return show_list(&state, jar, &session, &query, Err("Choose a role."), &form.email).await;
    };
    let admin = Admin::console(&state, &session.email, session.operator);
    match admin.add_member(session.tenant_id, &form.email, role).await {
        Ok(email) => {
            let done = format!("{email} was added, and sent a link to choose their password.");
            show_list(&state, jar, &session, &query, Ok(&done), "").await
        }
        Err(e) => {
            let why = refusal(e)?;
            show_list(&state, jar, &session, &query, Err(&why), &form.email).await
        }
    }
}

#[derive(Template)]
#[template(path = "console/member.html")]
struct MemberPage<'a> {
    nav: Nav<'a>,
    member: MemberView,
    roles: &'a [(&'a str, &'a str)],
    devices: Vec<DeviceView>,
    done: Option<&'a str>,
    problem: Option<&'a str>,
}

struct DeviceView {
    id: i64,
    label: String,
    created: String,
    last_used: String,
    revoked: Option<String>,
}

/// Member `id`'s page with the outcome of an action on them.
async fn show_member(
    state: &AppState,
    jar: CookieJar,
    session: &ConsoleSession,
    id: i64,
    outcome: Result<&str, &str>,
) -> Result<Response, ConsoleError> {
    let m =
        members::by_id(&state.db, session.tenant_id, id).await?.ok_or(ConsoleError::NotFound)?;
    let admin = Admin::console(state, &session.email, session.operator);
    let devices =
        admin.devices(session.tenant_id, &m.email).await.map_err(ConsoleError::internal)?;
    let devices = devices
        .into_iter()
        .map(|t| DeviceView {
            id: t.id,
            label: t.label,
            created: when(t.created_at),
            last_used: t.last_used_at.map_or_else(|| "never".into(), when),
            revoked: t.revoked_at.map(when),
        })
        .collect();
    let (jar, csrf) = csrf_token(jar);
    let said = Said::from(outcome);
    let view = MemberPage {
        nav: Nav::of(session, &csrf),
        member: MemberView::from(&m),
        roles: &ROLES,
        devices,
        done: said.done,
        problem: said.problem,
    };
    Ok((jar, page(said.status(), &view)?).into_response())
}

/// `GET /admin/members/{id}`
pub(super) async fn show(
    State(state): State<AppState>,
    jar: CookieJar,
    TenantAdmin(session): TenantAdmin,
    Path(id): Path<i64>,
) -> Result<Response, ConsoleError> {
    show_member(&state, jar, &session, id, Ok("")).await
}

/// What an administrator does to a member from their page.
enum Action {
    Name(String),
    Role(Role),
    Disable,
    Enable,
    ResetSecondFactor,
    PasswordLink,
    RevokeDevice(i64),
}

impl Action {
    /// What the page says when it worked.
    fn done(&self) -> String {
        match self {
            Action::Name(name) if name.trim().is_empty() => "The display name is removed.".into(),
            Action::Name(_) => "The display name is saved.".into(),
            Action::Role(role) => format!("The role is now {}.", role_name(*role)),
            Action::Disable => "Disabled: they can no longer sign in, and their devices were \
                                signed out. Their messages and history stay."
                .into(),
            Action::Enable => "Enabled again. Their devices sign in anew.".into(),
            Action::ResetSecondFactor => "Their two-step sign-in is off; they set it up again \
                                          when they next sign in."
                .into(),
            Action::PasswordLink => "A link to choose a new password is on its way to them \
                                     (good for 24 hours)."
                .into(),
            Action::RevokeDevice(_) => "The device was signed out.".into(),
        }
    }

    /// Does it, as `admin`, to member `email` of `tenant`.
    async fn run(&self, admin: Admin<'_>, tenant: i64, email: &str) -> Result<(), AdminError> {
        match self {
            Action::Name(name) => admin.set_display_name(tenant, email, name).await,
            &Action::Role(role) => admin.set_role(tenant, email, role).await,
            Action::Disable => admin.set_disabled(tenant, email, true).await,
            Action::Enable => admin.set_disabled(tenant, email, false).await,
            Action::ResetSecondFactor => admin.reset_second_factor(tenant, email).await,
            Action::PasswordLink => admin.send_password_link(tenant, email).await,
            &Action::RevokeDevice(device) => admin.revoke_device(tenant, email, device).await,
        }
    }
}

/// Does `action` to member `id` (of the session's organisation) and shows their page with
/// what happened: what was done, or why it was refused.
async fn act(
    state: &AppState,
    jar: CookieJar,
    session: &ConsoleSession,
    id: i64,
    action: Action,
) -> Result<Response, ConsoleError> {
    let m =
        members::by_id(&state.db, session.tenant_id, id).await?.ok_or(ConsoleError::NotFound)?;
    let admin = Admin::console(state, &session.email, session.operator);
    let result = action.run(admin, session.tenant_id, &m.email).await;
    show_member(state, jar, session, id, said(&outcome(result, &action.done())?)).await
}

#[derive(Deserialize)]
pub(super) struct NameForm {
    csrf: String,
    #[serde(default)]
    name: String,
}
csrf_field!(NameForm);

/// `POST /admin/members/{id}/name`
pub(super) async fn set_name(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(id): Path<i64>,
    AdminForm(session, form): AdminForm<NameForm>,
) -> Result<Response, ConsoleError> {
    let name: String = form.name.chars().take(4 * crate::domain::MAX_DISPLAY_NAME_CHARS).collect();
    act(&state, jar, &session, id, Action::Name(name)).await
}

#[derive(Deserialize)]
pub(super) struct RoleForm {
    csrf: String,
    role: String,
}
csrf_field!(RoleForm);

/// `POST /admin/members/{id}/role`
pub(super) async fn set_role(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(id): Path<i64>,
    AdminForm(session, form): AdminForm<RoleForm>,
) -> Result<Response, ConsoleError> {
    let Some(role) = Role::parse(&form.role) else {
        return show_member(&state, jar, &session, id, Err("Choose a role.")).await;
    };
    act(&state, jar, &session, id, Action::Role(role)).await
}

/// `POST /admin/members/{id}/disable`
pub(super) async fn disable(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(id): Path<i64>,
    AdminForm(session, _): AdminForm<CsrfOnly>,
) -> Result<Response, ConsoleError> {
    act(&state, jar, &session, id, Action::Disable).await
}

/// `POST /admin/members/{id}/enable`
pub(super) async fn enable(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(id): Path<i64>,
    AdminForm(session, _): AdminForm<CsrfOnly>,
) -> Result<Response, ConsoleError> {
    act(&state, jar, &session, id, Action::Enable).await
}

/// `POST /admin/members/{id}/second-factor`
pub(super) async fn reset_second_factor(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(id): Path<i64>,
    AdminForm(session, _): AdminForm<CsrfOnly>,
) -> Result<Response, ConsoleError> {
    act(&state, jar, &session, id, Action::ResetSecondFactor).await
}

/// `POST /admin/members/{id}/password-link`
pub(super) async fn send_password_link(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(id): Path<i64>,
    AdminForm(session, _): AdminForm<CsrfOnly>,
) -> Result<Response, ConsoleError> {
    act(&state, jar, &session, id, Action::PasswordLink).await
}

/// `POST /admin/members/{id}/devices/{device}/revoke`
pub(super) async fn revoke_device(
    State(state): State<AppState>,
    jar: CookieJar,
    Path((id, device)): Path<(i64, i64)>,
    AdminForm(session, _): AdminForm<CsrfOnly>,
) -> Result<Response, ConsoleError> {
    act(&state, jar, &session, id, Action::RevokeDevice(device)).await
}

struct ImportRow {
    number: usize,
    email: String,
    plan: String,
    problem: bool,
}

#[derive(Template)]
#[template(path = "console/import.html")]
struct ImportPage<'a> {
    nav: Nav<'a>,
    rows: Vec<ImportRow>,
    summary: String,
    applied: bool,
    problems: usize,
}

/// The file as posted, and what was asked of it.
#[derive(Default)]
struct ImportUpload {
    csrf: String,
    dry_run: bool,
    csv: Vec<u8>,
}

/// Reads the import form (the file kept in memory: it is at most `MAX_IMPORT_BYTES`).
async fn read_import(mut form: axum::extract::Multipart) -> Result<ImportUpload, &'static str> {
    let unreadable = "The file could not be read. Choose a CSV file (at most 1 MiB) and try again.";
    let mut upload = ImportUpload::default();
    while let Some(mut field) = form.next_field().await.map_err(|_| unreadable)? {
        match field.name().unwrap_or_default() {
            "file" => {
                while let Some(chunk) = field.chunk().await.map_err(|_| unreadable)? {
                    if upload.csv.len() + chunk.len() > crate::admin::MAX_IMPORT_BYTES {
                        return Err("The file is larger than 1 MiB; split it.");
                    }
                    upload.csv.extend_from_slice(&chunk);
                }
            }
            "csrf" => upload.csrf = field.text().await.map_err(|_| unreadable)?,
            "mode" => upload.dry_run = field.text().await.map_err(|_| unreadable)? != "import",
            _ => {}
        }
    }
    Ok(upload)
}

/// `POST /admin/members/import` (multipart: `csrf`, `file`, `mode` = `check` or `import`):
/// the file's plan, line by line; carried out only with `import` and no problem.
pub(super) async fn import(
    State(state): State<AppState>,
    jar: CookieJar,
    TenantAdmin(session): TenantAdmin,
    form: axum::extract::Multipart,
) -> Result<Response, ConsoleError> {
    let upload = read_import(form).await;
    if !upload.as_ref().is_ok_and(|u| crate::center::extract::csrf_matches(&jar, &u.csrf)) {
        return match upload {
            Err(why) => show_list(&state, jar, &session, &ListQuery::default(), Err(why), "").await,
            Ok(_) => Err(ConsoleError::FormExpired),
        };
    }
    let upload = upload.map_err(ConsoleError::internal)?;
    if upload.csv.is_empty() {
        let why = "Choose a CSV file first.";
        return show_list(&state, jar, &session, &ListQuery::default(), Err(why), "").await;
    }
    let admin = Admin::console(&state, &session.email, session.operator);
    let result = match admin.import_members(session.tenant_id, &upload.csv, upload.dry_run).await {
        Ok(r) => r,
        Err(e) => {
            let why = refusal(e)?;
            return show_list(&state, jar, &session, &ListQuery::default(), Err(&why), "").await;
        }
    };
    let rows = result
        .lines
        .iter()
        .map(|l| ImportRow {
            number: l.number,
            email: l.email.clone(),
            plan: match &l.plan {
                Planned::Add { role } => format!("add as {}", role_name(*role)),
                Planned::ChangeRole { from, to } => {
                    format!("change the role from {} to {}", role_name(*from), role_name(*to))
                }
                Planned::Unchanged => "unchanged".into(),
                Planned::Problem { why } => why.clone(),
            },
            problem: matches!(l.plan, Planned::Problem { .. }),
        })
        .collect();
    let (problems, changes) = (result.problems(), result.changes());
    let summary = match (problems, result.applied) {
        (0, true) => format!(
            "Imported: {changes} change(s) made; new members were mailed a link to choose their password."
        ),
        (0, false) => {
            format!("Checked: {changes} change(s) would be made. Nothing was changed yet.")
        }
        (n, _) => format!(
            "{n} line(s) have a problem, so nothing was changed. Correct the file and try again."
        ),
    };
    let status = if problems > 0 { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    let (jar, csrf) = csrf_token(jar);
    let view = ImportPage {
        nav: Nav::of(&session, &csrf),
        rows,
        summary,
        applied: result.applied,
        problems,
    };
    Ok((jar, page(status, &view)?).into_response())
}
