//! Registering the helper with Thunderbird: the native-messaging host manifest.
//!
//! Thunderbird looks for `net.sealpost.helper.json` in (see `../shared/notes/thunderbird.md`):
//! - Linux: `~/.mozilla/native-messaging-hosts/` (user), `/usr/lib/mozilla/native-messaging-hosts/`
//!   (system);
//! - macOS: `~/Library/Mozilla/NativeMessagingHosts/` (user),
//!   `/Library/Application Support/Mozilla/NativeMessagingHosts/` (system);
//! - Windows: wherever the registry value
//!   `HKCU|HKLM\Software\Mozilla\NativeMessagingHosts\net.sealpost.helper` points; the helper
//!   writes the manifest next to its settings.
//!
//! The manifest allows only the Sealpost extension.

use std::path::{Path, PathBuf};

use serde_json::json;

use crate::error::{HelperError, Result};

/// The host's name, as the extension passes it to `connectNative`.
pub const HOST_NAME: &str = "net.sealpost.helper";
/// The Sealpost Thunderbird extension's id: the only one allowed to start the helper.
pub const EXTENSION_ID: &str = "sealpost@sealpost.net";

/// Where the registration goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// For the current user.
    User,
    /// For every user of the computer (needs administrator rights).
    System,
}

/// What installing writes (or uninstalling removes).
#[derive(Clone, Debug)]
pub struct Plan {
    /// The manifest file.
    pub manifest_path: PathBuf,
    /// Its contents.
    pub manifest: String,
    /// On Windows, the registry key whose default value names the manifest.
    pub registry_key: Option<String>,
}

impl std::fmt::Display for Plan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "manifest: {}", self.manifest_path.display())?;
        if let Some(k) = &self.registry_key {
            writeln!(f, "registry: {k} = {}", self.manifest_path.display())?;
        }
        write!(f, "{}", self.manifest)
    }
}

/// The plan for registering `helper` (the binary's absolute path) in `scope`.
pub fn plan(scope: Scope, helper: &Path) -> Result<Plan> {
    if !helper.is_absolute() {
        return Err(HelperError::Config(format!("{} is not an absolute path", helper.display())));
    }
    let manifest = serde_json::to_string_pretty(&json!({
        "name": HOST_NAME,
        "description": "Sealpost secure send: encrypts outgoing mail and uploads it to Sealpost",
        "path": helper,
        "type": "stdio",
        "allowed_extensions": [EXTENSION_ID],
    }))
    .expect("serialisable")
        + "\n";
    let file = format!("{HOST_NAME}.json");
    let home = || {
        std::env::var_os(if cfg!(windows) { "USERPROFILE" } else { "HOME" })
            .map(PathBuf::from)
            .ok_or_else(|| HelperError::Config("HOME is not set".into()))
    };
    let (manifest_path, registry_key) = if cfg!(windows) {
        let (base, hive) = match scope {
            Scope::User => {
                (std::env::var_os("LOCALAPPDATA").map(PathBuf::from), "HKEY_CURRENT_USER")
            }
            Scope::System => {
                (std::env::var_os("ProgramData").map(PathBuf::from), "HKEY_LOCAL_MACHINE")
            }
        };
        let base = base.ok_or_else(|| HelperError::Config("no application data folder".into()))?;
        let key = format!(r"{hive}\Software\Mozilla\NativeMessagingHosts\{HOST_NAME}");
        (base.join("Sealpost").join(&file), Some(key))
    } else if cfg!(target_os = "macos") {
        let dir = match scope {
            Scope::User => home()?.join("Library/Mozilla/NativeMessagingHosts"),
            Scope::System => {
                PathBuf::from("/Library/Application Support/Mozilla/NativeMessagingHosts")
            }
        };
        (dir.join(&file), None)
    } else {
        let dir = match scope {
            Scope::User => home()?.join(".mozilla/native-messaging-hosts"),
            Scope::System => PathBuf::from("/usr/lib/mozilla/native-messaging-hosts"),
        };
        (dir.join(&file), None)
    };
    Ok(Plan { manifest_path, manifest, registry_key })
}

/// Writes the manifest (and on Windows the registry value).
pub fn install(plan: &Plan) -> Result<()> {
    let dir = plan.manifest_path.parent().expect("a manifest path has a folder");
    std::fs::create_dir_all(dir).map_err(|e| permission(e, dir))?;
    std::fs::write(&plan.manifest_path, &plan.manifest)
        .map_err(|e| permission(e, &plan.manifest_path))?;
    registry::set(plan)?;
    Ok(())
}

/// Removes what [`install`] wrote; removing what is not there is fine.
pub fn uninstall(plan: &Plan) -> Result<()> {
    match std::fs::remove_file(&plan.manifest_path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(permission(e, &plan.manifest_path)),
    }
    registry::remove(plan)
}

fn permission(e: std::io::Error, path: &Path) -> HelperError {
    if e.kind() == std::io::ErrorKind::PermissionDenied {
        HelperError::Config(format!(
            "no permission to write {}: run as administrator for --system",
            path.display()
        ))
    } else {
        HelperError::Io(std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))
    }
}

#[cfg(windows)]
mod registry {
    use super::*;
    use winreg::RegKey;
    use winreg::enums::{HKEY_CURRENT_USER, HKEY_LOCAL_MACHINE};

    fn split(key: &str) -> (RegKey, &str) {
        let (hive, path) = key.split_once('\\').expect("hive\\path");
        let root =
            if hive == "HKEY_LOCAL_MACHINE" { HKEY_LOCAL_MACHINE } else { HKEY_CURRENT_USER };
        (RegKey::predef(root), path)
    }

    pub(super) fn set(plan: &Plan) -> Result<()> {
        let Some(key) = &plan.registry_key else { return Ok(()) };
        let (root, path) = split(key);
        let (k, _) = root.create_subkey(path)?;
        k.set_value("", &plan.manifest_path.as_os_str())?;
        Ok(())
    }

    pub(super) fn remove(plan: &Plan) -> Result<()> {
        let Some(key) = &plan.registry_key else { return Ok(()) };
        let (root, path) = split(key);
        match root.delete_subkey(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }
}

#[cfg(not(windows))]
mod registry {
    use super::*;

    pub(super) fn set(_: &Plan) -> Result<()> {
        Ok(())
    }

    pub(super) fn remove(_: &Plan) -> Result<()> {
        Ok(())
    }
}
