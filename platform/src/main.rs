//! `sealpost-platform`: serve the platform, or administer it from the command line.
//!
//! ```text
//! sealpost-platform                      # = serve, on the embedded defaults
//! sealpost-platform serve --listen 0.0.0.0:8443 --database-url postgres://…
//! sealpost-platform admin create-tenant --name acme --domain acme.example
//! sealpost-platform admin create-user --tenant acme --email alice@acme.example [--admin]
//! sealpost-platform admin create-token --email alice@acme.example --label laptop
//! sealpost-platform admin set-policy --tenant acme --file policy.json
//! sealpost-platform admin rotate-platform-key
//! sealpost-platform admin export-message --id <message id> --out folder/
//! ```

use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use sealpost_platform::admin::{Admin, AdminError, Planned};
use sealpost_platform::config::{Secret, Settings};
use sealpost_platform::domain::Role;
use sealpost_platform::startup::{self, BOOTSTRAP_ADMIN};
use sealpost_platform::store::accounts;
use sealpost_platform::store::audit::Verdict;
use sealpost_platform::store::relays::RelaySettings;
use zeroize::Zeroizing;

#[derive(Parser)]
#[command(version, about = "The Sealpost secure-messaging platform")]
struct Cli {
    /// TOML configuration file (see docs/platform-config.md).
    #[arg(long, global = true, env = "SEALPOST_CONFIG")]
    config: Option<PathBuf>,
    /// Data folder (database, envelopes, keys, certificate).
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// `sqlite://…` or `postgres://…`.
    #[arg(long, global = true)]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API over HTTPS (the default).
    Serve {
        /// Address to listen on, e.g. 127.0.0.1:8443.
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
    },
    /// Administer tenants, users, tokens, policy and keys.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Check the audit log.
    #[command(subcommand)]
    Audit(Audit),
    /// Print the OpenAPI document of the API (JSON).
    Openapi,
}

#[derive(Subcommand)]
enum Audit {
    /// Walk the hash chain and report the first broken link, if any (exit status 1 then).
    Verify,
}

#[derive(Subcommand)]
enum MemberChange {
    /// Add them, and mail them a link to choose their password.
    Add {
        /// `sender`, `admin` or `compliance`.
        #[arg(long, default_value = "sender", value_parser = parse_role)]
        role: Role,
    },
    /// Set the name they are shown by beside their address ("" removes it).
    Name {
        /// The display name.
        name: String,
    },
    /// Give them another role (the last administrator keeps theirs).
    Role {
        /// `sender`, `admin` or `compliance`.
        #[arg(value_parser = parse_role)]
        role: Role,
    },
    /// Disable them: sign-in and their devices stop working; their history stays.
    Disable,
    /// Enable them again.
    Enable,
    /// Turn their second factor off, to be set up again at the next sign-in.
    ResetSecondFactor,
    /// Mail them a new link to choose their password.
    PasswordLink,
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| format!("\"{s}\" is not a role: sender, admin or compliance"))
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an organisation with its mail domains.
    CreateTenant {
        /// Unique name.
        #[arg(long)]
        name: String,
        /// A mail domain of the organisation (repeatable).
        #[arg(long = "domain", required = true)]
        domains: Vec<String>,
    },
    /// Create a user. The password is read from standard input, or generated and printed.
    CreateUser {
        /// Tenant name.
        #[arg(long)]
        tenant: String,
        /// The user's address.
        #[arg(long)]
        email: String,
        /// Make the user an administrator of the tenant.
        #[arg(long)]
        admin: bool,
        /// Allow an address in a domain that no organisation has (never another
        /// organisation's).
        #[arg(long)]
        allow_outside_domain: bool,
    },
    /// Change a member of an organisation as the admin console does (each change audited).
    Member {
        /// Tenant name.
        #[arg(long)]
        tenant: String,
        /// The member's address.
        #[arg(long)]
        email: String,
        #[command(subcommand)]
        change: MemberChange,
    },
    /// Add members and change roles from a CSV file (`email,role` per line); every line is
    /// checked first, and a file with any problem changes nothing.
    ImportMembers {
        /// Tenant name.
        #[arg(long)]
        tenant: String,
        /// The CSV file.
        #[arg(long)]
        file: PathBuf,
        /// Show what would change, and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Make a member one of the platform's operators (the console's organisations page),
    /// or, with --revoke, no longer.
    Operator {
        /// The member's address.
        #[arg(long)]
        email: String,
        /// Take the operator's rights away.
        #[arg(long)]
        revoke: bool,
    },
    /// Issue a device token for a user and print it (once).
    CreateToken {
        /// The user's address.
        #[arg(long)]
        email: String,
        /// Name of the device.
        #[arg(long, default_value = "cli")]
        label: String,
    },
    /// Print a tenant's policy as JSON.
    ShowPolicy {
        /// Tenant name.
        #[arg(long)]
        tenant: String,
    },
    /// Replace a tenant's policy with a JSON file.
    SetPolicy {
        /// Tenant name.
        #[arg(long)]
        tenant: String,
        /// The policy document.
        #[arg(long)]
        file: PathBuf,
    },
    /// List the platform's outgoing mail (codes, notifications), newest first.
    Notifications {
        /// Only `queued`, `sent` or `dead` (dead-lettered) mail.
        #[arg(long)]
        state: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// Put a dead-lettered mail back in the queue (after fixing the cause).
    RetryNotification {
        /// Its id, from `notifications`.
        #[arg(long)]
        id: i64,
    },
    /// Give a tenant its own SMTP relay for the platform's mail to and for its people. With
    /// --username, the password is read from standard input.
    SetRelay {
        /// Tenant name.
        #[arg(long)]
        tenant: String,
        /// Relay host.
        #[arg(long)]
        host: String,
        /// Relay port.
        #[arg(long, default_value_t = 587)]
        port: u16,
        /// `starttls`, `tls` or `none`.
        #[arg(long, default_value = "starttls")]
        security: String,
        /// User name for authentication.
        #[arg(long)]
        username: Option<String>,
        /// Sender of the tenant's mail, e.g. "Acme secure mail <secure@acme.example>".
        #[arg(long)]
        from: String,
    },
    /// Remove a tenant's own relay (its mail goes through the global one again).
    ClearRelay {
        /// Tenant name.
        #[arg(long)]
        tenant: String,
    },
    /// Queue a test mail to check the relay settings.
    TestMail {
        /// Who receives it.
        #[arg(long)]
        to: String,
        /// Send it as the tenant's mail, through the tenant's own relay if it has one.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Generate a new platform key; older keys stay usable for older messages.
    RotatePlatformKey,
    /// Decrypt a finalised message into a new folder (compliance access, audited): the
    /// manifest, the bodies and each attachment. Works on recalled and expired messages too.
    ExportMessage {
        /// The message id (as in the stub's `X-Sealpost-Message-Id` header).
        #[arg(long)]
        id: String,
        /// A folder that does not exist yet; created readable by its owner only.
        #[arg(long)]
        out: PathBuf,
    },
    /// Set the tenant's compliance key (SPKI PEM); set `compliance_copy` in the policy to use it.
    SetComplianceKey {
        /// Tenant name.
        #[arg(long)]
        tenant: String,
        /// The public key, PEM.
        #[arg(long)]
        file: PathBuf,
    },
}

fn main() -> ExitCode {
    startup::private_files();
    let cli = Cli::parse();
    let mut settings = match Settings::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(e) => return fail(&e.to_string()),
    };
    if let Some(d) = cli.data_dir {
        settings.data_dir = d;
    }
    if let Some(u) = cli.database_url {
        settings.database_url = Some(u);
    }
    init_logging(&settings.log_format);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => return fail(&format!("cannot start the async runtime: {e}")),
    };
    let result = runtime.block_on(async move {
        match cli.command.unwrap_or(Command::Serve { listen: None }) {
            Command::Serve { listen } => {
                if let Some(l) = listen {
                    settings.listen = l;
                }
                serve(settings).await
            }
            Command::Admin(a) => admin(settings, a).await,
            Command::Audit(Audit::Verify) => audit_verify(settings).await,
            Command::Openapi => {
                let (_, doc) = sealpost_platform::routes::api(usize::MAX);
                println!("{}", doc.to_pretty_json().map_err(|e| e.to_string())?);
                Ok(())
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("sealpost-platform: {message}");
    ExitCode::FAILURE
}

fn init_logging(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SEALPOST_LOG")
        // html5ever reports each construct of a message's HTML it mends (a warning per nested
        // table): the sender's markup, not the platform's health.
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,html5ever=error"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn serve(mut settings: Settings) -> Result<(), String> {
    let listener = startup::bind(&mut settings)?;
    let (state, notes) = startup::prepare(settings).await?;
    if let Some(path) = &notes.master_key_created {
        println!(
            "A new master key was generated in {path}. Back it up: without it nothing stored can be read."
        );
    }
    if notes.platform_key_created {
        println!("A new platform key was generated.");
    }
    let public_url = state.public_url.clone();
    if let Some(password) = &notes.bootstrap_password {
        println!("First start: sign in as {BOOTSTRAP_ADMIN} with password {}", password.as_str());
        println!(
            "(shown only now; create your own tenant and users with `sealpost-platform admin`)."
        );
        println!(
            "Admin console: {public_url}/admin (the first sign-in sets up two-step sign-in \
             with an authenticator app)."
        );
    }
    if state.settings.smtp_host.is_none() {
        println!(
            "No global SMTP relay (smtp_host): mail of tenants without a relay of their own waits in the queue."
        );
    }
    let settings = state.settings.clone();
    let mut running = startup::serve(state, listener).await?;
    println!("Sealpost platform listening on https://{} (links use {public_url})", running.addr);
    println!("TLS certificate SHA-256 fingerprint: {}", running.tls.fingerprint);
    tracing::info!(addr = %running.addr, "serving");
    let secs = std::time::Duration::from_secs;
    let (drain, grace) = (secs(settings.drain_secs), secs(settings.shutdown_grace_secs));
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| format!("cannot listen for SIGTERM: {e}"))?;
    let stopped = tokio::select! {
        served = &mut running.task => served,
        _ = terminate.recv() => return stop(running, drain, grace).await,
        _ = tokio::signal::ctrl_c() => return stop(running, drain, grace).await,
    };
    stopped.map_err(|e| e.to_string())?.map_err(|e| format!("server error: {e}"))
}

/// Drains and stops the server (`Running::drain_and_stop`) on SIGTERM or SIGINT.
async fn stop(
    running: startup::Running,
    drain: std::time::Duration,
    grace: std::time::Duration,
) -> Result<(), String> {
    running.drain_and_stop(drain, grace).await.map_err(|e| format!("server error: {e}"))
}

fn read_password() -> Result<Zeroizing<String>, String> {
    let mut stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Ok(startup::random_password());
    }
    let mut s = Zeroizing::new(String::new());
    stdin.read_to_string(&mut s).map_err(|e| format!("cannot read the password: {e}"))?;
    let trimmed = Zeroizing::new(s.trim_end_matches(['\r', '\n']).to_string());
    if trimmed.is_empty() {
        return Ok(startup::random_password());
    }
    if trimmed.chars().count() < 12 {
        return Err("the password must have at least 12 characters".into());
    }
    Ok(trimmed)
}

async fn audit_verify(settings: Settings) -> Result<(), String> {
    let (state, _) = startup::prepare(settings).await?;
    match Admin::new(&state, CLI).verify_audit().await.map_err(|e| e.to_string())? {
        Verdict::Intact { entries } => {
            println!("Audit log intact: {entries} entries, every link holds.");
            Ok(())
        }
        Verdict::Broken { seq, reason } => Err(format!(
            "audit log broken at entry {seq}: {reason}; entries from {seq} on cannot be trusted"
        )),
    }
}

/// The actor the audit log records for the command line.
const CLI: &str = "cli";

async fn admin(settings: Settings, cmd: AdminCommand) -> Result<(), String> {
    let (state, _) = startup::prepare(settings).await?;
    run_admin(&Admin::new(&state, CLI), cmd).await.map_err(|e| e.to_string())
}

async fn run_admin(admin: &Admin<'_>, cmd: AdminCommand) -> Result<(), AdminError> {
    match cmd {
        AdminCommand::CreateTenant { name, domains } => {
            admin.create_tenant(&name, &domains).await?;
            println!("Created tenant \"{name}\" for {}.", domains.join(", "));
        }
        AdminCommand::CreateUser { tenant, email, admin: is_admin, allow_outside_domain } => {
            let generated = std::io::stdin().is_terminal();
            let password = read_password().map_err(AdminError::Invalid)?;
            let role = if is_admin { Role::Admin } else { Role::Sender };
            let outside = if allow_outside_domain {
                accounts::OutsideDomains::Allow
            } else {
                accounts::OutsideDomains::Refuse
            };
            let email = admin.create_user(&tenant, &email, role, password.clone(), outside).await?;
            println!("Created {} user {email}.", role.as_str());
            if generated {
                println!("Password (shown only now): {}", password.as_str());
            }
        }
        AdminCommand::Member { tenant, email, change } => {
            let t = admin.tenant_id(&tenant).await?;
            let done = match change {
                MemberChange::Add { role } => {
                    let email = admin.add_member(t, &email, role).await?;
                    format!(
                        "Added {email} as {}; a link to choose a password was mailed.",
                        role.as_str()
                    )
                }
                MemberChange::Name { name } => {
                    admin.set_display_name(t, &email, &name).await?;
                    format!("{email}'s display name is saved.")
                }
                MemberChange::Role { role } => {
                    admin.set_role(t, &email, role).await?;
                    format!("{email} is now {}.", role.as_str())
                }
                MemberChange::Disable => {
                    admin.set_disabled(t, &email, true).await?;
                    format!("Disabled {email}; their devices were signed out.")
                }
                MemberChange::Enable => {
                    admin.set_disabled(t, &email, false).await?;
                    format!("Enabled {email}.")
                }
                MemberChange::ResetSecondFactor => {
                    admin.reset_second_factor(t, &email).await?;
                    format!("{email}'s second factor is off until they set it up again.")
                }
                MemberChange::PasswordLink => {
                    admin.send_password_link(t, &email).await?;
                    format!("A link to choose a password was mailed to {email}.")
                }
            };
            println!("{done}");
        }
        AdminCommand::ImportMembers { tenant, file, dry_run } => {
            let text = std::fs::read(&file)
                .map_err(|e| AdminError::File { path: file.clone(), cause: e.to_string() })?;
            let t = admin.tenant_id(&tenant).await?;
            let import = admin.import_members(t, &text, dry_run).await?;
            for line in &import.lines {
                let what = match &line.plan {
                    Planned::Add { role } => format!("add as {}", role.as_str()),
                    Planned::ChangeRole { from, to } => {
                        format!("role {} -> {}", from.as_str(), to.as_str())
                    }
                    Planned::Unchanged => "unchanged".into(),
                    Planned::Problem { why } => format!("PROBLEM: {why}"),
                };
                println!("line {:>5}  {:<40} {what}", line.number, line.email);
            }
            match (import.problems(), import.applied) {
                (0, true) => println!("Imported: {} change(s).", import.changes()),
                (0, false) => println!("Dry run: {} change(s) would be made.", import.changes()),
                (n, _) => {
                    return Err(AdminError::Invalid(format!(
                        "{n} line(s) have a problem; nothing was changed"
                    )));
                }
            }
        }
        AdminCommand::Operator { email, revoke } => {
            admin.set_operator(&email, !revoke).await?;
            let now = if revoke { "no longer" } else { "now" };
            println!("{email} is {now} one of the platform's operators.");
        }
        AdminCommand::CreateToken { email, label } => {
            println!("{}", admin.create_token(&email, &label).await?.as_str());
        }
        AdminCommand::ShowPolicy { tenant } => {
            let p = admin.policy(&tenant).await?;
            let json =
                serde_json::to_string_pretty(&p).map_err(|e| AdminError::Invalid(e.to_string()))?;
            println!("{json}");
        }
        AdminCommand::SetPolicy { tenant, file } => {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| AdminError::File { path: file.clone(), cause: e.to_string() })?;
            admin.set_policy(&tenant, &text).await.map_err(|e| match e {
                AdminError::Invalid(cause) => AdminError::File { path: file, cause },
                other => other,
            })?;
            println!("Policy updated.");
        }
        AdminCommand::SetComplianceKey { tenant, file } => {
            let pem = std::fs::read(&file)
                .map_err(|e| AdminError::File { path: file.clone(), cause: e.to_string() })?;
            let id = admin
                .set_compliance_key(admin.tenant_id(&tenant).await?, &pem)
                .await
                .map_err(|e| match e {
                    AdminError::Invalid(cause) => AdminError::File { path: file, cause },
                    other => other,
                })?;
            println!("Compliance key {id} set.");
        }
        AdminCommand::ExportMessage { id, out } => {
            let attachments = admin.export_message(&id, &out).await?;
            println!("Exported message {id} ({attachments} attachment(s)) to {}.", out.display());
        }
        AdminCommand::Notifications { state, limit } => {
            let rows = admin.notifications(None, state.as_deref(), limit).await?;
            println!(
                "{:>6}  {:<6}  {:>8}  {:<16} {:<32} last error",
                "id", "state", "attempts", "kind", "recipient"
            );
            for r in rows {
                println!(
                    "{:>6}  {:<6}  {:>8}  {:<16} {:<32} {}",
                    r.id,
                    r.state,
                    r.attempts,
                    r.kind,
                    r.recipient,
                    r.last_error.as_deref().unwrap_or("")
                );
            }
        }
        AdminCommand::RetryNotification { id } => {
            admin.retry_notification(None, id).await?;
            println!("Notification {id} queued again.");
        }
        AdminCommand::SetRelay { tenant, host, port, security, username, from } => {
            let password = match &username {
                Some(_) => {
                    let mut p = String::new();
                    std::io::stdin().read_to_string(&mut p).map_err(|e| {
                        AdminError::Invalid(format!("cannot read the password: {e}"))
                    })?;
                    Some(Secret(p.trim_end_matches(['\r', '\n']).to_string()))
                }
                None => None,
            };
            let relay = RelaySettings { host, port, security, username, password, from };
            admin.set_relay(admin.tenant_id(&tenant).await?, &relay).await?;
            println!("Tenant \"{tenant}\" now sends through {}:{}.", relay.host, relay.port);
        }
        AdminCommand::ClearRelay { tenant } => {
            admin.clear_relay(admin.tenant_id(&tenant).await?).await?;
            println!("Tenant \"{tenant}\" sends through the global relay again.");
        }
        AdminCommand::TestMail { to, tenant } => {
            let tenant = match tenant {
                Some(name) => Some(admin.tenant_id(&name).await?),
                None => None,
            };
            admin.test_mail(&to, tenant).await?;
            println!("Test mail to {to} queued; see `admin notifications` for its delivery.");
        }
        AdminCommand::RotatePlatformKey => {
            let id = admin.rotate_platform_key().await?;
            println!(
                "New platform key {id}; every running node hands it to senders within 10 seconds, no restart needed."
            );
        }
    }
    Ok(())
}
