//! Members imported from a CSV file: one member per line, `email,role` (the role may be left
//! out: sender; a first line `email,role` is a header). The whole file is checked before
//! anything changes — every line gets its plan (added, role changed, unchanged) or its
//! problem — and a file with any problem changes nothing. A dry run shows the plan and stops
//! there. (Should the database fail while the changes are being made, those made stay, each
//! with its audit entry; importing the same file again does the rest, the lines already done
//! being unchanged.)

use std::collections::HashSet;

use serde::Serialize;

use super::{Admin, AdminError};
use crate::domain::{EmailAddress, Role};
use crate::store::members;

/// Largest file accepted, in bytes.
pub const MAX_IMPORT_BYTES: usize = 1 << 20;
/// Most lines accepted.
pub const MAX_IMPORT_LINES: usize = 10_000;

/// What one line of the file does (or why it cannot).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "plan", rename_all = "snake_case")]
pub enum Planned {
    /// A new member with this role.
    Add {
        /// Their role.
        role: Role,
    },
    /// A member whose role changes.
    ChangeRole {
        /// The role they have.
        from: Role,
        /// The role the file gives.
        to: Role,
    },
    /// A member as the file has them already.
    Unchanged,
    /// The line cannot be imported.
    Problem {
        /// Why, in words an administrator can act on.
        why: String,
    },
}

/// One line of the file and its plan.
#[derive(Clone, Debug, Serialize)]
pub struct Line {
    /// Its number in the file, from 1.
    pub number: usize,
    /// The address as given.
    pub email: String,
    /// What it does.
    pub plan: Planned,
}

/// The file's plan: every line, and whether it was carried out.
#[derive(Clone, Debug, Serialize)]
pub struct Import {
    /// Every line, in order.
    pub lines: Vec<Line>,
    /// Whether the changes were made (not a dry run, and no line has a problem).
    pub applied: bool,
}

impl Import {
    /// How many lines have a problem.
    pub fn problems(&self) -> usize {
        self.lines.iter().filter(|l| matches!(l.plan, Planned::Problem { .. })).count()
    }

    /// How many lines change something.
    pub fn changes(&self) -> usize {
        self.lines
            .iter()
            .filter(|l| matches!(l.plan, Planned::Add { .. } | Planned::ChangeRole { .. }))
            .count()
    }
}

impl Admin<'_> {
    /// Plans the import of `csv` into tenant `tenant` and, unless `dry_run` or a line has a
    /// problem, carries it out: new members are added (each mailed a set-password link) and
    /// roles changed, each change audited as the console's own.
    pub async fn import_members(
        &self,
        tenant: i64,
        csv: &[u8],
        dry_run: bool,
    ) -> Result<Import, AdminError> {
        if csv.len() > MAX_IMPORT_BYTES {
            return Err(AdminError::Invalid(format!(
                "the file is larger than {} KiB; split it",
                MAX_IMPORT_BYTES / 1024
            )));
        }
        let lines = self.plan(tenant, csv).await?;
        let clean = lines.iter().all(|l| !matches!(l.plan, Planned::Problem { .. }));
        let applied = clean && !dry_run;
        if applied {
            for line in &lines {
                match line.plan {
                    Planned::Add { role } => {
                        self.add_member(tenant, &line.email, role).await?;
                    }
                    Planned::ChangeRole { to, .. } => {
                        self.set_role(tenant, &line.email, to).await?
                    }
                    Planned::Unchanged | Planned::Problem { .. } => {}
                }
            }
            let detail = format!("{} line(s)", lines.len());
            self.log(Some(tenant), "members.imported", &detail).await?;
        }
        Ok(Import { lines, applied })
    }

    /// Every line's plan, checked against the tenant as it is.
    async fn plan(&self, tenant: i64, csv: &[u8]) -> Result<Vec<Line>, AdminError> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .trim(csv::Trim::All)
            .comment(Some(b'#'))
            .from_reader(csv);
        let db = &self.state.db;
        let mut seen = HashSet::new();
        let mut lines = Vec::new();
        let mut admins = members::active_admins(db, tenant).await?;
        for (index, record) in reader.records().enumerate() {
            let number = index + 1;
            if lines.len() >= MAX_IMPORT_LINES {
                return Err(AdminError::Invalid(format!(
                    "the file has more than {MAX_IMPORT_LINES} lines; split it"
                )));
            }
            let record = match record {
                Ok(r) => r,
                Err(e) => {
                    let why = format!("not a CSV line: {e}");
                    lines.push(Line {
                        number,
                        email: String::new(),
                        plan: Planned::Problem { why },
                    });
                    continue;
                }
            };
            let given = record.get(0).unwrap_or("").to_string();
            let role_text = record.get(1).unwrap_or("").to_lowercase();
            if number == 1 && given.eq_ignore_ascii_case("email") {
                continue; // the header
            }
            if given.is_empty() && role_text.is_empty() {
                continue; // a blank line
            }
            let problem =
                |why: String| Line { number, email: given.clone(), plan: Planned::Problem { why } };
            if record.len() > 2 {
                lines.push(problem("a line has two fields: the address and the role".into()));
                continue;
            }
            let role = match role_text.as_str() {
                "" => Role::Sender,
                r => match Role::parse(r) {
                    Some(role) => role,
                    None => {
                        let why = format!("\"{r}\" is not a role: sender, admin or compliance");
                        lines.push(problem(why));
                        continue;
                    }
                },
            };
            let email = match EmailAddress::parse(&given) {
                Ok(e) => e,
                Err(why) => {
                    lines.push(problem(why));
                    continue;
                }
            };
            if !seen.insert(email.to_string()) {
                lines.push(problem(format!("{email} is in the file twice")));
                continue;
            }
            let plan = match members::find(db, tenant, email.as_str()).await? {
                Some(m) if m.role() == role => Planned::Unchanged,
                Some(m) => {
                    if m.role() == Role::Admin && m.disabled_at.is_none() {
                        if admins <= 1 {
                            let why = format!(
                                "{email} is the organisation's only administrator and keeps the role"
                            );
                            lines.push(problem(why));
                            continue;
                        }
                        admins -= 1;
                    }
                    Planned::ChangeRole { from: m.role(), to: role }
                }
                None => match self.domain_problem(tenant, &email).await? {
                    Some(why) => Planned::Problem { why },
                    // In the organisation's domain, yet someone else's account (an outside
                    // address an operator allowed elsewhere): not added here.
                    None if crate::store::accounts::user_by_email(db, &email).await?.is_some() => {
                        Planned::Problem { why: format!("{email} cannot be added here") }
                    }
                    None => Planned::Add { role },
                },
            };
            lines.push(Line { number, email: email.to_string(), plan });
        }
        Ok(lines)
    }

    /// Why `email` cannot become a member of tenant `tenant`, if it cannot: its domain is
    /// not one of the organisation's. (Only then is it asked whether the address has an
    /// account: nothing here tells an administrator about addresses outside their domains.)
    pub(super) async fn domain_problem(
        &self,
        tenant: i64,
        email: &EmailAddress,
    ) -> Result<Option<String>, AdminError> {
        let db = &self.state.db;
        Ok(match crate::store::accounts::domain_owner(db, email.domain()).await? {
            Some(owner) if owner == tenant => None,
            Some(_) => Some(format!("{} belongs to another organisation", email.domain())),
            None => Some(format!("{} is not one of this organisation's domains", email.domain())),
        })
    }
}
