//! Settings and where the helper keeps things.
//!
//! Settings come from three layers, later ones winning:
//! 1. built-in defaults;
//! 2. the user's file, `helper.toml` in the user's configuration folder
//!    (Linux `~/.config/sealpost/`, macOS `~/Library/Application Support/net.Sealpost.Sealpost/`,
//!    Windows `%APPDATA%\Sealpost\Sealpost\config\`);
//! 3. the system-wide file IT deploys (Linux `/etc/sealpost/helper.toml`, macOS
//!    `/Library/Application Support/Sealpost/helper.toml`, Windows
//!    `%ProgramData%\Sealpost\helper.toml`; `SEALPOST_HELPER_SYSTEM_CONFIG` names another).
//!
//! IT's file wins so that what it provisions (the platform, its certificate authority, the
//! expected platform key) cannot be changed by a user. Every key is in
//! `docs/helper-config.md`; unknown keys are an error, so a typo does not silently do nothing.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::error::{HelperError, Result};

/// The helper's effective settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// The platform's address (`https://…`), when IT or the user set one.
    pub platform: Option<String>,
    /// PEM file with the certificate authority (or the platform's own certificate) to trust
    /// for the platform, in addition to the system's roots.
    pub tls_ca_file: Option<PathBuf>,
    /// The platform key id (hex SHA-256 of its public key) IT expects. When set, sign-in
    /// refuses any other key.
    pub platform_key_id: Option<String>,
    /// How long a fetched policy is used before it is fetched again.
    pub policy_max_age: Duration,
    /// Bytes per upload request (at most the platform's segment limit).
    pub upload_segment_bytes: u64,
    /// Failed upload requests in a row before an upload gives up.
    pub upload_attempts: u32,
    /// Time allowed to connect to the platform (TCP and TLS). A first contact that cannot
    /// connect is not retried: an unreachable platform is reported within this time.
    pub connect_timeout: Duration,
    /// Time allowed for any one read once connected.
    pub read_timeout: Duration,
    /// Time allowed for one control request (everything but the upload's bytes), its retries
    /// included: the longest a user waits on a platform that does not answer.
    pub request_deadline: Duration,
    /// An upload gives up when the platform has taken no byte (and given no answer) for this
    /// long. Not a limit on the upload's total time, which grows with the message.
    pub upload_stall: Duration,
    /// Largest native-messaging frame accepted from the mail client.
    pub max_frame_bytes: u32,
    /// Log level: `error`, `warn`, `info`, `debug`.
    pub log_level: String,
    /// The port of the Outlook bridge (`sealpost-helper bridge`) on 127.0.0.1.
    pub bridge_port: u16,
    /// Whether the Outlook bridge runs for every user from desktop login: the installers
    /// start `sealpost-helper bridge --autostart` at each login, and it serves only when IT
    /// turned this on.
    pub bridge_autostart: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            platform: None,
            tls_ca_file: None,
            platform_key_id: None,
            policy_max_age: Duration::from_secs(15 * 60),
            upload_segment_bytes: 32 << 20,
            upload_attempts: 5,
            connect_timeout: Duration::from_secs(3),
            read_timeout: Duration::from_secs(60),
            request_deadline: Duration::from_secs(30),
            upload_stall: Duration::from_secs(30),
            max_frame_bytes: crate::framing::MAX_INBOUND_FRAME,
            log_level: "info".into(),
            bridge_port: crate::bridge::DEFAULT_PORT,
            bridge_autostart: false,
        }
    }
}

/// One settings file; every key optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    platform: Option<String>,
    tls_ca_file: Option<PathBuf>,
    platform_key_id: Option<String>,
    policy_max_age_seconds: Option<u64>,
    upload_segment_bytes: Option<u64>,
    upload_attempts: Option<u32>,
    connect_timeout_seconds: Option<u64>,
    read_timeout_seconds: Option<u64>,
    request_deadline_seconds: Option<u64>,
    upload_stall_seconds: Option<u64>,
    max_frame_bytes: Option<u32>,
    log_level: Option<String>,
    bridge_port: Option<u16>,
    bridge_autostart: Option<bool>,
}

impl Settings {
    /// Reads the user's and the system's files over the defaults.
    pub fn load(paths: &Paths) -> Result<Settings> {
        let mut s = Settings::default();
        for file in [paths.user_config_file(), system_config_file()] {
            if let Some(layer) = read_layer(&file)? {
                s.apply(layer, &file)?;
            }
        }
        Ok(s)
    }

    fn apply(&mut self, f: FileSettings, from: &Path) -> Result<()> {
        let bad = |what: &str| HelperError::Config(format!("{}: {what}", from.display()));
        if let Some(p) = f.platform {
            self.platform = Some(normalise_platform(&p).map_err(|e| bad(&e))?);
        }
        if let Some(p) = f.tls_ca_file {
            self.tls_ca_file = Some(p);
        }
        if let Some(k) = f.platform_key_id {
            self.platform_key_id = Some(normalise_key_id(&k).map_err(|e| bad(&e))?);
        }
        if let Some(v) = f.policy_max_age_seconds {
            self.policy_max_age = Duration::from_secs(v);
        }
        if let Some(v) = f.upload_segment_bytes {
            if !(64 << 10..=1 << 30).contains(&v) {
                return Err(bad("upload_segment_bytes must be between 64 KiB and 1 GiB"));
            }
            self.upload_segment_bytes = v;
        }
        if let Some(v) = f.upload_attempts {
            if !(1..=20).contains(&v) {
                return Err(bad("upload_attempts must be between 1 and 20"));
            }
            self.upload_attempts = v;
        }
        if let Some(v) = f.connect_timeout_seconds {
            self.connect_timeout = Duration::from_secs(v.max(1));
        }
        if let Some(v) = f.read_timeout_seconds {
            self.read_timeout = Duration::from_secs(v.max(1));
        }
        if let Some(v) = f.request_deadline_seconds {
            if !(1..=600).contains(&v) {
                return Err(bad("request_deadline_seconds must be between 1 and 600"));
            }
            self.request_deadline = Duration::from_secs(v);
        }
        if let Some(v) = f.upload_stall_seconds {
            if !(1..=600).contains(&v) {
                return Err(bad("upload_stall_seconds must be between 1 and 600"));
            }
            self.upload_stall = Duration::from_secs(v);
        }
        if let Some(v) = f.max_frame_bytes {
            if !(64 << 10..=64 << 20).contains(&v) {
                return Err(bad("max_frame_bytes must be between 64 KiB and 64 MiB"));
            }
            self.max_frame_bytes = v;
        }
        if let Some(v) = f.bridge_port {
            if v < 1024 {
                return Err(bad("bridge_port must be 1024 or above"));
            }
            self.bridge_port = v;
        }
        if let Some(v) = f.bridge_autostart {
            self.bridge_autostart = v;
        }
        if let Some(v) = f.log_level {
            if !["error", "warn", "info", "debug"].contains(&v.as_str()) {
                return Err(bad("log_level must be error, warn, info or debug"));
            }
            self.log_level = v;
        }
        Ok(())
    }
}

fn read_layer(file: &Path) -> Result<Option<FileSettings>> {
    match std::fs::read_to_string(file) {
        Ok(text) => toml::from_str(&text)
            .map(Some)
            .map_err(|e| HelperError::Config(format!("{}: {e}", file.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(HelperError::Config(format!("{}: {e}", file.display()))),
    }
}

/// Checks a platform address and returns it without a trailing slash. Only `https` is
/// accepted: the device token and the envelope never travel in clear.
pub fn normalise_platform(url: &str) -> std::result::Result<String, String> {
    let url = url.trim().trim_end_matches('/');
    let rest = url
        .strip_prefix("https://")
        .ok_or_else(|| format!("platform address {url:?} must start with https://"))?;
    if rest.is_empty() || rest.contains(['/', '?', '#', '@', ' ']) {
        return Err(format!("platform address {url:?} must be https://host[:port]"));
    }
    Ok(url.to_string())
}

/// Checks a platform key id (64 hex digits) and returns it in lowercase.
pub fn normalise_key_id(id: &str) -> std::result::Result<String, String> {
    let id = id.trim().to_ascii_lowercase();
    if id.len() != 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("platform_key_id must be 64 hex digits".into());
    }
    Ok(id)
}

/// Checks a whole settings file's text as the helper will read it.
pub fn check_settings_text(text: &str, from: &Path) -> Result<()> {
    let layer: FileSettings = toml::from_str(text)
        .map_err(|e| HelperError::Config(format!("{}: {e}", from.display())))?;
    Settings::default().apply(layer, from)
}

/// The system-wide settings file IT deploys.
pub fn system_config_file() -> PathBuf {
    if let Some(p) = std::env::var_os("SEALPOST_HELPER_SYSTEM_CONFIG") {
        return PathBuf::from(p);
    }
    if cfg!(windows) {
        let base = std::env::var_os("ProgramData").unwrap_or_else(|| r"C:\ProgramData".into());
        PathBuf::from(base).join("Sealpost").join("helper.toml")
    } else if cfg!(target_os = "macos") {
        PathBuf::from("/Library/Application Support/Sealpost/helper.toml")
    } else {
        PathBuf::from("/etc/sealpost/helper.toml")
    }
}

/// The per-user folders, from the `directories` crate.
#[derive(Clone, Debug)]
pub struct Paths {
    config: PathBuf,
    data: PathBuf,
    cache: PathBuf,
    logs: PathBuf,
}

impl Paths {
    /// The current user's folders.
    pub fn for_current_user() -> Result<Paths> {
        let dirs =
            directories::ProjectDirs::from("net", "Sealpost", "Sealpost").ok_or_else(|| {
                HelperError::Config("cannot tell this user's home folder (is HOME set?)".into())
            })?;
        Ok(Paths {
            config: dirs.config_dir().to_path_buf(),
            data: dirs.data_local_dir().to_path_buf(),
            cache: dirs.cache_dir().to_path_buf(),
            logs: dirs
                .state_dir()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| dirs.data_local_dir().join("logs")),
        })
    }

    /// The user's settings file.
    pub fn user_config_file(&self) -> PathBuf {
        self.config.join("helper.toml")
    }

    /// Where the sign-in record (no secrets) lives. The file keeps its first name,
    /// `enrolment.json`, so that computers signed in before the rename stay signed in.
    pub fn sign_in_file(&self) -> PathBuf {
        self.data.join("enrolment.json")
    }

    /// Where the fetched policy is cached.
    pub fn policy_cache_file(&self) -> PathBuf {
        self.cache.join("policy.json")
    }

    /// Where sealed (encrypted) attachment parts wait for upload.
    pub fn spool_dir(&self) -> PathBuf {
        self.cache.join("spool")
    }

    /// Where the log files rotate.
    pub fn log_dir(&self) -> PathBuf {
        self.logs.clone()
    }
}

/// Creates `dir` (and parents) readable by the user only.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Writes `bytes` to `path` atomically (temporary file, fsync, rename), readable by the user
/// only.
pub fn write_private_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    create_private_dir(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(text: &str) -> FileSettings {
        toml::from_str(text).expect("toml")
    }

    #[test]
    fn later_layers_win_and_bad_values_say_where() {
        let mut s = Settings::default();
        s.apply(layer("platform = \"https://user.example/\"\nupload_attempts = 3"), Path::new("u"))
            .expect("user");
        s.apply(layer("platform = \"https://it.example:8443\""), Path::new("sys")).expect("it");
        assert_eq!(s.platform.as_deref(), Some("https://it.example:8443"));
        assert_eq!(s.upload_attempts, 3);
        assert!(!s.bridge_autostart, "the bridge is off unless IT turns it on");
        s.apply(layer("bridge_autostart = true"), Path::new("sys")).expect("bridge");
        assert!(s.bridge_autostart);

        let e = s.apply(layer("platform = \"http://plain.example\""), Path::new("/etc/x.toml"));
        assert!(e.expect_err("http").to_string().contains("/etc/x.toml"));
        assert!(s.apply(layer("platform_key_id = \"abc\""), Path::new("f")).is_err());
        assert!(toml::from_str::<FileSettings>("platfrom = \"https://x\"").is_err(), "typo");
    }

    #[test]
    fn platform_addresses_are_https_origins() {
        assert_eq!(
            normalise_platform(" https://a.example:8443/ ").as_deref(),
            Ok("https://a.example:8443")
        );
        for bad in [
            "a.example",
            "http://a.example",
            "https://",
            "https://a.example/path",
            "https://u@a.example",
        ] {
            assert!(normalise_platform(bad).is_err(), "{bad}");
        }
    }
}
