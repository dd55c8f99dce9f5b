//! `install` / `uninstall` into a throwaway HOME, where Thunderbird looks on Linux.

use crate::common::{Desk, helper_bin};

#[test]
fn install_registers_the_helper_for_the_sealpost_extension_only() {
    let desk = Desk::with_settings("");
    let manifest =
        desk.home.path().join(".mozilla/native-messaging-hosts/net.sealpost.helper.json");

    let out = desk.run(&["install", "--print"], "");
    assert!(out.status.success());
    let printed = String::from_utf8(out.stdout).expect("utf-8");
    assert!(printed.contains(manifest.to_str().expect("utf-8")), "{printed}");
    assert!(!manifest.exists(), "--print writes nothing");

    assert!(desk.run(&["install"], "").status.success());
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&manifest).expect("written")).expect("JSON");
    assert_eq!(m["name"], "net.sealpost.helper");
    assert_eq!(m["type"], "stdio");
    assert_eq!(m["allowed_extensions"], serde_json::json!(["sealpost@sealpost.net"]));
    let path = std::path::PathBuf::from(m["path"].as_str().expect("path"));
    assert!(path.is_absolute());
    assert_eq!(path, helper_bin().canonicalize().expect("canonical"));

    assert!(desk.run(&["install"], "").status.success(), "installing again is fine");
    assert!(desk.run(&["uninstall"], "").status.success());
    assert!(!manifest.exists());
    assert!(desk.run(&["uninstall"], "").status.success(), "uninstalling twice is fine");
}

#[test]
fn system_install_without_rights_says_what_to_do() {
    if nix_is_root() {
        // As root the system folder is writable; the --print plan is still checked.
        let out = Desk::with_settings("").run(&["install", "--system", "--print"], "");
        let printed = String::from_utf8(out.stdout).expect("utf-8");
        assert!(
            printed.contains("/usr/lib/mozilla/native-messaging-hosts/net.sealpost.helper.json")
        );
        return;
    }
    let out = Desk::with_settings("").run(&["install", "--system"], "");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("administrator"));
}

fn nix_is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false)
}
