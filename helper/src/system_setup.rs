//! What an installer does that its package format cannot declare (`sealpost-helper
//! system-setup`, run as administrator; the Windows MSI runs it as a deferred custom action):
//!
//! - **IT's settings** given at install time (`--platform`, `--ca-file`, `--key-id`,
//!   `--bridge-autostart`; the MSI's `PLATFORMURL`, `CAFILE`, `KEYID`, `BRIDGEAUTOSTART`) are
//!   written into the system settings file ([`config::system_config_file`]), the one place
//!   they live. The file is made from a commented template on the first run unless IT put one
//!   there first; after that only the keys given change, through `toml_edit`, so IT's own lines
//!   and comments stay. Every value is checked as the helper will read it, before anything is
//!   written: a bad address fails the installation with the reason, and nothing is changed.
//! - **Thunderbird's policy** (Windows): the extension force-installed from the `.xpi` beside
//!   the helper, and IT's platform address handed to it (`3rdparty`, read by the extension
//!   through `storage.managed`), as registry keys under
//!   `HKLM\SOFTWARE\Policies\Mozilla\Thunderbird`. Sub-keys, not one JSON value, so that
//!   ExtensionSettings IT sets for other extensions the same way stay beside ours.
//! - **Removal** (`--remove`): Thunderbird keeps an extension that merely leaves its policy,
//!   and without its helper that extension would cancel every send; so the policy entry turns
//!   to `blocked` (Thunderbird then uninstalls the extension from each profile at its next
//!   start) and stays, the one thing left behind. The settings file goes if the installer made
//!   it; a file IT put there itself stays.
//!
//! On Windows the settings folder under `%ProgramData%` inherits an ACL that lets every user
//! create files in it, and any user may make the folder first (or a junction by its name).
//! Before writing, a folder that is a link or a user's is refused, its ACL is replaced by one
//! that lets only administrators and SYSTEM change anything, and anything inside that is owned
//! by anyone else (but the account running the setup) is refused: a user could otherwise plant
//! "IT's" settings (another platform address, another CA) for every user of the computer.

use std::path::{Path, PathBuf};

use crate::config::{self, check_settings_text, normalise_key_id, normalise_platform};
use crate::error::{HelperError, Result};

/// The template a new settings file starts from, with each key's commented example; its second
/// line marks it as the installer's. The installer of each system ships its own wording.
#[cfg(windows)]
const TEMPLATE: &str = include_str!("../../installer/windows/helper.toml");
#[cfg(not(windows))]
const TEMPLATE: &str = include_str!("../../installer/debian/client/helper.toml");
/// The line that marks a settings file the installer made (and may remove again).
const MADE_BY_INSTALLER: &str = "# Made by the Sealpost installer";

/// The Thunderbird extension the policy installs.
pub const EXTENSION_ID: &str = "sealpost@sealpost.net";

/// IT's settings as an installer passes them: an absent or empty value leaves the key as it is.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ItSettings {
    /// `platform`: the platform's address.
    pub platform: Option<String>,
    /// `tls_ca_file`: the CA to trust for it.
    pub tls_ca_file: Option<String>,
    /// `platform_key_id`: the key sign-in must find.
    pub platform_key_id: Option<String>,
    /// `bridge_autostart`: the Outlook bridge at every user's sign-in.
    pub bridge_autostart: Option<bool>,
}

impl ItSettings {
    /// From the installer's strings: empty means not given (an MSI property nobody set), and
    /// every value is checked as the helper will read it.
    pub fn parse(
        platform: Option<&str>,
        tls_ca_file: Option<&str>,
        platform_key_id: Option<&str>,
        bridge_autostart: Option<&str>,
    ) -> Result<ItSettings> {
        let given =
            |v: Option<&str>| v.map(str::trim).filter(|v| !v.is_empty()).map(str::to_string);
        let bad = |e: String| HelperError::Config(e);
        Ok(ItSettings {
            platform: given(platform).map(|p| normalise_platform(&p)).transpose().map_err(bad)?,
            tls_ca_file: given(tls_ca_file).map(check_ca_file).transpose()?,
            platform_key_id: given(platform_key_id)
                .map(|k| normalise_key_id(&k))
                .transpose()
                .map_err(bad)?,
            bridge_autostart: given(bridge_autostart).map(|b| parse_switch(&b)).transpose()?,
        })
    }
}

fn check_ca_file(path: String) -> Result<String> {
    // The file itself is IT's to deploy, possibly after this package; its place must be fixed.
    if !Path::new(&path).is_absolute() {
        return Err(HelperError::Config(format!("the CA file {path:?} must be an absolute path")));
    }
    Ok(path)
}

/// An installer's on/off switch: `1`/`0` (MSI's custom), `true`/`false`, `yes`/`no`.
fn parse_switch(value: &str) -> Result<bool> {
    match value.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        other => Err(HelperError::Config(format!(
            "the bridge switch must be 1 or 0 (true or false), not {other:?}"
        ))),
    }
}

/// What [`configure`] did to the settings file.
#[derive(Debug, PartialEq, Eq)]
pub enum SettingsFile {
    /// Made from the template.
    Created,
    /// Already there; the given keys were written into it.
    Updated,
}

/// Writes IT's settings into `file` (the system settings file): makes it from the template if
/// it is missing, sets each given key and keeps everything else. Checks the whole result as
/// the helper will read it before replacing the file, atomically.
pub fn write_settings(file: &Path, given: &ItSettings) -> Result<SettingsFile> {
    let existing = match std::fs::read_to_string(file) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(HelperError::Config(format!("{}: {e}", file.display()))),
    };
    let state = if existing.is_some() { SettingsFile::Updated } else { SettingsFile::Created };
    let mut values: Vec<(&str, toml_edit::Value)> = Vec::new();
    if let Some(v) = &given.platform {
        values.push(("platform", v.as_str().into()));
    }
    if let Some(v) = &given.tls_ca_file {
        values.push(("tls_ca_file", v.as_str().into()));
    }
    if let Some(v) = &given.platform_key_id {
        values.push(("platform_key_id", v.as_str().into()));
    }
    if let Some(v) = given.bridge_autostart {
        values.push(("bridge_autostart", v.into()));
    }
    // A new file: the template, each given key in place of its commented example.
    let text = existing.unwrap_or_else(|| fill_template(TEMPLATE, &mut values));
    let mut doc: toml_edit::DocumentMut =
        text.parse().map_err(|e| HelperError::Config(format!("{}: {e}", file.display())))?;
    for (key, value) in values {
        set_key(&mut doc, key, value);
    }
    let text = doc.to_string();
    check_settings_text(&text, file)?;
    let folder = file.parent().ok_or_else(|| HelperError::Config("no settings folder".into()))?;
    std::fs::create_dir_all(folder)?;
    let mut tmp = tempfile::NamedTempFile::new_in(folder)?;
    std::io::Write::write_all(&mut tmp, text.as_bytes())?;
    #[cfg(unix)]
    {
        // Every user's helper reads IT's file: a new one is 0644, an existing one keeps its mode.
        use std::os::unix::fs::PermissionsExt;
        let mode =
            std::fs::metadata(file).map(|m| m.permissions().mode() & 0o7777).unwrap_or(0o644);
        tmp.as_file().set_permissions(std::fs::Permissions::from_mode(mode))?;
    }
    tmp.as_file().sync_all()?;
    tmp.persist(file).map_err(|e| HelperError::Io(e.error))?;
    Ok(state)
}

/// The template with each key in `values` written in place of its commented example
/// (`# key = …`), and taken out of `values`; keys without an example stay there.
fn fill_template(template: &str, values: &mut Vec<(&str, toml_edit::Value)>) -> String {
    let mut out = String::with_capacity(template.len());
    for line in template.split_inclusive('\n') {
        let example = line.strip_prefix('#').map(str::trim_start).and_then(|rest| {
            values.iter().position(|(key, _)| {
                rest.strip_prefix(key).is_some_and(|r| r.trim_start().starts_with('='))
            })
        });
        match example {
            Some(i) => {
                let (key, value) = values.remove(i);
                out.push_str(&format!("{key} = {}\n", value.to_string().trim()));
            }
            None => out.push_str(line),
        }
    }
    out
}

/// Sets a top-level key, keeping the comment and spacing around a value it replaces.
fn set_key(doc: &mut toml_edit::DocumentMut, key: &str, value: toml_edit::Value) {
    match doc.get_mut(key).and_then(toml_edit::Item::as_value_mut) {
        Some(old) => {
            let decor = old.decor().clone();
            *old = value;
            *old.decor_mut() = decor;
        }
        None => doc[key] = toml_edit::Item::Value(value),
    }
}

/// Removes the settings file if the installer made it (its second line is the marker).
pub fn remove_settings(file: &Path) -> Result<bool> {
    match std::fs::read_to_string(file) {
        Ok(text) if text.lines().nth(1).is_some_and(|l| l.starts_with(MADE_BY_INSTALLER)) => {
            std::fs::remove_file(file)?;
            Ok(true)
        }
        Ok(_) => Ok(false),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// The `file://` URL Thunderbird installs the extension from: the `.xpi` beside `helper`.
pub fn extension_url(helper: &Path) -> Result<String> {
    let xpi = helper
        .parent()
        .ok_or_else(|| HelperError::Config("the helper has no folder".into()))?
        .join(format!("{EXTENSION_ID}.xpi"));
    reqwest::Url::from_file_path(&xpi)
        .map(String::from)
        .map_err(|()| HelperError::Config(format!("{} is not an absolute path", xpi.display())))
}

/// Installs or refreshes everything: the settings folder made safe, IT's settings written,
/// and (on Windows) Thunderbird's policy from the file as it now stands.
pub fn configure(given: &ItSettings, helper: &Path) -> Result<(PathBuf, SettingsFile)> {
    let file = config::system_config_file();
    if let Some(folder) = file.parent() {
        platform::secure_folder(folder)?;
    }
    let state = write_settings(&file, given)?;
    let settings = read_platform(&file)?;
    platform::set_thunderbird_policy(&extension_url(helper)?, settings.as_deref())?;
    Ok((file, state))
}

/// Undoes [`configure`] on uninstall (see the module doc for what stays and why), unless
/// another installation of Sealpost than `product` (the MSI's product code) is registered: then
/// this is an older version being removed by an upgrade, whose settings and policy are the
/// newer one's now. Windows Installer says so itself (`UPGRADINGPRODUCTCODE`, the MSI's
/// condition), but not every implementation does (wine's does not), so it is checked here too.
/// Returns whether anything was removed.
pub fn remove(product: Option<&str>) -> Result<bool> {
    if let Some(product) = product
        && platform::other_installation(product)?
    {
        return Ok(false);
    }
    platform::block_thunderbird_extension()?;
    let file = config::system_config_file();
    if remove_settings(&file)?
        && let Some(folder) = file.parent()
    {
        // The folder goes too when nothing else is in it.
        let _ = std::fs::remove_dir(folder);
    }
    Ok(true)
}

fn read_platform(file: &Path) -> Result<Option<String>> {
    let text = std::fs::read_to_string(file)?;
    let doc: toml::Table = toml::from_str(&text)
        .map_err(|e| HelperError::Config(format!("{}: {e}", file.display())))?;
    Ok(doc.get("platform").and_then(|v| v.as_str()).map(str::to_string))
}

#[cfg(windows)]
mod platform {
    //! The registry and ACL steps, through `winreg` and the Win32 security API.
    use super::*;
    use winreg::RegKey;
    use winreg::enums::HKEY_LOCAL_MACHINE;

    const POLICIES: &str = r"SOFTWARE\Policies\Mozilla\Thunderbird";

    fn extension_key() -> String {
        format!(r"{POLICIES}\ExtensionSettings\{EXTENSION_ID}")
    }

    fn third_party_key() -> String {
        format!(r"{POLICIES}\3rdparty\Extensions\{EXTENSION_ID}")
    }

    pub(super) fn set_thunderbird_policy(xpi_url: &str, platform: Option<&str>) -> Result<()> {
        let hklm = RegKey::predef(HKEY_LOCAL_MACHINE);
        let (ext, _) = hklm.create_subkey(extension_key())?;
        ext.set_value("installation_mode", &"force_installed")?;
        ext.set_value("install_url", &xpi_url)?;
        let (third, _) = hklm.create_subkey(third_party_key())?;
        match platform {
            Some(p) => third.set_value("platform", &p)?,
            None => match third.delete_value("platform") {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
                _ => {}
            },
        }
        Ok(())
    }

    /// Whether Windows lists an installation of Sealpost other than `product`.
    pub(super) fn other_installation(product: &str) -> Result<bool> {
        let uninstall = RegKey::predef(HKEY_LOCAL_MACHINE)
            .open_subkey(r"SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall")?;
        for code in uninstall.enum_keys() {
            let code = code?;
            if code.eq_ignore_ascii_case(product) {
                continue;
            }
            let Ok(entry) = uninstall.open_subkey(&code) else { continue };
            let name: String = entry.get_value("DisplayName").unwrap_or_default();
            let publisher: String = entry.get_value("Publisher").unwrap_or_default();
            if name == "Sealpost" && publisher == "Sealpost" {
                return Ok(true);
            }
        }
        Ok(false)
    }

    pub(super) fn block_thunderbird_extension() -> Result<()> {
        let hklm = RegKey::predef(HKEY_LOCAL_MACHINE);
        let (ext, _) = hklm.create_subkey(extension_key())?;
        ext.set_value("installation_mode", &"blocked")?;
        let _ = ext.delete_value("install_url");
        match hklm.delete_subkey_all(third_party_key()) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }

    /// SYSTEM and Administrators may do anything, users may read; nothing inherited from
    /// `%ProgramData%` (which lets users create files). Owner: Administrators.
    const FOLDER_SDDL: &str = "O:BAD:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1200a9;;;BU)";
    /// FILE_ATTRIBUTE_REPARSE_POINT: a junction or symbolic link.
    const REPARSE_POINT: u32 = 0x400;

    /// Makes the settings folder IT's alone before anything is written into it. Any user may
    /// create folders under `%ProgramData%`, so a folder found there may be a user's, or a
    /// junction to somewhere else that SYSTEM would then write into and re-secure: both are
    /// refused, as is anything inside that a user owns (a planted `helper.toml`, or a CA file
    /// IT would later copy over and the user could still change). The ACL is set first, so
    /// nothing can be added while the contents are checked.
    pub(super) fn secure_folder(folder: &Path) -> Result<()> {
        let refuse = |what: String| {
            HelperError::Config(format!(
                "{what}, so it is not IT's: remove {} and install again",
                folder.display()
            ))
        };
        match std::fs::symlink_metadata(folder) {
            Ok(meta) => {
                use std::os::windows::fs::MetadataExt;
                if meta.file_attributes() & REPARSE_POINT != 0 || !meta.is_dir() {
                    return Err(refuse(format!("{} is a link or a file", folder.display())));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => std::fs::create_dir(folder)?,
            Err(e) => return Err(e.into()),
        }
        // Trusted owners: SYSTEM, Administrators, or whoever this setup runs as (what a file
        // it makes is owned by: SYSTEM's and elevated administrators' files belong to
        // Administrators; under wine, to its one user).
        let probe = tempfile::NamedTempFile::new_in(folder)?;
        let ours = acl::owner(probe.path())?;
        drop(probe);
        let trusted = |path: &Path| -> Result<()> {
            let owner = acl::owner(path)?;
            match owner.as_deref() {
                Some(o) if acl::TRUSTED_OWNERS.contains(&o) || Some(o) == ours.as_deref() => Ok(()),
                other => Err(refuse(format!(
                    "{} is owned by {}, not by Administrators or SYSTEM",
                    path.display(),
                    other.unwrap_or("nobody")
                ))),
            }
        };
        trusted(folder)?;
        acl::apply(folder, FOLDER_SDDL)?;
        for entry in std::fs::read_dir(folder)? {
            trusted(&entry?.path())?;
        }
        Ok(())
    }

    mod acl {
        //! Through `windows-permissions`' safe wrappers.
        use std::path::Path;

        use windows_permissions::constants::{SeObjectType, SecurityInformation};
        use windows_permissions::{LocalBox, SecurityDescriptor, wrappers};

        use crate::error::{HelperError, Result};

        /// SYSTEM and the Administrators group.
        pub(super) const TRUSTED_OWNERS: [&str; 2] = ["S-1-5-18", "S-1-5-32-544"];

        fn failed(what: &str, path: &Path, e: std::io::Error) -> HelperError {
            HelperError::Config(format!("{what} {}: {e}", path.display()))
        }

        /// The owner's SID (`S-1-…`), if the file has one.
        pub(super) fn owner(path: &Path) -> Result<Option<String>> {
            let sd = wrappers::GetNamedSecurityInfo(
                path.as_os_str(),
                SeObjectType::SE_FILE_OBJECT,
                SecurityInformation::Owner,
            )
            .map_err(|e| failed("reading the owner of", path, e))?;
            Ok(sd.owner().map(|o| o.to_string()))
        }

        pub(super) fn apply(path: &Path, sddl: &str) -> Result<()> {
            let sd: LocalBox<SecurityDescriptor> =
                sddl.parse().map_err(|e| HelperError::Config(format!("the folder's SDDL: {e}")))?;
            wrappers::SetNamedSecurityInfo(
                path.as_os_str(),
                SeObjectType::SE_FILE_OBJECT,
                SecurityInformation::Dacl
                    | SecurityInformation::ProtectedDacl
                    | SecurityInformation::Owner,
                sd.owner(),
                None,
                sd.dacl(),
                None,
            )
            .map_err(|e| failed("securing", path, e))
        }
    }
}

#[cfg(not(windows))]
mod platform {
    //! Elsewhere the package manager owns the folder and Thunderbird's policy file
    //! (installer/debian/client/client-setup on Debian), so there is nothing more to do.
    use super::*;

    pub(super) fn secure_folder(folder: &Path) -> Result<()> {
        std::fs::create_dir_all(folder)?;
        Ok(())
    }

    pub(super) fn set_thunderbird_policy(_xpi_url: &str, _platform: Option<&str>) -> Result<()> {
        Ok(())
    }

    pub(super) fn block_thunderbird_extension() -> Result<()> {
        Ok(())
    }

    pub(super) fn other_installation(_product: &str) -> Result<bool> {
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "3F1C000000000000000000000000000000000000000000000000000000000abc";

    #[test]
    fn empty_installer_properties_mean_not_given() {
        let s = ItSettings::parse(Some(""), Some(" "), None, Some("")).expect("parse");
        assert_eq!(s, ItSettings::default());
    }

    #[test]
    fn values_are_checked_as_the_helper_reads_them() {
        let ca = std::env::temp_dir().join("ca.pem"); // absolute on every system
        let s = ItSettings::parse(
            Some("https://sealpost.acme.example/"),
            ca.to_str(),
            Some(KEY),
            Some("1"),
        )
        .expect("parse");
        assert_eq!(s.platform.as_deref(), Some("https://sealpost.acme.example"));
        assert_eq!(s.platform_key_id.as_deref(), Some(KEY.to_ascii_lowercase().as_str()));
        assert_eq!(s.bridge_autostart, Some(true));
        for (p, c, k, b, why) in [
            ("http://sealpost.acme.example", "", "", "", "https"),
            ("", "ca.pem", "", "", "absolute"),
            ("", "", "abc", "", "64 hex"),
            ("", "", "", "maybe", "1 or 0"),
        ] {
            let e = ItSettings::parse(Some(p), Some(c), Some(k), Some(b)).expect_err(why);
            assert!(e.to_string().contains(why), "{e}");
        }
    }

    #[test]
    fn a_new_file_is_the_template_with_the_given_keys_and_reads_back() {
        let dir = tempfile::tempdir().expect("tmp");
        let file = dir.path().join("sub").join("helper.toml");
        let given = ItSettings::parse(Some("https://a.example"), None, Some(KEY), Some("0"))
            .expect("parse");
        assert_eq!(write_settings(&file, &given).expect("write"), SettingsFile::Created);
        let text = std::fs::read_to_string(&file).expect("read");
        assert!(text.starts_with(TEMPLATE.lines().next().expect("a first line")));
        assert!(text.contains("\nplatform = \"https://a.example\"\n"), "in place of its example");
        assert!(!text.contains("# platform = "), "{text}");
        assert!(text.contains("# tls_ca_file = "), "what was not given stays an example");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&file).expect("meta").permissions().mode() & 0o777;
            assert_eq!(mode, 0o644, "every user's helper reads it");
        }
        let table: toml::Table = toml::from_str(&text).expect("toml");
        assert_eq!(table["platform"].as_str(), Some("https://a.example"));
        assert_eq!(table["bridge_autostart"].as_bool(), Some(false));
        assert!(table.get("tls_ca_file").is_none());
        assert!(remove_settings(&file).expect("remove"), "the installer's own file goes");
        assert!(!file.exists());
    }

    #[test]
    fn its_own_lines_survive_and_only_given_keys_change() {
        let dir = tempfile::tempdir().expect("tmp");
        let file = dir.path().join("helper.toml");
        let its = "# ACME's settings\nplatform = \"https://old.example\" # pinned by ops\nlog_level = \"debug\"\n";
        std::fs::write(&file, its).expect("write");
        let given = ItSettings::parse(Some("https://new.example"), None, None, None).expect("p");
        assert_eq!(write_settings(&file, &given).expect("write"), SettingsFile::Updated);
        let text = std::fs::read_to_string(&file).expect("read");
        assert_eq!(
            text,
            "# ACME's settings\nplatform = \"https://new.example\" # pinned by ops\nlog_level = \"debug\"\n"
        );
        assert!(!remove_settings(&file).expect("remove"), "IT's own file stays");
        assert!(file.exists());
    }

    #[test]
    fn a_file_the_helper_could_not_read_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().expect("tmp");
        let file = dir.path().join("helper.toml");
        std::fs::write(&file, "platfrom = \"https://typo.example\"\n").expect("write");
        let given = ItSettings::parse(Some("https://a.example"), None, None, None).expect("p");
        let e = write_settings(&file, &given).expect_err("unknown key");
        assert!(e.to_string().contains("platfrom"), "{e}");
        assert_eq!(
            std::fs::read_to_string(&file).expect("read"),
            "platfrom = \"https://typo.example\"\n"
        );
    }

    #[test]
    fn the_extension_url_is_a_file_url_beside_the_helper() {
        let helper = std::env::temp_dir().join("Sealpost dir").join("sealpost-helper");
        let url = extension_url(&helper).expect("url");
        assert!(url.starts_with("file:///"), "{url}");
        assert!(url.ends_with("/Sealpost%20dir/sealpost@sealpost.net.xpi"), "{url}");
    }
}
