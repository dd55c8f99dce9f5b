//! Builds the application from settings and serves it: data folder, master key, database and
//! migrations, platform key, bootstrap tenant, TLS, the router ([`app`]: the API and the
//! Message Center) and the background workers (mail queue, sweeps, the platform keys'
//! refresh). Returns the bound address, so tests can ask for port 0.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use sealpost_policy::Policy;
use tokio::sync::RwLock;
use zeroize::Zeroizing;

use crate::config::Settings;
use crate::db::Db;
use crate::domain::{EmailAddress, Role};
use crate::secrets::{SealingKey, load_master_key};
use crate::state::AppState;
use crate::store::{accounts, platform_keys};
use crate::tls::{TlsMaterial, load_or_generate};

/// The address and password of the first admin, printed once on first start.
pub const BOOTSTRAP_ADMIN: &str = "admin@sealpost.localhost";

/// What a person should be told at start.
#[derive(Debug, Default)]
pub struct StartNotes {
    /// A new master key was generated (where).
    pub master_key_created: Option<String>,
    /// A new platform key was generated.
    pub platform_key_created: bool,
    /// First start: the bootstrap admin's password.
    pub bootstrap_password: Option<Zeroizing<String>>,
}

/// Makes every file and folder this process creates from now on readable and writable by its
/// own user only (umask 077): the database and its log, envelope segments, keys, certificate,
/// exports. Set once, for the whole process, so no file the code (or SQLite, or a library)
/// creates can be missed; the key and segment files also ask for 0600 themselves.
pub fn private_files() {
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
}

/// Creates the data folder readable by its owner only, or makes an existing one so (it holds
/// the database and the envelopes: nobody else on the machine has business listing it).
fn private_folder(dir: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    let mode = std::fs::metadata(dir)?.permissions().mode();
    if mode & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode & 0o700))?;
        tracing::info!(folder = %dir.display(), "the data folder is now readable by its owner only");
    }
    Ok(())
}

/// Everything but the network: state ready to serve.
pub async fn prepare(settings: Settings) -> Result<(AppState, StartNotes), String> {
    private_folder(&settings.data_dir)
        .map_err(|e| format!("cannot create data folder {}: {e}", settings.data_dir.display()))?;
    let mut notes = StartNotes::default();
    let key_path = settings.master_key_path();
    let (master, created) = load_master_key(std::env::var("SEALPOST_MASTER_KEY").ok(), &key_path)
        .map_err(|e| e.to_string())?;
    if created {
        notes.master_key_created = Some(key_path.display().to_string());
    }
    let db = Db::connect(&settings.database_url())
        .await
        .map_err(|e| format!("cannot open the database: {e}"))?;
    // Nodes starting together on a new database take turns here, so one makes the platform
    // key and the first tenant and the others find them.
    let keys = db
        .exclusively(async {
            let (keys, created) =
                platform_keys::load_or_create(&db, &master, settings.platform_key_bits).await?;
            notes.platform_key_created = created;
            if !accounts::any_tenant(&db).await? {
                notes.bootstrap_password = Some(bootstrap(&db, &master).await?);
            }
            Ok::<_, crate::store::StoreError>(keys)
        })
        .await
        .map_err(|e| e.to_string())?;
    let public_url = settings
        .public_url
        .clone()
        .unwrap_or_else(|| format!("https://{}", settings.listen))
        .trim_end_matches('/')
        .to_string();
    let blobs = settings.blob_store()?;
    let state = AppState {
        health: Arc::default(),
        db,
        master: Arc::new(master),
        keys: Arc::new(RwLock::new(keys)),
        blobs,
        settings: Arc::new(settings),
        public_url,
    };
    Ok((state, notes))
}

/// Creates the first tenant and its admin (an operator too), with a random password.
async fn bootstrap(
    db: &Db,
    master: &SealingKey,
) -> Result<Zeroizing<String>, crate::store::StoreError> {
    let policy =
        Policy { internal_domains: vec!["sealpost.localhost".into()], ..Policy::default() };
    let tenant =
        accounts::create_tenant(db, master, "default", &policy.internal_domains, &policy).await?;
    let password = random_password();
    let email = EmailAddress::parse(BOOTSTRAP_ADMIN).expect("a valid constant address");
    let admin = accounts::create_user(db, tenant, &email, Role::Admin, password.clone()).await?;
    // The first administrator also runs the platform: the console's operator pages.
    accounts::set_operator(db, admin, true).await?;
    Ok(password)
}

/// 20 random characters from an unambiguous alphabet (~116 bits).
pub fn random_password() -> Zeroizing<String> {
    use aws_lc_rs::rand::{SecureRandom, SystemRandom};
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut raw = Zeroizing::new([0u8; 20]);
    SystemRandom::new().fill(&mut raw[..]).expect("system random");
    Zeroizing::new(raw.iter().map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char).collect())
}

/// A running server.
#[derive(Debug)]
pub struct Running {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The TLS certificate it serves.
    pub tls: TlsMaterial,
    /// Stops it gracefully.
    pub handle: axum_server::Handle<SocketAddr>,
    /// Completes when the server stops.
    pub task: tokio::task::JoinHandle<std::io::Result<()>>,
    /// This node's health, which [`Running::drain_and_stop`] marks as shutting down.
    pub health: Arc<crate::routes::system::NodeHealth>,
    /// The outgoing-mail worker, which [`Running::drain_and_stop`] stops in step.
    pub mail: crate::notify::Worker,
}

impl Running {
    /// Stops the node the way a load balancer needs: `/readyz` answers 503 from now on while
    /// the node goes on serving for `drain` (the balancer notices and sends new requests
    /// elsewhere), then it stops accepting connections and gives the requests in flight up to
    /// `grace` to finish. The mail worker claims nothing from the start of the drain, sends
    /// what it holds meanwhile, and once the server has stopped finishes the mail it is
    /// sending (up to `grace` more) and hands back the rest (`notify::Worker`). Returns once
    /// the server and the worker have stopped.
    pub async fn drain_and_stop(self, drain: Duration, grace: Duration) -> std::io::Result<()> {
        self.health.begin_drain();
        self.mail.stop_claiming();
        tracing::info!(drain_secs = drain.as_secs(), "shutting down: /readyz now answers 503");
        tokio::time::sleep(drain).await;
        tracing::info!(
            grace_secs = grace.as_secs(),
            "no longer accepting; finishing the requests in flight"
        );
        self.handle.graceful_shutdown(Some(grace));
        let served = self.task.await.map_err(std::io::Error::other)?;
        if !self.mail.finish(grace).await {
            tracing::warn!(
                "a mail was still being sent after the grace period; it is retried after its lease"
            );
        }
        served
    }
}

/// Binds the configured address. Done before [`prepare`], so that a port of 0 is resolved
/// and the default public URL names the real port.
pub fn bind(settings: &mut Settings) -> Result<std::net::TcpListener, String> {
    let listener = std::net::TcpListener::bind(settings.listen)
        .map_err(|e| format!("cannot listen on {}: {e}", settings.listen))?;
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    settings.listen = listener.local_addr().map_err(|e| e.to_string())?;
    Ok(listener)
}

/// Every route, ready to serve: the API (`routes`) and the Message Center (`center`) — two
/// fronts that never import each other — with the layers both share (metrics, the body idle
/// deadline).
pub fn app(state: AppState) -> axum::Router {
    crate::telemetry::handle();
    let segment_limit = usize::try_from(state.settings.max_segment_bytes).unwrap_or(usize::MAX);
    let idle = Duration::from_secs(state.settings.body_idle_timeout_secs);
    crate::routes::with_document(segment_limit)
        .merge(crate::center::router())
        .merge(crate::console::router())
        .merge(crate::outlook::router())
        .route_layer(axum::middleware::from_fn(crate::telemetry::track))
        .layer(axum::middleware::from_fn(move |req, next| {
            crate::conn::body_idle_timeout(idle, req, next)
        }))
        .with_state(state)
}

/// Serves `state` over HTTPS on `listener` (from [`bind`]), with the background workers
/// production runs: the mail queue (`notify`) and the sweeps (`sweep`). Tests that start the
/// app through here run exactly what production runs.
pub async fn serve(state: AppState, listener: std::net::TcpListener) -> Result<Running, String> {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let mail = crate::notify::spawn(state.clone())?;
    crate::sweep::spawn(state.clone());
    spawn_key_refresh(state.clone());
    let s = state.settings.clone();
    let configured = s.tls_cert_file.as_deref().zip(s.tls_key_file.as_deref());
    let host = url_host(&state.public_url);
    let tls = load_or_generate(configured, &s.data_dir, &host.into_iter().collect::<Vec<_>>())?;
    let config =
        axum_server::tls_rustls::RustlsConfig::from_pem(tls.cert_pem.clone(), tls.key_pem.clone())
            .await
            .map_err(|e| format!("TLS certificate or key is unusable: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let handle = axum_server::Handle::new();
    let health = state.health.clone();
    let app = app(state).into_make_service_with_connect_info::<SocketAddr>();
    // Every stage a client can stall has a deadline: the handshake, then each request's
    // headers (which for HTTP/1.1 also bounds an idle kept-alive connection), then its body
    // between bytes (`conn::body_idle_timeout`, in the router); and one address holds at most
    // `max_connections_per_ip` connections.
    let secs = Duration::from_secs;
    let acceptor = axum_server::tls_rustls::RustlsAcceptor::new(config)
        .handshake_timeout(secs(s.tls_handshake_timeout_secs))
        .acceptor(crate::conn::LimitAcceptor::new(s.max_connections_per_ip));
    let mut server = axum_server::from_tcp(listener)
        .map_err(|e| format!("cannot serve on {addr}: {e}"))?
        .acceptor(acceptor)
        .handle(handle.clone())
        .first_request_timeout(secs(s.header_read_timeout_secs));
    server.http_builder().http1().header_read_timeout(secs(s.header_read_timeout_secs));
    let task = tokio::spawn(async move { server.serve(app).await });
    Ok(Running { addr, tls, handle, task, health, mail })
}

/// How often a node looks for a platform key rotated elsewhere.
pub const KEY_REFRESH: Duration = Duration::from_secs(10);

/// Keeps this node's platform keys current: a key rotated on another node, or by an `admin`
/// command, is loaded here within [`KEY_REFRESH`], so `/api/v1/keys/platform` — what new
/// envelopes are wrapped for — agrees on every node within seconds, without a restart. (An
/// envelope naming a key this node has not loaded yet reloads them at once:
/// `messages::platform_key_for`.) Costs one indexed read per interval.
fn spawn_key_refresh(state: AppState) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(KEY_REFRESH);
        loop {
            tick.tick().await;
            let active = state.keys.read().await.active().key_id().to_hex();
            let newest = match platform_keys::active_id(&state.db).await {
                Ok(Some(id)) if id != active => id,
                Ok(_) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, "looking for a rotated platform key failed");
                    continue;
                }
            };
            let bits = state.settings.platform_key_bits;
            match platform_keys::load_or_create(&state.db, &state.master, bits).await {
                Ok((keys, _)) => {
                    *state.keys.write().await = keys;
                    tracing::info!(key = %newest, "loaded the platform key rotated elsewhere");
                }
                Err(e) => tracing::warn!(error = %e, "loading the rotated platform key failed"),
            }
        }
    });
}

fn url_host(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let host = rest.split(['/', ':']).next()?;
    (!host.is_empty() && host != "localhost" && host != "127.0.0.1").then(|| host.to_string())
}
