//! Typed settings: built-in defaults, then an optional TOML file, then `SEALPOST_…`
//! environment variables, then command-line flags. Every key is documented in
//! `docs/platform-config.md`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Largest `inline_segment_bytes` allowed: segments are held in memory while stored inline.
pub const MAX_INLINE_SEGMENT_BYTES: u64 = 1 << 20;

/// Everything the platform can be configured with.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Address to serve HTTPS on.
    pub listen: SocketAddr,
    /// Base URL people and the helper reach the platform at (used in message links).
    /// Default: `https://` + `listen`.
    pub public_url: Option<String>,
    /// Folder for the SQLite database, local envelope store, TLS certificate and master key.
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`. Default: SQLite in `data_dir`.
    pub database_url: Option<String>,
    /// File holding the master key (32 bytes, base64). Default: `data_dir/master.key`,
    /// generated on first start with mode 0600. `SEALPOST_MASTER_KEY` (base64) takes
    /// precedence over any file.
    pub master_key_file: Option<PathBuf>,
    /// TLS certificate and key (PEM). When unset, a self-signed pair is generated and kept
    /// in `data_dir/tls/`.
    pub tls_cert_file: Option<PathBuf>,
    /// See `tls_cert_file`.
    pub tls_key_file: Option<PathBuf>,
    /// RSA size of the platform key when one is generated: 3072 or 4096.
    pub platform_key_bits: u32,
    /// Largest envelope accepted, in bytes (a tenant's policy may set less).
    pub max_envelope_bytes: u64,
    /// Largest single upload request body, in bytes.
    pub max_segment_bytes: u64,
    /// Upload requests of at most this many bytes (by `Content-Length`) are kept in the
    /// database with the segment's row instead of as a blob: a small secure message then costs
    /// no file or object of its own. 0 keeps every segment in the blob store.
    pub inline_segment_bytes: u64,
    /// Sign-in attempts allowed per client address per minute, counted across all nodes. The
    /// older name `login_attempts_per_minute` is still read.
    #[serde(alias = "login_attempts_per_minute")]
    pub sign_in_attempts_per_minute: u32,
    /// Load balancers and proxies (addresses or CIDR ranges) whose `X-Forwarded-For` is believed
    /// for per-address limits.
    #[serde(deserialize_with = "deserialize_nets")]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Unfinished uploads older than this many hours are removed (their segments too).
    pub abandoned_upload_hours: u64,
    /// Seconds a client has to complete the TLS handshake.
    pub tls_handshake_timeout_secs: u64,
    /// Seconds a client has to send a request's headers (HTTP/1.1: also the longest an idle
    /// kept-alive connection stays open).
    pub header_read_timeout_secs: u64,
    /// Seconds a request body may go without a byte before the request fails.
    pub body_idle_timeout_secs: u64,
    /// Connections one client address may hold open at once.
    pub max_connections_per_ip: usize,
    /// Seconds the node keeps serving after it is told to stop (SIGTERM, SIGINT) while
    /// `/readyz` answers 503, so a load balancer notices and sends new requests elsewhere;
    /// then it stops accepting. Behind a balancer: at least its check interval times the
    /// failed checks it needs.
    pub drain_secs: u64,
    /// Seconds the requests in flight then have to finish before the node exits anyway.
    pub shutdown_grace_secs: u64,
    /// Envelope segments no upload names are removed once this many minutes old.
    pub orphan_segment_minutes: u64,
    /// Log format: `text` or `json`.
    pub log_format: String,
    /// Where envelopes are kept: `local` (files in `data_dir/envelopes`) or `s3`.
    pub blob_store: String,
    /// S3 bucket (with `blob_store = "s3"`).
    pub s3_bucket: Option<String>,
    /// S3 endpoint for S3-compatible services; AWS when unset.
    pub s3_endpoint: Option<String>,
    /// S3 region.
    pub s3_region: String,
    /// Allow plain HTTP to the S3 endpoint (local test services only).
    pub s3_allow_http: bool,
    /// Key prefix inside the bucket.
    pub s3_prefix: String,
    /// S3 access key id; prefer the `AWS_ACCESS_KEY_ID` environment variable.
    pub s3_access_key_id: Option<String>,
    /// S3 secret key; prefer the `AWS_SECRET_ACCESS_KEY` environment variable.
    pub s3_secret_access_key: Option<Secret>,
    /// SMTP relay the platform sends its own mail through (codes, notifications). Unset:
    /// mail is queued and waits until a relay is configured.
    pub smtp_host: Option<String>,
    /// Relay port.
    pub smtp_port: u16,
    /// `starttls` (required, not opportunistic), `tls` (implicit TLS) or `none` (local relays only).
    pub smtp_security: String,
    /// Relay user name, when it wants authentication.
    pub smtp_username: Option<String>,
    /// Relay password; prefer the `SEALPOST_SMTP_PASSWORD` environment variable.
    pub smtp_password: Option<Secret>,
    /// Sender of the platform's mail, e.g. `Sealpost <no-reply@secure.example.com>`.
    pub smtp_from: String,
    /// Extra CA certificate (PEM) to trust for the relay, e.g. a company CA.
    pub smtp_ca_file: Option<PathBuf>,
    /// Delivery attempts before a notification is dead-lettered.
    pub notify_max_attempts: u32,
    /// First retry delay in milliseconds; doubles each attempt, at most one hour.
    pub notify_retry_base_ms: u64,
    /// Who may frame the Outlook add-in's pages (`frame-ancestors` sources, separated by
    /// spaces): Microsoft's Outlook on the web, plus an on-premises Outlook on the web's
    /// `https://` origin where there is one. The Message Center is never framed.
    pub outlook_frame_ancestors: String,
}

/// Where Microsoft serves Outlook on the web and new Outlook (which frame the add-in's pages).
pub const DEFAULT_OUTLOOK_FRAME_ANCESTORS: &str = "https://outlook.office.com \
     https://outlook.office365.com https://outlook.live.com https://outlook.cloud.microsoft";

/// A setting that must never be printed (Debug shows `<redacted>`).
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen: SocketAddr::from(([127, 0, 0, 1], 8443)),
            public_url: None,
            data_dir: PathBuf::from("sealpost-data"),
            database_url: None,
            master_key_file: None,
            tls_cert_file: None,
            tls_key_file: None,
            platform_key_bits: 3072,
            max_envelope_bytes: 1 << 30,
            max_segment_bytes: 64 << 20,
            inline_segment_bytes: 64 << 10,
            sign_in_attempts_per_minute: 20,
            abandoned_upload_hours: 24,
            orphan_segment_minutes: 60,
            tls_handshake_timeout_secs: 10,
            header_read_timeout_secs: 30,
            body_idle_timeout_secs: 60,
            max_connections_per_ip: 64,
            drain_secs: 0,
            shutdown_grace_secs: 10,
            trusted_proxies: Vec::new(),
            log_format: "text".into(),
            blob_store: "local".into(),
            s3_bucket: None,
            s3_endpoint: None,
            s3_region: "us-east-1".into(),
            s3_allow_http: false,
            s3_prefix: String::new(),
            s3_access_key_id: None,
            s3_secret_access_key: None,
            smtp_host: None,
            smtp_port: 587,
            smtp_security: "starttls".into(),
            smtp_username: None,
            smtp_password: None,
            smtp_from: "Sealpost <no-reply@sealpost.localhost>".into(),
            smtp_ca_file: None,
            notify_max_attempts: 8,
            notify_retry_base_ms: 30_000,
            outlook_frame_ancestors: DEFAULT_OUTLOOK_FRAME_ANCESTORS.into(),
        }
    }
}

/// A configuration problem a person can fix.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The TOML file could not be read or parsed.
    #[error("cannot read configuration {path}: {reason}")]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// An environment variable holds a value of the wrong kind.
    #[error("environment variable {name} is invalid: {reason}")]
    Env {
        /// The variable.
        name: &'static str,
        /// Why.
        reason: String,
    },
    /// A value is out of range.
    #[error("invalid setting: {0}")]
    Invalid(String),
}

impl Settings {
    /// Defaults, then `file` (if any), then the environment.
    pub fn load(file: Option<&Path>) -> Result<Settings, ConfigError> {
        let mut s = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| ConfigError::File { path: path.into(), reason: e.to_string() })?;
                toml::from_str(&text)
                    .map_err(|e| ConfigError::File { path: path.into(), reason: e.to_string() })?
            }
            None => Settings::default(),
        };
        s.apply_env(|name| std::env::var(name).ok())?;
        s.check()?;
        Ok(s)
    }

    /// Applies `SEALPOST_…` overrides read through `get`.
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        fn parse<T: std::str::FromStr>(name: &'static str, v: String) -> Result<T, ConfigError>
        where
            T::Err: std::fmt::Display,
        {
            v.parse().map_err(|e: T::Err| ConfigError::Env { name, reason: e.to_string() })
        }
        if let Some(v) = get("SEALPOST_LISTEN") {
            self.listen = parse("SEALPOST_LISTEN", v)?;
        }
        if let Some(v) = get("SEALPOST_PUBLIC_URL") {
            self.public_url = Some(v);
        }
        if let Some(v) = get("SEALPOST_DATA_DIR") {
            self.data_dir = v.into();
        }
        if let Some(v) = get("SEALPOST_DATABASE_URL") {
            self.database_url = Some(v);
        }
        if let Some(v) = get("SEALPOST_MASTER_KEY_FILE") {
            self.master_key_file = Some(v.into());
        }
        if let Some(v) = get("SEALPOST_TLS_CERT_FILE") {
            self.tls_cert_file = Some(v.into());
        }
        if let Some(v) = get("SEALPOST_TLS_KEY_FILE") {
            self.tls_key_file = Some(v.into());
        }
        if let Some(v) = get("SEALPOST_PLATFORM_KEY_BITS") {
            self.platform_key_bits = parse("SEALPOST_PLATFORM_KEY_BITS", v)?;
        }
        if let Some(v) = get("SEALPOST_MAX_ENVELOPE_BYTES") {
            self.max_envelope_bytes = parse("SEALPOST_MAX_ENVELOPE_BYTES", v)?;
        }
        if let Some(v) = get("SEALPOST_MAX_SEGMENT_BYTES") {
            self.max_segment_bytes = parse("SEALPOST_MAX_SEGMENT_BYTES", v)?;
        }
        if let Some(v) = get("SEALPOST_INLINE_SEGMENT_BYTES") {
            self.inline_segment_bytes = parse("SEALPOST_INLINE_SEGMENT_BYTES", v)?;
        }
        // The older name first, so that the current one wins when both are set.
        for name in ["SEALPOST_LOGIN_ATTEMPTS_PER_MINUTE", "SEALPOST_SIGN_IN_ATTEMPTS_PER_MINUTE"] {
            if let Some(v) = get(name) {
                self.sign_in_attempts_per_minute = parse(name, v)?;
            }
        }
        if let Some(v) = get("SEALPOST_TRUSTED_PROXIES") {
            self.trusted_proxies = v
                .split(',')
                .filter(|p| !p.trim().is_empty())
                .map(|p| parse_net(p.trim()))
                .collect::<Result<_, _>>()
                .map_err(|reason| ConfigError::Env { name: "SEALPOST_TRUSTED_PROXIES", reason })?;
        }
        if let Some(v) = get("SEALPOST_OUTLOOK_FRAME_ANCESTORS") {
            self.outlook_frame_ancestors = v;
        }
        if let Some(v) = get("SEALPOST_ABANDONED_UPLOAD_HOURS") {
            self.abandoned_upload_hours = parse("SEALPOST_ABANDONED_UPLOAD_HOURS", v)?;
        }
        if let Some(v) = get("SEALPOST_ORPHAN_SEGMENT_MINUTES") {
            self.orphan_segment_minutes = parse("SEALPOST_ORPHAN_SEGMENT_MINUTES", v)?;
        }
        if let Some(v) = get("SEALPOST_TLS_HANDSHAKE_TIMEOUT_SECS") {
            self.tls_handshake_timeout_secs = parse("SEALPOST_TLS_HANDSHAKE_TIMEOUT_SECS", v)?;
        }
        if let Some(v) = get("SEALPOST_HEADER_READ_TIMEOUT_SECS") {
            self.header_read_timeout_secs = parse("SEALPOST_HEADER_READ_TIMEOUT_SECS", v)?;
        }
        if let Some(v) = get("SEALPOST_BODY_IDLE_TIMEOUT_SECS") {
            self.body_idle_timeout_secs = parse("SEALPOST_BODY_IDLE_TIMEOUT_SECS", v)?;
        }
        if let Some(v) = get("SEALPOST_MAX_CONNECTIONS_PER_IP") {
            self.max_connections_per_ip = parse("SEALPOST_MAX_CONNECTIONS_PER_IP", v)?;
        }
        if let Some(v) = get("SEALPOST_DRAIN_SECS") {
            self.drain_secs = parse("SEALPOST_DRAIN_SECS", v)?;
        }
        if let Some(v) = get("SEALPOST_SHUTDOWN_GRACE_SECS") {
            self.shutdown_grace_secs = parse("SEALPOST_SHUTDOWN_GRACE_SECS", v)?;
        }
        if let Some(v) = get("SEALPOST_LOG_FORMAT") {
            self.log_format = v;
        }
        if let Some(v) = get("SEALPOST_BLOB_STORE") {
            self.blob_store = v;
        }
        if let Some(v) = get("SEALPOST_S3_BUCKET") {
            self.s3_bucket = Some(v);
        }
        if let Some(v) = get("SEALPOST_S3_ENDPOINT") {
            self.s3_endpoint = Some(v);
        }
        if let Some(v) = get("SEALPOST_S3_REGION") {
            self.s3_region = v;
        }
        if let Some(v) = get("SEALPOST_S3_ALLOW_HTTP") {
            self.s3_allow_http = parse("SEALPOST_S3_ALLOW_HTTP", v)?;
        }
        if let Some(v) = get("SEALPOST_S3_PREFIX") {
            self.s3_prefix = v;
        }
        if let Some(v) = get("SEALPOST_SMTP_HOST") {
            self.smtp_host = Some(v);
        }
        if let Some(v) = get("SEALPOST_SMTP_PORT") {
            self.smtp_port = parse("SEALPOST_SMTP_PORT", v)?;
        }
        if let Some(v) = get("SEALPOST_SMTP_SECURITY") {
            self.smtp_security = v;
        }
        if let Some(v) = get("SEALPOST_SMTP_USERNAME") {
            self.smtp_username = Some(v);
        }
        if let Some(v) = get("SEALPOST_SMTP_PASSWORD") {
            self.smtp_password = Some(Secret(v));
        }
        if let Some(v) = get("SEALPOST_SMTP_FROM") {
            self.smtp_from = v;
        }
        if let Some(v) = get("SEALPOST_SMTP_CA_FILE") {
            self.smtp_ca_file = Some(v.into());
        }
        if let Some(v) = get("SEALPOST_NOTIFY_MAX_ATTEMPTS") {
            self.notify_max_attempts = parse("SEALPOST_NOTIFY_MAX_ATTEMPTS", v)?;
        }
        if let Some(v) = get("SEALPOST_NOTIFY_RETRY_BASE_MS") {
            self.notify_retry_base_ms = parse("SEALPOST_NOTIFY_RETRY_BASE_MS", v)?;
        }
        Ok(())
    }

    /// Checks ranges and combinations.
    pub fn check(&self) -> Result<(), ConfigError> {
        if ![3072, 4096].contains(&self.platform_key_bits) {
            return Err(ConfigError::Invalid("platform_key_bits must be 3072 or 4096".into()));
        }
        if self.tls_cert_file.is_some() != self.tls_key_file.is_some() {
            return Err(ConfigError::Invalid(
                "tls_cert_file and tls_key_file must be given together".into(),
            ));
        }
        if !["starttls", "tls", "none"].contains(&self.smtp_security.as_str()) {
            return Err(ConfigError::Invalid(
                "smtp_security must be \"starttls\", \"tls\" or \"none\"".into(),
            ));
        }
        for source in self.outlook_frame_ancestors.split_whitespace() {
            if !is_https_source(source) {
                return Err(ConfigError::Invalid(format!(
                    "outlook_frame_ancestors: {source:?} is not an https:// origin \
                     (such as https://owa.example.com or https://*.example.com)"
                )));
            }
        }
        if self.notify_max_attempts == 0 {
            return Err(ConfigError::Invalid("notify_max_attempts must be at least 1".into()));
        }
        if self.smtp_from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(ConfigError::Invalid(format!(
                "smtp_from is not a mail address: {}",
                self.smtp_from
            )));
        }
        if !["text", "json"].contains(&self.log_format.as_str()) {
            return Err(ConfigError::Invalid("log_format must be \"text\" or \"json\"".into()));
        }
        match (self.blob_store.as_str(), &self.s3_bucket) {
            ("local", _) | ("s3", Some(_)) => {}
            ("s3", None) => {
                return Err(ConfigError::Invalid("blob_store = \"s3\" needs s3_bucket".into()));
            }
            (other, _) => {
                return Err(ConfigError::Invalid(format!(
                    "blob_store must be \"local\" or \"s3\", not \"{other}\""
                )));
            }
        }
        if [
            self.tls_handshake_timeout_secs,
            self.header_read_timeout_secs,
            self.body_idle_timeout_secs,
        ]
        .contains(&0)
            || self.max_connections_per_ip == 0
        {
            return Err(ConfigError::Invalid(
                "tls_handshake_timeout_secs, header_read_timeout_secs, body_idle_timeout_secs \
                 and max_connections_per_ip must be at least 1"
                    .into(),
            ));
        }
        if self.max_segment_bytes == 0 || self.max_envelope_bytes == 0 {
            return Err(ConfigError::Invalid("size limits must be positive".into()));
        }
        if self.inline_segment_bytes > MAX_INLINE_SEGMENT_BYTES {
            return Err(ConfigError::Invalid(format!(
                "inline_segment_bytes may be at most {MAX_INLINE_SEGMENT_BYTES} (1 MiB): larger \
                 segments belong in the blob store"
            )));
        }
        Ok(())
    }

    /// The database URL, defaulting to SQLite in the data folder.
    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| {
            format!("sqlite://{}?mode=rwc", self.data_dir.join("sealpost.db").display())
        })
    }

    /// The envelope store these settings describe.
    pub fn blob_store(&self) -> Result<crate::blob::BlobStore, String> {
        if self.blob_store != "s3" {
            return Ok(crate::blob::BlobStore::Local { root: self.data_dir.join("envelopes") });
        }
        crate::blob::BlobStore::s3(&crate::blob::S3Settings {
            bucket: self.s3_bucket.clone().unwrap_or_default(),
            endpoint: self.s3_endpoint.clone(),
            region: self.s3_region.clone(),
            allow_http: self.s3_allow_http,
            prefix: self.s3_prefix.clone(),
            access_key_id: self.s3_access_key_id.clone(),
            secret_access_key: self.s3_secret_access_key.as_ref().map(|s| s.0.clone()),
        })
    }

    /// Where the master key file lives.
    pub fn master_key_path(&self) -> PathBuf {
        self.master_key_file.clone().unwrap_or_else(|| self.data_dir.join("master.key"))
    }
}

/// An address (`10.0.0.5`) or a range (`10.0.0.0/24`).
fn parse_net(s: &str) -> Result<ipnet::IpNet, String> {
    s.parse::<ipnet::IpNet>()
        .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("{s:?} is not an IP address or CIDR range"))
}

fn deserialize_nets<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<ipnet::IpNet>, D::Error> {
    let list: Vec<String> = serde::Deserialize::deserialize(d)?;
    list.iter().map(|s| parse_net(s.trim()).map_err(serde::de::Error::custom)).collect()
}

/// An `https://` origin, or one with a leading `*.` wildcard label, and nothing that could end
/// the header's directive: what `frame-ancestors` may name here.
fn is_https_source(source: &str) -> bool {
    let Some(host) = source.strip_prefix("https://") else { return false };
    let host = host.strip_prefix("*.").unwrap_or(host);
    let (name, port) = host.rsplit_once(':').map_or((host, None), |(h, p)| (h, Some(p)));
    !name.is_empty()
        && name
            .split('.')
            .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        && port
            .is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.chars().all(|c| c.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outlook_frame_ancestors_are_https_origins_only() {
        let mut s = Settings::default();
        s.check().expect("the defaults are valid");
        for good in ["https://owa.example.com", "https://*.example.com https://mail.example:8443"] {
            s.outlook_frame_ancestors = good.into();
            assert!(s.check().is_ok(), "{good}");
        }
        for bad in [
            "*",
            "http://owa.example.com",
            "https://owa.example.com; script-src *",
            "'self'",
            "https://",
            "https://a.example:x",
        ] {
            s.outlook_frame_ancestors = bad.into();
            assert!(s.check().is_err(), "{bad}");
        }
    }

    #[test]
    fn trusted_proxies_are_addresses_or_ranges() {
        let s: Settings =
            toml::from_str("trusted_proxies = [\"10.0.0.5\", \"192.0.2.0/24\"]").expect("toml");
        assert_eq!(s.trusted_proxies.len(), 2);
        assert!(toml::from_str::<Settings>("trusted_proxies = [\"lb.example\"]").is_err());
        let mut s = Settings::default();
        s.apply_env(|n| (n == "SEALPOST_TRUSTED_PROXIES").then(|| "10.0.0.5, ::1".into()))
            .expect("env");
        assert_eq!(s.trusted_proxies.len(), 2);
        assert!(s.apply_env(|n| (n == "SEALPOST_TRUSTED_PROXIES").then(|| "x".into())).is_err());
    }

    #[test]
    fn environment_overrides_the_file_and_bad_values_say_which_variable() {
        let mut s: Settings =
            toml::from_str("listen = \"127.0.0.1:9000\"\nplatform_key_bits = 4096").expect("toml");
        assert_eq!(s.platform_key_bits, 4096);
        s.apply_env(|n| (n == "SEALPOST_LISTEN").then(|| "127.0.0.1:9443".to_string()))
            .expect("env");
        assert_eq!(s.listen.port(), 9443);
        let err = s
            .apply_env(|n| (n == "SEALPOST_MAX_ENVELOPE_BYTES").then(|| "lots".to_string()))
            .expect_err("not a number");
        assert!(err.to_string().contains("SEALPOST_MAX_ENVELOPE_BYTES"), "{err}");
        assert!(toml::from_str::<Settings>("lisen = \"x\"").is_err(), "unknown keys are refused");
        let with_secret: Settings =
            toml::from_str("s3_secret_access_key = \"hunter2\"").expect("toml");
        assert!(!format!("{with_secret:?}").contains("hunter2"), "secrets never print");
    }
}
