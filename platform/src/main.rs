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

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use sealpost_platform::config::Secret;
use sealpost_platform::config::Settings;
use sealpost_platform::domain::{EmailAddress, Role};
use sealpost_platform::notify;
use sealpost_platform::reading::StoredMessage;
use sealpost_platform::startup::{self, BOOTSTRAP_ADMIN};
use sealpost_platform::state::AppState;
use sealpost_platform::store::audit::{self, Verdict};
use sealpost_platform::store::notifications::{self, Outgoing};
use sealpost_platform::store::relays::{self, RelaySettings};
use sealpost_platform::store::{accounts, messages, platform_keys, user_keys};
use sealpost_policy::Policy;
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
    Admin(Admin),
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
enum Admin {
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
    if let Some(password) = &notes.bootstrap_password {
        println!("First start: sign in as {BOOTSTRAP_ADMIN} with password {}", password.as_str());
        println!(
            "(shown only now; create your own tenant and users with `sealpost-platform admin`)."
        );
    }
    let public_url = state.public_url.clone();
    sealpost_platform::sweep::spawn(state.clone());
    if state.settings.smtp_host.is_none() {
        println!(
            "No global SMTP relay (smtp_host): mail of tenants without a relay of their own waits in the queue."
        );
    }
    notify::spawn(state.clone())?;
    let running = startup::serve(state, listener).await?;
    println!("Sealpost platform listening on https://{} (links use {public_url})", running.addr);
    println!("TLS certificate SHA-256 fingerprint: {}", running.tls.fingerprint);
    tracing::info!(addr = %running.addr, "serving");
    let handle = running.handle.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        handle.graceful_shutdown(Some(std::time::Duration::from_secs(10)));
    });
    running.task.await.map_err(|e| e.to_string())?.map_err(|e| format!("server error: {e}"))
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
    match audit::verify(&state.db).await.map_err(|e| e.to_string())? {
        Verdict::Intact { entries } => {
            println!("Audit log intact: {entries} entries, every link holds.");
            Ok(())
        }
        Verdict::Broken { seq, reason } => Err(format!(
            "audit log broken at entry {seq}: {reason}; entries from {seq} on cannot be trusted"
        )),
    }
}

async fn admin(settings: Settings, cmd: Admin) -> Result<(), String> {
    let (state, _) = startup::prepare(settings).await?;
    let db = &state.db;
    let tenant_id = |name: String| async move {
        accounts::tenant_by_name(db, &name)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("no tenant named \"{name}\""))
    };
    match cmd {
        Admin::CreateTenant { name, domains } => {
            let policy = Policy { internal_domains: domains.clone(), ..Policy::default() };
            accounts::create_tenant(db, &state.master, &name, &domains, &policy)
                .await
                .map_err(|e| e.to_string())?;
            log(db, "tenant.created", &format!("{name} {}", domains.join(","))).await?;
            println!("Created tenant \"{name}\" for {}.", domains.join(", "));
        }
        Admin::CreateUser { tenant, email, admin, allow_outside_domain } => {
            let tenant = tenant_id(tenant).await?;
            let email = EmailAddress::parse(&email)?;
            let generated = std::io::stdin().is_terminal();
            let password = read_password()?;
            let role = if admin { Role::Admin } else { Role::Sender };
            let outside = if allow_outside_domain {
                accounts::OutsideDomains::Allow
            } else {
                accounts::OutsideDomains::Refuse
            };
            accounts::create_member(db, tenant, &email, role, password.clone(), outside)
                .await
                .map_err(|e| e.to_string())?;
            log(db, "user.created", &format!("{email} {}", role.as_str())).await?;
            println!("Created {} user {email}.", role.as_str());
            if generated {
                println!("Password (shown only now): {}", password.as_str());
            }
        }
        Admin::CreateToken { email, label } => {
            let email = EmailAddress::parse(&email)?;
            let (user, _) = accounts::user_by_email(db, &email)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("no user {email}"))?;
            let (id, token) =
                accounts::create_device_token(db, user, &label).await.map_err(|e| e.to_string())?;
            log(db, "token.created", &format!("token {id} for {email} ({label})")).await?;
            println!("{}", token.as_str());
        }
        Admin::ShowPolicy { tenant } => {
            let p =
                accounts::policy(db, tenant_id(tenant).await?).await.map_err(|e| e.to_string())?;
            println!("{}", serde_json::to_string_pretty(&p).map_err(|e| e.to_string())?);
        }
        Admin::SetPolicy { tenant, file } => {
            let text =
                std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            let p = Policy::from_admin_document(&text)
                .map_err(|e| format!("{}: {e}", file.display()))?;
            accounts::set_policy(db, tenant_id(tenant).await?, &p)
                .await
                .map_err(|e| e.to_string())?;
            log(db, "policy.changed", &text).await?;
            println!("Policy updated.");
        }
        Admin::SetComplianceKey { tenant, file } => {
            let pem = std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            let key = sealpost_envelope::PublicKey::parse(&pem)
                .map_err(|e| format!("{}: {e}", file.display()))?;
            let id = tenant_id(tenant).await?;
            user_keys::set_compliance_key(db, id, Some(&key)).await.map_err(|e| e.to_string())?;
            log(db, "compliance_key.set", &key.key_id().to_hex()).await?;
            println!("Compliance key {} set.", key.key_id());
        }
        Admin::ExportMessage { id, out } => export_message(&state, &id, &out).await?,
        Admin::Notifications { state, limit } => {
            let rows = notifications::list(db, state.as_deref(), limit.clamp(1, 10_000))
                .await
                .map_err(|e| e.to_string())?;
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
        Admin::RetryNotification { id } => {
            if !notifications::requeue(db, id).await.map_err(|e| e.to_string())? {
                return Err(format!("no dead-lettered notification {id}"));
            }
            log(db, "notification.requeued", &id.to_string()).await?;
            println!("Notification {id} queued again.");
        }
        Admin::SetRelay { tenant, host, port, security, username, from } => {
            let id = tenant_id(tenant.clone()).await?;
            let password = match &username {
                Some(_) => {
                    let mut p = String::new();
                    std::io::stdin()
                        .read_to_string(&mut p)
                        .map_err(|e| format!("cannot read the password: {e}"))?;
                    Some(Secret(p.trim_end_matches(['\r', '\n']).to_string()))
                }
                None => None,
            };
            let relay = RelaySettings { host, port, security, username, password, from };
            // Refuse settings that could never work before storing them.
            notify::Relay::new(&relay, state.settings.smtp_ca_file.as_deref())?;
            relays::set(db, &state.master, id, &relay).await.map_err(|e| e.to_string())?;
            log(
                db,
                "relay.set",
                &format!("{tenant} {}:{} {}", relay.host, relay.port, relay.security),
            )
            .await?;
            println!("Tenant \"{tenant}\" now sends through {}:{}.", relay.host, relay.port);
        }
        Admin::ClearRelay { tenant } => {
            let id = tenant_id(tenant.clone()).await?;
            if !relays::clear(db, id).await.map_err(|e| e.to_string())? {
                return Err(format!("tenant \"{tenant}\" has no relay of its own"));
            }
            log(db, "relay.cleared", &tenant).await?;
            println!("Tenant \"{tenant}\" sends through the global relay again.");
        }
        Admin::TestMail { to, tenant } => {
            let to = EmailAddress::parse(&to)?;
            let tenant_id = match tenant {
                Some(name) => Some(tenant_id(name).await?),
                None => None,
            };
            let mail = Outgoing {
                key: sealpost_platform::secrets::random_id(),
                tenant_id,
                kind: "test".into(),
                recipient: to.to_string(),
                subject: "Sealpost test mail".into(),
                text: "This is a test of the Sealpost platform's mail settings. Nothing to do.\n"
                    .into(),
                html: None,
            };
            notifications::enqueue(db, &state.master, &mail).await.map_err(|e| e.to_string())?;
            log(db, "notification.test", to.as_str()).await?;
            println!("Test mail to {to} queued; see `admin notifications` for its delivery.");
        }
        Admin::RotatePlatformKey => {
            let id = platform_keys::rotate(db, &state.master, state.settings.platform_key_bits)
                .await
                .map_err(|e| e.to_string())?;
            log(db, "platform_key.rotated", &id.to_hex()).await?;
            println!(
                "New platform key {id}; restart or let nodes reload to wrap new messages for it."
            );
        }
    }
    Ok(())
}

/// Writes message `id`, decrypted, into the new folder `out`: `manifest.json`, `body.txt`
/// and/or `body.html`, and `attachments/<part>-<name>` (names reduced to safe characters).
async fn export_message(state: &AppState, id: &str, out: &Path) -> Result<(), String> {
    let m = messages::get(&state.db, id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no message {id}"))?;
    let stored = StoredMessage::open(state, &m).await.map_err(|e| e.to_string())?;
    let manifest = stored.manifest(state).await.map_err(|e| e.to_string())?;
    let mut folder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut folder, 0o700);
    folder
        .create(out)
        .map_err(|e| format!("{}: {e} (give a folder that does not exist yet)", out.display()))?;
    let write = |name: &str, bytes: &[u8]| {
        std::fs::write(out.join(name), bytes).map_err(|e| format!("{}: {e}", out.display()))
    };
    let json = serde_json::to_vec_pretty(&manifest).map_err(|e| e.to_string())?;
    write("manifest.json", &json)?;
    if let Some(text) = &manifest.body.text {
        write("body.txt", text.as_bytes())?;
    }
    if let Some(html) = &manifest.body.html {
        write("body.html", html.as_bytes())?;
    }
    let folder = out.join("attachments");
    std::fs::create_dir(&folder).map_err(|e| format!("{}: {e}", folder.display()))?;
    for a in &manifest.attachments {
        let path = folder.join(format!("{}-{}", a.part, safe_file_name(&a.name)));
        let mut file = std::io::BufWriter::new(
            std::fs::File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?,
        );
        stored.copy_part(state, a.part, &mut file).await.map_err(|e| e.to_string())?;
        file.flush().map_err(|e| format!("{}: {e}", path.display()))?;
    }
    audit::append(&state.db, Some(m.tenant_id), "cli", "message.exported", id)
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "Exported message {id} ({} attachment(s)) to {}.",
        manifest.attachments.len(),
        out.display()
    );
    Ok(())
}

/// A file name with nothing that could leave the folder or confuse a shell: letters, digits,
/// `.`, `-`, `_` kept, anything else `_`; never empty, never starting with a dot.
fn safe_file_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .take(120)
        .map(|c| if c.is_alphanumeric() || matches!(c, '.' | '-' | '_') { c } else { '_' })
        .collect();
    let trimmed = cleaned.trim_start_matches('.');
    if trimmed.is_empty() { "attachment".into() } else { trimmed.into() }
}

/// Records an admin action in the audit log, with the CLI as the actor.
async fn log(db: &sealpost_platform::db::Db, action: &str, detail: &str) -> Result<(), String> {
    audit::append(db, None, "cli", action, detail).await.map_err(|e| e.to_string())
}
