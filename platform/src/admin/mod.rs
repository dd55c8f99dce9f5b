//! Administering the platform: the operations behind `sealpost-platform admin …` and the
//! admin console (`console`), which call the same functions. Each one checks its input, does
//! its work through `store`, and records itself in the audit log under the acting
//! administrator (`cli` for the command line, the member's address in the console). Errors
//! are typed ([`AdminError`]) and say what to fix; printing is the caller's.
//!
//! Operations on an organisation's members take the tenant's id, and find a member only in
//! it: the console passes its session's tenant, so an administrator reaches nobody else.
//! `import` plans and carries out a CSV import of members.

pub mod export;
mod import;

pub use import::{Import, Line, MAX_IMPORT_BYTES, MAX_IMPORT_LINES, Planned};

use std::io::Write;
use std::path::{Path, PathBuf};

use sealpost_envelope::{KeyId, PublicKey};
use sealpost_policy::Policy;
use zeroize::Zeroizing;

use crate::domain::{EmailAddress, Role};
use crate::error::ApiError;
use crate::reading::StoredMessage;
use crate::state::AppState;
use crate::store::accounts::TokenInfo;
use crate::store::audit::{self, Verdict};
use crate::store::members::{self, Member};
use crate::store::notifications::{self, Listed, Outgoing};
use crate::store::relays::{self, RelaySettings};
use crate::store::{
    StoreError, accounts, console_sessions, messages, password_links, platform_keys, user_keys,
};

/// Why an administrative operation did nothing.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// No organisation has that name.
    #[error("no tenant named \"{0}\"")]
    NoTenant(String),
    /// No user has that address.
    #[error("no user {0}")]
    NoUser(String),
    /// No message has that id.
    #[error("no message {0}")]
    NoMessage(String),
    /// Nothing dead-lettered has that id.
    #[error("no dead-lettered notification {0}")]
    NoDeadLetter(i64),
    /// The tenant sends through the global relay already.
    #[error("the organisation has no relay of its own")]
    NoOwnRelay,
    /// Something given is not usable (an address, a policy document, a key, relay settings).
    #[error("{0}")]
    Invalid(String),
    /// A file could not be read or written.
    #[error("{}: {cause}", path.display())]
    File {
        /// Which.
        path: PathBuf,
        /// Why.
        cause: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Reading a stored message failed.
    #[error("{0}")]
    Reading(#[from] ApiError),
}

fn file_error(path: &Path, cause: impl std::fmt::Display) -> AdminError {
    AdminError::File { path: path.to_path_buf(), cause: cause.to_string() }
}

/// Who acts: recorded as the actor of every audit entry.
#[derive(Clone, Copy, Debug)]
pub struct Admin<'a> {
    state: &'a AppState,
    actor: &'a str,
    reach: Reach,
}

/// How far the one who acts reaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reach {
    /// The command line: whoever runs it runs the platform.
    Platform,
    /// A member in the admin console (an operator or not): a relay must be on the public
    /// internet, and only another operator changes an operator's account.
    Console {
        /// Whether the member is one of the platform's operators.
        operator: bool,
    },
}

impl<'a> Admin<'a> {
    /// Operations on `state` from the command line, recorded as done by `actor`.
    pub fn new(state: &'a AppState, actor: &'a str) -> Admin<'a> {
        Admin { state, actor, reach: Reach::Platform }
    }

    /// Operations on `state` by the console's member `actor` (`operator`: one of the
    /// platform's operators).
    pub fn console(state: &'a AppState, actor: &'a str, operator: bool) -> Admin<'a> {
        Admin { state, actor, reach: Reach::Console { operator } }
    }

    /// Refuses to change `m` when they run the platform and the one acting does not: an
    /// organisation's administrator must not take over an operator's account.
    fn may_change(&self, m: &Member) -> Result<(), AdminError> {
        if m.operator == 1 && self.reach == (Reach::Console { operator: false }) {
            return Err(AdminError::Invalid(format!(
                "{} runs this platform: only another of its operators may change their account",
                m.email
            )));
        }
        Ok(())
    }

    async fn log(&self, tenant: Option<i64>, action: &str, detail: &str) -> Result<(), AdminError> {
        Ok(audit::append(&self.state.db, tenant, self.actor, action, detail).await?)
    }

    /// The id of the tenant named `name`.
    pub async fn tenant_id(&self, name: &str) -> Result<i64, AdminError> {
        accounts::tenant_by_name(&self.state.db, name)
            .await?
            .ok_or_else(|| AdminError::NoTenant(name.to_string()))
    }

    /// Creates an organisation with its mail domains (and the default policy for them). A
    /// name is used once; a domain belongs to one organisation only.
    pub async fn create_tenant(&self, name: &str, domains: &[String]) -> Result<i64, AdminError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            return Err(AdminError::Invalid(
                "an organisation's name has 1 to 100 characters".into(),
            ));
        }
        if accounts::tenant_by_name(&self.state.db, name).await?.is_some() {
            return Err(AdminError::Invalid(format!(
                "there is an organisation \"{name}\" already"
            )));
        }
        if domains.is_empty() {
            return Err(AdminError::Invalid(
                "an organisation needs at least one mail domain".into(),
            ));
        }
        let mut checked = Vec::with_capacity(domains.len());
        for d in domains {
            checked.push(self.free_domain(d).await?);
        }
        let policy = Policy { internal_domains: checked.clone(), ..Policy::default() };
        let db = &self.state.db;
        let id = accounts::create_tenant(db, &self.state.master, name, &checked, &policy).await?;
        self.log(Some(id), "tenant.created", &format!("{name} {}", checked.join(","))).await?;
        Ok(id)
    }

    /// `domain`, lowercased, when it is a mail domain no organisation has.
    async fn free_domain(&self, domain: &str) -> Result<String, AdminError> {
        let d = domain.trim().to_lowercase();
        if !sealpost_policy::is_mail_domain(&d) {
            return Err(AdminError::Invalid(format!(
                "\"{d}\" is not a mail domain (like example.com)"
            )));
        }
        if accounts::domain_owner(&self.state.db, &d).await?.is_some() {
            return Err(AdminError::Invalid(format!("{d} belongs to an organisation already")));
        }
        Ok(d)
    }

    /// Gives tenant `tenant` the mail domain `domain` too (and counts it internal in its
    /// policy); a domain belongs to one organisation only.
    pub async fn add_domain(&self, tenant: i64, domain: &str) -> Result<(), AdminError> {
        let d = self.free_domain(domain).await?;
        accounts::add_domain(&self.state.db, tenant, &d).await?;
        let mut policy = accounts::policy(&self.state.db, tenant).await?;
        if !policy.internal_domains.iter().any(|i| i.eq_ignore_ascii_case(&d)) {
            policy.internal_domains.push(d.clone());
            accounts::set_policy(&self.state.db, tenant, &policy).await?;
        }
        self.log(Some(tenant), "tenant.domain_added", &d).await
    }

    /// Sets tenant `tenant`'s display name and colour (checked: `crate::branding`).
    pub async fn set_branding(
        &self,
        tenant: i64,
        name: &str,
        colour: &str,
    ) -> Result<(), AdminError> {
        let name = crate::branding::check_name(name).map_err(AdminError::Invalid)?;
        let colour = crate::branding::check_colour(colour).map_err(AdminError::Invalid)?;
        crate::store::branding::set(&self.state.db, tenant, &name, &colour).await?;
        self.log(Some(tenant), "branding.changed", &format!("{name} {colour}")).await
    }

    /// Sets tenant `tenant`'s logo (PNG or JPEG), or removes it with `None`. The name and
    /// colour come first.
    pub async fn set_logo(&self, tenant: i64, logo: Option<&[u8]>) -> Result<(), AdminError> {
        let logo = match logo {
            Some(bytes) => {
                Some((bytes, crate::branding::logo_type(bytes).map_err(AdminError::Invalid)?))
            }
            None => None,
        };
        if !crate::store::branding::set_logo(&self.state.db, tenant, logo).await? {
            return Err(AdminError::Invalid("give the display name and colour first".into()));
        }
        let detail =
            logo.map_or_else(|| "removed".to_string(), |(b, t)| format!("{t}, {} bytes", b.len()));
        self.log(Some(tenant), "branding.logo_changed", &detail).await
    }

    /// Makes the member `email` one of the platform's operators, or not.
    pub async fn set_operator(&self, email: &str, operator: bool) -> Result<(), AdminError> {
        let email = EmailAddress::parse(email).map_err(AdminError::Invalid)?;
        let (user, tenant) = accounts::user_by_email(&self.state.db, &email)
            .await?
            .ok_or_else(|| AdminError::NoUser(email.to_string()))?;
        accounts::set_operator(&self.state.db, user, operator).await?;
        console_sessions::end_all_of(&self.state.db, user).await?;
        let action = if operator { "operator.granted" } else { "operator.revoked" };
        self.log(Some(tenant), action, email.as_str()).await
    }

    /// Creates a user of `tenant` with `password`.
    pub async fn create_user(
        &self,
        tenant: &str,
        email: &str,
        role: Role,
        password: Zeroizing<String>,
        outside: accounts::OutsideDomains,
    ) -> Result<EmailAddress, AdminError> {
        let tenant = self.tenant_id(tenant).await?;
        let email = EmailAddress::parse(email).map_err(AdminError::Invalid)?;
        accounts::create_member(&self.state.db, tenant, &email, role, password, outside).await?;
        self.log(None, "user.created", &format!("{email} {}", role.as_str())).await?;
        Ok(email)
    }

    /// Issues a device token for the user `email`; the token is shown only now.
    pub async fn create_token(
        &self,
        email: &str,
        label: &str,
    ) -> Result<Zeroizing<String>, AdminError> {
        let email = EmailAddress::parse(email).map_err(AdminError::Invalid)?;
        let (user, _) = accounts::user_by_email(&self.state.db, &email)
            .await?
            .ok_or_else(|| AdminError::NoUser(email.to_string()))?;
        let (id, token) = accounts::create_device_token(&self.state.db, user, label).await?;
        self.log(None, "token.created", &format!("token {id} for {email} ({label})")).await?;
        Ok(Zeroizing::new(token.as_str().to_string()))
    }

    /// The policy of `tenant`.
    pub async fn policy(&self, tenant: &str) -> Result<Policy, AdminError> {
        Ok(accounts::policy(&self.state.db, self.tenant_id(tenant).await?).await?)
    }

    /// Replaces the policy of `tenant` with `document` (JSON; unknown keys refused).
    pub async fn set_policy(&self, tenant: &str, document: &str) -> Result<(), AdminError> {
        let policy = Policy::from_admin_document(document)
            .map_err(|e| AdminError::Invalid(e.to_string()))?;
        self.replace_policy(self.tenant_id(tenant).await?, &policy).await
    }

    /// Replaces tenant `tenant`'s policy with `policy`, refused when it is not sound
    /// ([`Policy::problem`]: a DLP pattern that does not compile, a domain that is none …).
    /// The audit entry holds the whole new policy.
    pub async fn replace_policy(&self, tenant: i64, policy: &Policy) -> Result<(), AdminError> {
        if let Some(problem) = policy.problem() {
            return Err(AdminError::Invalid(problem));
        }
        accounts::set_policy(&self.state.db, tenant, policy).await?;
        let document =
            serde_json::to_string(policy).map_err(|e| AdminError::Invalid(e.to_string()))?;
        self.log(Some(tenant), "policy.changed", &document).await
    }

    /// Sets the compliance key (SPKI PEM) of tenant `tenant`.
    pub async fn set_compliance_key(&self, tenant: i64, pem: &[u8]) -> Result<KeyId, AdminError> {
        let key = PublicKey::parse(pem).map_err(|e| AdminError::Invalid(e.to_string()))?;
        user_keys::set_compliance_key(&self.state.db, tenant, Some(&key)).await?;
        self.log(Some(tenant), "compliance_key.set", &key.key_id().to_hex()).await?;
        Ok(key.key_id())
    }

    /// The platform's outgoing mail, newest first: only `tenant`'s if given, only those in
    /// `state` if given.
    pub async fn notifications(
        &self,
        tenant: Option<i64>,
        state: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Listed>, AdminError> {
        Ok(notifications::list(&self.state.db, tenant, state, limit.clamp(1, 10_000)).await?)
    }

    /// Puts dead-lettered mail `id` back in the queue (only `tenant`'s, if given).
    pub async fn retry_notification(&self, tenant: Option<i64>, id: i64) -> Result<(), AdminError> {
        if !notifications::requeue(&self.state.db, tenant, id).await? {
            return Err(AdminError::NoDeadLetter(id));
        }
        self.log(tenant, "notification.requeued", &id.to_string()).await
    }

    /// Gives tenant `tenant` its own SMTP relay (refused before storing if it could never
    /// work).
    pub async fn set_relay(&self, tenant: i64, relay: &RelaySettings) -> Result<(), AdminError> {
        crate::notify::Relay::new(relay, self.state.settings.smtp_ca_file.as_deref())
            .map_err(AdminError::Invalid)?;
        if matches!(self.reach, Reach::Console { .. }) {
            public_host(&relay.host, relay.port).await?;
        }
        relays::set(&self.state.db, &self.state.master, tenant, relay).await?;
        let detail = format!("{}:{} {}", relay.host, relay.port, relay.security);
        self.log(Some(tenant), "relay.set", &detail).await
    }

    /// Tenant `tenant`'s own relay, if it has one (its password never leaves the store).
    pub async fn relay(&self, tenant: i64) -> Result<Option<RelaySettings>, AdminError> {
        Ok(relays::get(&self.state.db, &self.state.master, tenant).await?)
    }

    /// Removes tenant `tenant`'s own relay.
    pub async fn clear_relay(&self, tenant: i64) -> Result<(), AdminError> {
        if !relays::clear(&self.state.db, tenant).await? {
            return Err(AdminError::NoOwnRelay);
        }
        self.log(Some(tenant), "relay.cleared", "").await
    }

    /// Queues a test mail to `to`, as tenant `tenant`'s mail if given.
    pub async fn test_mail(&self, to: &str, tenant: Option<i64>) -> Result<(), AdminError> {
        let to = EmailAddress::parse(to).map_err(AdminError::Invalid)?;
        let mail = Outgoing {
            key: crate::secrets::random_id(),
            tenant_id: tenant,
            kind: "test".into(),
            recipient: to.to_string(),
            subject: "Sealpost test mail".into(),
            text: "This is a test of the Sealpost platform's mail settings. Nothing to do.\n"
                .into(),
            html: None,
        };
        notifications::enqueue(&self.state.db, &self.state.master, &mail).await?;
        self.log(tenant, "notification.test", to.as_str()).await
    }

    /// Generates a new platform key; older ones stay usable for older messages.
    pub async fn rotate_platform_key(&self) -> Result<KeyId, AdminError> {
        let s = self.state;
        let id = platform_keys::rotate(&s.db, &s.master, s.settings.platform_key_bits).await?;
        self.log(None, "platform_key.rotated", &id.to_hex()).await?;
        Ok(id)
    }

    /// Writes message `id`, decrypted, into the new folder `out` (readable by its owner
    /// only): `manifest.json`, `body.txt` and/or `body.html`, and `attachments/<part>-<name>`
    /// (names reduced to safe characters). Works on recalled and expired messages too.
    /// Answers with the number of attachments.
    pub async fn export_message(&self, id: &str, out: &Path) -> Result<usize, AdminError> {
        let state = self.state;
        let m = messages::get(&state.db, id)
            .await?
            .ok_or_else(|| AdminError::NoMessage(id.to_string()))?;
        let stored = StoredMessage::open(state, &m).await?;
        let manifest = stored.manifest(state).await?;
        let mut folder = std::fs::DirBuilder::new();
        std::os::unix::fs::DirBuilderExt::mode(&mut folder, 0o700);
        folder
            .create(out)
            .map_err(|e| file_error(out, format!("{e} (give a folder that does not exist yet)")))?;
        std::fs::create_dir(out.join(export::ATTACHMENTS))
            .map_err(|e| file_error(&out.join(export::ATTACHMENTS), e))?;
        for entry in export::entries(&manifest) {
            let path = out.join(&entry.path);
            match entry.content {
                export::Content::Bytes(bytes) => {
                    std::fs::write(&path, &*bytes).map_err(|e| file_error(&path, e))?
                }
                export::Content::Part(part) => {
                    let file = std::fs::File::create(&path).map_err(|e| file_error(&path, e))?;
                    let mut file = std::io::BufWriter::new(file);
                    stored.copy_part(state, part, &mut file).await?;
                    file.flush().map_err(|e| file_error(&path, e))?;
                }
            }
        }
        self.log(Some(m.tenant_id), "message.exported", id).await?;
        Ok(manifest.attachments.len())
    }

    /// Walks the audit log's hash chain.
    pub async fn verify_audit(&self) -> Result<Verdict, AdminError> {
        Ok(audit::verify(&self.state.db).await?)
    }
}

/// A tenant's members. Each operation names the tenant; a member of another tenant is
/// [`AdminError::NoUser`], so an administrator reaches only their own organisation.
impl Admin<'_> {
    /// Tenant `tenant`'s members whose address contains `search`, a page after `after`.
    pub async fn members(
        &self,
        tenant: i64,
        search: &str,
        after: &str,
    ) -> Result<Vec<Member>, AdminError> {
        Ok(members::list(&self.state.db, tenant, search, after).await?)
    }

    /// Tenant `tenant`'s member `email`.
    pub async fn member(&self, tenant: i64, email: &str) -> Result<Member, AdminError> {
        let email = EmailAddress::parse(email).map_err(|_| AdminError::NoUser(email.into()))?;
        members::find(&self.state.db, tenant, email.as_str())
            .await?
            .ok_or_else(|| AdminError::NoUser(email.to_string()))
    }

    /// Adds `email` to tenant `tenant` with `role` and mails them a link to choose their
    /// password (nobody else ever knows one: the account starts with a random password).
    pub async fn add_member(
        &self,
        tenant: i64,
        email: &str,
        role: Role,
    ) -> Result<EmailAddress, AdminError> {
        let email = EmailAddress::parse(email).map_err(AdminError::Invalid)?;
        // The domain first: whether an address outside the organisation's domains has an
        // account anywhere is none of its administrators' business.
        if let Some(why) = self.domain_problem(tenant, &email).await? {
            return Err(AdminError::Invalid(why));
        }
        if accounts::user_by_email(&self.state.db, &email).await?.is_some() {
            return Err(AdminError::Invalid(format!("{email} is a member already")));
        }
        let password = crate::startup::random_password();
        let db = &self.state.db;
        accounts::create_member(
            db,
            tenant,
            &email,
            role,
            password,
            accounts::OutsideDomains::Refuse,
        )
        .await?;
        self.log(Some(tenant), "member.added", &format!("{email} {}", role.as_str())).await?;
        self.send_password_link(tenant, email.as_str()).await?;
        Ok(email)
    }

    /// Mails member `email` a link to choose a new password (earlier links stop working).
    pub async fn send_password_link(&self, tenant: i64, email: &str) -> Result<(), AdminError> {
        let m = self.member(tenant, email).await?;
        self.may_change(&m)?;
        if m.disabled_at.is_some() {
            return Err(AdminError::Invalid(format!("{} is disabled; enable them first", m.email)));
        }
        let token = password_links::create(&self.state.db, m.id).await?;
        let link = format!("{}/admin/password/{}", self.state.public_url, token.as_str());
        let mail = Outgoing {
            key: crate::secrets::random_id(),
            tenant_id: Some(tenant),
            kind: "password_link".into(),
            recipient: m.email.clone(),
            subject: "Choose your Sealpost password".into(),
            text: format!(
                "Your organisation's Sealpost administrator sent you this link to choose your \
                 password:\n\n{link}\n\nIt works once, for 24 hours. If you did not expect it, \
                 ignore this mail and tell your administrator.\n"
            ),
            html: None,
        };
        notifications::enqueue(&self.state.db, &self.state.master, &mail).await?;
        self.log(Some(tenant), "member.password_link_sent", &m.email).await
    }

    /// Gives member `email` the role `role`. The last enabled administrator keeps theirs.
    pub async fn set_role(&self, tenant: i64, email: &str, role: Role) -> Result<(), AdminError> {
        let m = self.member(tenant, email).await?;
        self.may_change(&m)?;
        if m.role() == role {
            return Ok(());
        }
        if m.role() == Role::Admin && m.disabled_at.is_none() {
            self.keep_an_admin(tenant, &m, "take the administrator role from").await?;
        }
        members::set_role(&self.state.db, m.id, role).await?;
        console_sessions::end_all_of(&self.state.db, m.id).await?;
        let detail = format!("{} {} -> {}", m.email, m.role, role.as_str());
        self.log(Some(tenant), "member.role_changed", &detail).await
    }

    /// Disables member `email` (their history stays; sign-in and their devices stop working)
    /// or enables them again. The last enabled administrator cannot be disabled.
    pub async fn set_disabled(
        &self,
        tenant: i64,
        email: &str,
        disabled: bool,
    ) -> Result<(), AdminError> {
        let m = self.member(tenant, email).await?;
        self.may_change(&m)?;
        if m.disabled_at.is_some() == disabled {
            return Ok(());
        }
        if disabled && m.role() == Role::Admin {
            self.keep_an_admin(tenant, &m, "disable").await?;
        }
        members::set_disabled(&self.state.db, m.id, disabled).await?;
        console_sessions::end_all_of(&self.state.db, m.id).await?;
        if disabled {
            // Their Message Center sessions end too (and none works while they are disabled).
            crate::store::center::end_sessions_of(&self.state.db, &m.email, None).await?;
        }
        let action = if disabled { "member.disabled" } else { "member.enabled" };
        self.log(Some(tenant), action, &m.email).await
    }

    /// Refuses to leave tenant `tenant` without an enabled administrator by changing `m`.
    async fn keep_an_admin(&self, tenant: i64, m: &Member, what: &str) -> Result<(), AdminError> {
        if members::active_admins(&self.state.db, tenant).await? <= 1 {
            return Err(AdminError::Invalid(format!(
                "{} is the organisation's only administrator: make someone else an \
                 administrator before you {what} them",
                m.email
            )));
        }
        Ok(())
    }

    /// Sets member `email`'s display name (an empty `name` clears it).
    pub async fn set_display_name(
        &self,
        tenant: i64,
        email: &str,
        name: &str,
    ) -> Result<(), AdminError> {
        let m = self.member(tenant, email).await?;
        self.may_change(&m)?;
        let name = match name.trim() {
            "" => None,
            n => Some(crate::domain::display_name(n).map_err(AdminError::Invalid)?),
        };
        members::set_display_name(&self.state.db, m.id, name.as_deref()).await?;
        let detail = format!("{} {}", m.email, name.as_deref().unwrap_or("(none)"));
        self.log(Some(tenant), "member.name_changed", &detail).await
    }

    /// Turns member `email`'s second factor off: they set it up again at their next sign-in
    /// (administrators must; senders may).
    pub async fn reset_second_factor(&self, tenant: i64, email: &str) -> Result<(), AdminError> {
        let m = self.member(tenant, email).await?;
        self.may_change(&m)?;
        crate::store::totp::set_enabled(
            &self.state.db,
            crate::store::totp::Owner::User(m.id),
            false,
        )
        .await?;
        console_sessions::end_all_of(&self.state.db, m.id).await?;
        self.log(Some(tenant), "member.second_factor_reset", &m.email).await
    }

    /// Member `email`'s device tokens (never the tokens themselves).
    pub async fn devices(&self, tenant: i64, email: &str) -> Result<Vec<TokenInfo>, AdminError> {
        let m = self.member(tenant, email).await?;
        Ok(accounts::list_tokens(&self.state.db, m.id).await?)
    }

    /// Revokes member `email`'s device token `id`.
    pub async fn revoke_device(&self, tenant: i64, email: &str, id: i64) -> Result<(), AdminError> {
        let m = self.member(tenant, email).await?;
        self.may_change(&m)?;
        if !accounts::revoke_token(&self.state.db, m.id, id).await? {
            return Err(AdminError::Invalid(format!("{} has no device {id} to revoke", m.email)));
        }
        self.log(Some(tenant), "member.device_revoked", &format!("token {id} of {}", m.email)).await
    }
}

/// Refuses a relay `host` that is, or resolves to, an address inside the platform's own
/// networks (loopback, private, link-local, unique-local, unspecified): a relay set from the
/// console must not make the platform's mail worker knock on its neighbours' ports. A name
/// that does not resolve yet is accepted (its mail waits and is retried).
async fn public_host(host: &str, port: u16) -> Result<(), AdminError> {
    let inside = |ip: std::net::IpAddr| match ip {
        std::net::IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64
        }
        std::net::IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unspecified()
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || (v6.segments()[0] & 0xffc0) == 0xfe80
                || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback() || v4.is_private())
        }
    };
    let refuse = || {
        AdminError::Invalid(format!(
            "{host} is an address inside the platform's network; give your relay's public name"
        ))
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<std::net::IpAddr>() {
        return if inside(ip) { Err(refuse()) } else { Ok(()) };
    }
    let lookup = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        tokio::net::lookup_host((host, port)),
    )
    .await;
    if let Ok(Ok(addresses)) = lookup {
        for a in addresses {
            if inside(a.ip()) {
                return Err(refuse());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::export::safe_file_name;

    #[test]
    fn exported_file_names_stay_in_their_folder() {
        assert_eq!(safe_file_name("../../etc/passwd"), "_.._etc_passwd");
        assert_eq!(safe_file_name(".hidden"), "hidden");
        assert_eq!(safe_file_name(""), "attachment");
        assert_eq!(safe_file_name("Q3 report.pdf"), "Q3_report.pdf");
    }
}
