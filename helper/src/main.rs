//! `sealpost-helper`: the native-messaging host Thunderbird starts, and the command line for
//! people and IT. Run `sealpost-helper --help`.

use std::io::{BufReader, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use sealpost_envelope::MessageId;
use sealpost_helper::client::Finalised;
use sealpost_helper::enrolment::{Context, blocking};
use sealpost_helper::install::{self, Scope};
use sealpost_helper::outgoing::{Composer, SpoolPlace};
use sealpost_helper::{HelperError, Result, mime, send};
use tokio_util::sync::CancellationToken;
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
    Login {
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
    Logout,
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
        /// An unlock code recipients must also give (4 to 64 characters; pass it on by phone
        /// or in person, never by mail). Prefer the environment variable: arguments are
        /// visible to other users of this computer.
        #[arg(long, env = "SEALPOST_UNLOCK_CODE", hide_env_values = true)]
        unlock_code: Option<String>,
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

/// Sealed bytes `send` holds in memory beyond what the platform has acknowledged (upload
/// requests are half of it): the whole of `send`'s local footprint, whatever the message size.
const SEND_SPOOL_WINDOW: usize = 16 << 20;

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
    let _log = ctx.as_ref().ok().and_then(|c| init_logging(c, host_mode));
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
        Command::Login { platform, email, password_stdin, totp, device } => {
            let ctx = ctx?;
            let password = read_password(password_stdin)?;
            let device = device.unwrap_or_else(default_device_name);
            let mut totp = totp;
            let e = loop {
                match ctx
                    .login(platform.as_deref(), &email, &password, totp.as_deref(), &device)
                    .await
                {
                    Err(HelperError::Login { code, .. })
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
        Command::Logout => {
            let ctx = ctx?;
            let revoked = ctx.logout().await?;
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
            } else if !s.enrolled {
                println!(
                    "Not signed in. Run: sealpost-helper login --platform https://… --email you@…"
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
                (None, true) => Source::Memory(read_stdin_message()?),
                (Some(p), false) if p.as_os_str() == "-" => Source::Memory(read_stdin_message()?),
                (Some(p), false) => Source::File(p),
                _ => {
                    return Err(HelperError::BadRequest(
                        "give either a message file or --stdin (or `-`)".into(),
                    ));
                }
            };
            let unlock_code = unlock_code.as_deref().map(send::UnlockCode::new).transpose()?;
            let f = send_message(&ctx, source, unlock_code.as_ref()).await?;
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

/// Where the message comes from.
enum Source {
    File(PathBuf),
    Memory(bytes::Bytes),
}

impl Source {
    fn open(&self) -> Result<Box<dyn std::io::BufRead + Send>> {
        Ok(match self {
            Source::File(p) => Box::new(BufReader::with_capacity(
                256 << 10,
                std::fs::File::open(p)
                    .map_err(|e| HelperError::Message(format!("{}: {e}", p.display())))?,
            )),
            Source::Memory(v) => Box::new(std::io::Cursor::new(v.clone())), // shares the bytes
        })
    }
}

/// `send`: read the message twice — sizes and hashes, then the bytes — while the platform is
/// asked for keys during the first read and the envelope is uploaded during the second.
async fn send_message(
    ctx: &Context,
    source: Source,
    unlock_code: Option<&send::UnlockCode>,
) -> Result<Finalised> {
    let started = std::time::Instant::now();
    let source = std::sync::Arc::new(source);
    let s = source.clone();
    let headers = blocking(move || mime::headers(s.open()?)).await?;
    let s = source.clone();
    let (scanned, prepared) =
        tokio::join!(blocking(move || mime::scan(s.open()?)), send::prepare(ctx, &headers));
    let (scanned, prepared) = (scanned?, prepared?);
    let attachment_bytes: u64 = scanned.attachments.iter().map(|a| a.size).sum();
    tracing::info!(attachment_bytes, ms = started.elapsed().as_millis(), "message read");

    let id = MessageId::random()?;
    let (spool, wraps) = (SpoolPlace::Memory(SEND_SPOOL_WINDOW), prepared.wraps.clone());
    let attachments = scanned.attachments.clone();
    let mut composer =
        blocking(move || Composer::begin(id, scanned.details, &attachments, &wraps, &spool))
            .await?;
    let envelope = composer.envelope_so_far().expect("every hash was announced");
    let cancel = CancellationToken::new();
    let sealing = {
        let cancel = cancel.clone();
        tokio::task::spawn_blocking(move || {
            seal_beside_upload(&cancel, |cancel| {
                mime::stream_attachments(source.open()?, |index, bytes| {
                    if cancel.is_cancelled() {
                        return Err(HelperError::Cancelled);
                    }
                    composer.write(index, bytes).map(drop)
                })
                .and_then(|()| composer.finish())
            })
        })
    };
    let bar = progress_bar(envelope.len(), "sending");
    let b = bar.clone();
    let progress = move |done: u64, _total: u64| b.set_position(done);
    let delivered = send::deliver(&prepared, &envelope, unlock_code, &progress, &cancel).await;
    if delivered.is_err() {
        cancel.cancel();
        envelope.abandon("the upload stopped");
    }
    let sealed = sealing.await.map_err(|e| HelperError::Io(std::io::Error::other(e)))?;
    bar.finish_and_clear();
    // A sealing failure explains a cancelled upload better than the cancellation does.
    match (sealed, delivered) {
        (Err(e), _) if !matches!(e, HelperError::Cancelled) => Err(e),
        (_, Err(e)) => Err(e),
        (Err(e), Ok(_)) => Err(e),
        (Ok(_), Ok(finalised)) => {
            tracing::info!(ms = started.elapsed().as_millis(), "delivered");
            Ok(finalised)
        }
    }
}

/// Runs the sealing half of a send while the upload runs beside it, so that each failure is
/// told by the side that caused it. A failed sealing cancels the upload. A failed upload cancels
/// first and then abandons the envelope, which makes a write in flight fail with an I/O error:
/// that error is only the echo of the upload's, so it is reported as `Cancelled` and the
/// upload's own error (quota, revoked token, unreachable platform) is the one the user reads.
fn seal_beside_upload<T>(
    cancel: &CancellationToken,
    seal: impl FnOnce(&CancellationToken) -> Result<T>,
) -> Result<T> {
    match seal(cancel) {
        Err(_) if cancel.is_cancelled() => Err(HelperError::Cancelled),
        Err(e) => {
            cancel.cancel();
            Err(e)
        }
        sealed => sealed,
    }
}

fn progress_bar(total: u64, what: &'static str) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(total);
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
        return Err(HelperError::Login {
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
    ctx: &Context,
    host_mode: bool,
) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    use tracing_subscriber::EnvFilter;
    let level = &ctx.settings.log_level;
    let dir = ctx.paths.log_dir();
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The upload fails while a write is blocked on the spool: the write's error must not
    /// hide the upload's.
    #[test]
    fn a_write_broken_by_a_failed_upload_reports_as_cancelled() {
        let cancel = CancellationToken::new();
        let sealed: Result<()> = seal_beside_upload(&cancel, |upload| {
            upload.cancel(); // what `send_message` does when `deliver` fails, then it abandons
            Err(HelperError::Io(std::io::Error::other("the upload stopped")))
        });
        assert!(matches!(sealed, Err(HelperError::Cancelled)), "{sealed:?}");
    }

    /// Sealing fails on its own: its error stands and the upload is told to stop.
    #[test]
    fn a_sealing_failure_stands_and_stops_the_upload() {
        let cancel = CancellationToken::new();
        let sealed: Result<()> =
            seal_beside_upload(&cancel, |_| Err(HelperError::Message("changed".into())));
        assert!(matches!(sealed, Err(HelperError::Message(ref m)) if m == "changed"));
        assert!(cancel.is_cancelled());
        let fine = seal_beside_upload(&CancellationToken::new(), |_| Ok(7));
        assert_eq!(fine.expect("sealed"), 7);
    }
}
