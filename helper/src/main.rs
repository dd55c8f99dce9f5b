//! `sealpost-helper`: the native-messaging host Thunderbird starts, and the command line for
//! people and IT. Run `sealpost-helper --help`.

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use sealpost_helper::install::{self, Scope};
use sealpost_helper::send::{self, MessageSource, Phase};
use sealpost_helper::sign_in::Context;
use sealpost_helper::{HelperError, Result};
use zeroize::Zeroizing;

#[derive(Parser)]
#[command(version, about = "Sealpost helper: secure send for mail clients")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve a mail client over native messaging (stdin/stdout). Thunderbird starts this.
    Host {
        /// What Thunderbird passes: the manifest path and the extension id.
        #[arg(hide = true)]
        args: Vec<String>,
    },
    /// Sign this computer in to a Sealpost platform.
    #[command(alias = "login")] // the old name, kept for scripts written before the rename
    SignIn {
        /// Platform address (`https://…`); IT may have set it already.
        #[arg(long)]
        platform: Option<String>,
        /// Your address.
        #[arg(long)]
        email: String,
        /// Read the password from standard input instead of prompting.
        #[arg(long)]
        password_stdin: bool,
        /// The current code from your authenticator app, when your account has one.
        #[arg(long)]
        totp: Option<String>,
        /// This computer's name on the platform.
        #[arg(long)]
        device: Option<String>,
    },
    /// Sign out: revoke this computer's token and delete it.
    #[command(alias = "logout")] // the old name, kept for scripts written before the rename
    SignOut,
    /// Show the platform, the user, key fingerprints and the token's state.
    Status {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Send a message file securely, exactly as a mail client would.
    Send {
        /// The message (`.eml`); `-` or `--stdin` reads standard input.
        file: Option<PathBuf>,
        /// Read the message from standard input (up to 64 MiB).
        #[arg(long)]
        stdin: bool,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
        /// An unlock code recipients must also give (6 to 64 characters; pass it on by phone
        /// or in person, never by mail). Prefer the environment variable: arguments are
        /// visible to other users of this computer.
        #[arg(long, env = "SEALPOST_UNLOCK_CODE", hide_env_values = true)]
        unlock_code: Option<String>,
    },
    /// Serve the Outlook add-in over HTTP on 127.0.0.1 (only to the signed-in platform's pages,
    /// only to a paired add-in); runs until stopped.
    Bridge {
        /// Port on 127.0.0.1 (default: `bridge_port` from the settings, else 47474).
        #[arg(long)]
        port: Option<u16>,
        /// Open pairing for two minutes, so the add-in's task pane can pair (again).
        #[arg(long)]
        pair: bool,
        /// Started at desktop login by the installers: serve only when IT's settings turn
        /// the bridge on (`bridge_autostart = true`), else exit at once; wait for a sign-in
        /// if there is none yet.
        #[arg(long)]
        autostart: bool,
    },
    /// Register the helper with Thunderbird.
    Install {
        /// For all users (needs administrator rights).
        #[arg(long)]
        system: bool,
        /// Show what would be written, and write nothing.
        #[arg(long)]
        print: bool,
    },
    /// For installers and IT, as administrator: write IT's settings into the system settings
    /// file and (on Windows) Thunderbird's policy for the extension. Empty values are ignored.
    SystemSetup {
        /// The platform's address, `https://host[:port]`.
        #[arg(long)]
        platform: Option<String>,
        /// PEM file of the CA to trust for the platform (an absolute path).
        #[arg(long)]
        ca_file: Option<String>,
        /// The platform key id (64 hex digits) sign-in must find.
        #[arg(long)]
        key_id: Option<String>,
        /// Run the Outlook bridge for every user from sign-in: 1 or 0.
        #[arg(long)]
        bridge_autostart: Option<String>,
        /// Undo it on uninstall: the extension blocked, the installer's settings file removed.
        #[arg(long, conflicts_with_all = ["platform", "ca_file", "key_id", "bridge_autostart"])]
        remove: bool,
        /// With --remove: the product code being removed; nothing is undone while another
        /// installation of Sealpost is listed (an upgrade removing the older version).
        #[arg(long, requires = "remove")]
        product: Option<String>,
    },
    /// Remove the registration.
    Uninstall {
        /// The all-users registration.
        #[arg(long)]
        system: bool,
        /// Show what would be removed, and remove nothing.
        #[arg(long)]
        print: bool,
    },
}

/// Largest message read from standard input (a file is streamed, whatever its size).
const MAX_STDIN_MESSAGE: u64 = 64 << 20;

fn main() -> ExitCode {
    // Thunderbird starts the host as `helper <manifest path> <extension id>`.
    let mut args: Vec<String> = std::env::args().collect();
    if args.get(1).is_some_and(|a| a.ends_with(".json")) {
        args.insert(1, "host".into());
    }
    let cli = Cli::parse_from(args);
    let host_mode = matches!(cli.command, Command::Host { .. });
    // Folders and settings are read once, for the logs and for the command.
    let ctx = Context::for_current_user();
    // `system-setup` runs from package scripts, as root: on Linux their output is the place
    // for its errors, and it leaves nothing in root's home; on Windows an installer's custom
    // action has no output anyone sees, so its log is where IT finds why it failed.
    let file_log = cfg!(windows) || !matches!(cli.command, Command::SystemSetup { .. });
    // Settings IT's file breaks are no reason to lose the log that says so: then the defaults.
    let _log = match &ctx {
        _ if !file_log => None,
        Ok(c) => init_logging(&c.paths, &c.settings.log_level, host_mode),
        Err(_) => sealpost_helper::config::Paths::for_current_user()
            .ok()
            .and_then(|paths| init_logging(&paths, "info", host_mode)),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    match runtime.block_on(run(cli.command, ctx)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(code = e.code(), "{e}");
            eprintln!("sealpost-helper: error[{}]: {e}", e.code());
            ExitCode::from(match e {
                HelperError::BadRequest(_)
                | HelperError::WrongSender { .. }
                | HelperError::Message(_)
                | HelperError::Config(_) => 2,
                _ => 1,
            })
        }
    }
}

async fn run(command: Command, ctx: Result<Context>) -> Result<()> {
    match command {
        Command::Host { .. } => {
            let ctx = ctx?;
            sealpost_helper::host::serve(ctx, std::io::stdin(), std::io::stdout()).await
        }
        Command::Bridge { port, pair, autostart } => {
            let ctx = ctx?;
            if autostart && !ctx.settings.bridge_autostart {
                tracing::info!("the Outlook bridge is off (bridge_autostart is not set)");
                return Ok(());
            }
            if autostart {
                // Started at login, perhaps before this user has signed in (in Thunderbird or
                // with `sealpost-helper sign-in`): the bridge serves only a signed-in helper,
                // so it waits for the sign-in instead of leaving the user without a bridge
                // until the next login.
                let mut said = false;
                while ctx.saved_sign_in()?.is_none() {
                    if !said {
                        tracing::info!("the Outlook bridge waits for a sign-in");
                        said = true;
                    }
                    tokio::time::sleep(sealpost_helper::bridge::SIGN_IN_POLL).await;
                }
            }
            let port = port.unwrap_or(ctx.settings.bridge_port);
            sealpost_helper::bridge::serve(ctx, port, pair).await
        }
        Command::SignIn { platform, email, password_stdin, totp, device } => {
            let ctx = ctx?;
            let password = read_password(password_stdin)?;
            let device = device.unwrap_or_else(default_device_name);
            let mut totp = totp;
            let e = loop {
                match ctx
                    .sign_in(platform.as_deref(), &email, &password, totp.as_deref(), &device)
                    .await
                {
                    Err(HelperError::SignInFailed { code, .. })
                        if code == "totp_required" && totp.is_none() =>
                    {
                        totp = Some(prompt("Code from your authenticator app: ")?);
                    }
                    other => break other?,
                }
            };
            println!("Signed in to {} as {} ({}).", e.platform, e.email, e.role);
            println!("Platform key (pinned): {}", e.platform_key.key_id);
            println!("Your key:              {}", e.own_key_id);
            Ok(())
        }
        Command::SignOut => {
            let ctx = ctx?;
            let revoked = ctx.sign_out().await?;
            if revoked {
                println!("Signed out; the platform revoked this computer's token.");
            } else {
                println!(
                    "Signed out here; the platform could not be told (revoke this device there)."
                );
            }
            Ok(())
        }
        Command::Status { json } => {
            let ctx = ctx?;
            let s = ctx.status(true).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&s).expect("serialisable"));
            } else if !s.signed_in {
                println!(
                    "Not signed in. Run: sealpost-helper sign-in --platform https://… --email you@…"
                );
            } else {
                println!("Platform:      {}", s.platform.unwrap_or_default());
                println!("User:          {}", s.email.unwrap_or_default());
                println!("Platform key:  {}", s.platform_key_id.unwrap_or_default());
                println!("Your key:      {}", s.own_key_id.unwrap_or_default());
                println!("Token:         {}", s.token);
            }
            Ok(())
        }
        Command::Send { file, stdin, json, unlock_code } => {
            let ctx = ctx?;
            let source = match (file, stdin) {
                (None, true) => MessageSource::Memory(read_stdin_message()?),
                (Some(p), false) if p.as_os_str() == "-" => {
                    MessageSource::Memory(read_stdin_message()?)
                }
                (Some(p), false) => MessageSource::File(p),
                _ => {
                    return Err(HelperError::BadRequest(
                        "give either a message file or --stdin (or `-`)".into(),
                    ));
                }
            };
            let unlock_code = unlock_code.as_deref().map(send::UnlockCode::new).transpose()?;
            let bar = progress_bar("sending");
            let report = |phase: Phase, done: u64, total: u64| {
                if phase == Phase::Uploading {
                    bar.set_length(total);
                    bar.set_position(done);
                }
            };
            let sent = send::send_file(&ctx, source, unlock_code.as_ref(), &report).await;
            bar.finish_and_clear();
            let f = sent?;
            if json {
                println!("{}", serde_json::to_string_pretty(&f).expect("serialisable"));
            } else {
                println!("Sent securely. Message {}", f.id);
                println!("Link: {}", f.link);
                if f.notified_by_platform {
                    println!("\nThe platform mails each recipient their own link: send no stub.");
                } else {
                    println!("\nStub subject: {}\n\n{}", f.stub.subject, f.stub.text);
                }
            }
            Ok(())
        }
        Command::SystemSetup { platform, ca_file, key_id, bridge_autostart, remove, product } => {
            use sealpost_helper::system_setup::{self, ItSettings, SettingsFile};
            if remove {
                if system_setup::remove(product.as_deref())? {
                    println!(
                        "Sealpost's system settings removed; the Thunderbird extension is blocked."
                    );
                } else {
                    println!("A newer Sealpost is installed: its settings and policy stay.");
                }
                return Ok(());
            }
            let given = ItSettings::parse(
                platform.as_deref(),
                ca_file.as_deref(),
                key_id.as_deref(),
                bridge_autostart.as_deref(),
            )?;
            let exe = std::env::current_exe()?;
            let (file, state) = system_setup::configure(&given, &exe)?;
            let verb = if state == SettingsFile::Created { "Made" } else { "Updated" };
            println!("{verb} {}", file.display());
            Ok(())
        }
        Command::Install { system, print } | Command::Uninstall { system, print } => {
            let installing = matches!(command, Command::Install { .. });
            let exe = std::env::current_exe()?.canonicalize()?;
            let scope = if system { Scope::System } else { Scope::User };
            let plan = install::plan(scope, &exe)?;
            if print {
                println!("{plan}");
            } else if installing {
                install::install(&plan)?;
                println!("Registered with Thunderbird: {}", plan.manifest_path.display());
            } else {
                install::uninstall(&plan)?;
                println!("Removed: {}", plan.manifest_path.display());
            }
            Ok(())
        }
    }
}

fn progress_bar(what: &'static str) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg:>10} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar.set_message(what);
    bar
}

fn read_stdin_message() -> Result<bytes::Bytes> {
    let mut v = Vec::new();
    std::io::stdin().take(MAX_STDIN_MESSAGE + 1).read_to_end(&mut v)?;
    if v.len() as u64 > MAX_STDIN_MESSAGE {
        return Err(HelperError::Message(
            "messages over 64 MiB must be given as a file, not on standard input".into(),
        ));
    }
    Ok(v.into())
}

fn read_password(from_stdin: bool) -> Result<Zeroizing<String>> {
    let password = if from_stdin {
        let mut line = Zeroizing::new(String::new());
        std::io::stdin().read_line(&mut line)?;
        Zeroizing::new(line.trim_end_matches(['\r', '\n']).to_string())
    } else {
        Zeroizing::new(rpassword::prompt_password("Password: ")?)
    };
    if password.is_empty() {
        return Err(HelperError::BadRequest("the password is empty".into()));
    }
    Ok(password)
}

fn prompt(question: &str) -> Result<String> {
    if !std::io::stdin().is_terminal() {
        return Err(HelperError::SignInFailed {
            code: "totp_required".into(),
            message: "this account needs a code from its authenticator app: pass --totp".into(),
        });
    }
    eprint!("{question}");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    Ok(line.trim().to_string())
}

fn default_device_name() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "this computer".into());
    format!("sealpost-helper on {host}")
}

/// Logs go to a daily file in the user's log folder (seven kept), never to stdout, which
/// belongs to the mail client in host mode. Nothing of a message's content is logged.
fn init_logging(
    paths: &sealpost_helper::config::Paths,
    level: &str,
    host_mode: bool,
) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    use tracing_subscriber::EnvFilter;
    let dir = paths.log_dir();
    sealpost_helper::config::create_private_dir(&dir).ok()?;
    let appender = tracing_appender::rolling::Builder::new()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .filename_prefix("helper")
        .filename_suffix("log")
        .max_log_files(7)
        .build(&dir)
        .ok()?;
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let filter = EnvFilter::try_from_env("SEALPOST_HELPER_LOG")
        .unwrap_or_else(|_| EnvFilter::new(format!("sealpost_helper={level},warn")));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(writer).with_ansi(false).init();
    tracing::info!(host_mode, version = env!("CARGO_PKG_VERSION"), "started");
    Some(guard)
}
