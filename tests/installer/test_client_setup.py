"""sealpost-client's maintainer-script logic on a throwaway root: client-setup (configure at
postinst, remove at prerm) and the purge step of postrm, for the cases one real install on
this machine does not reach — no policy file at all, IT changing the policy file while the
package is installed or after it was removed, a settings file IT put there first, files
that are not valid."""

import importlib.machinery
import importlib.util
import json
import os
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLIENT = ROOT / "installer" / "debian" / "client"
# The helper the package installs, as installer/debian/build (run first by the suite) built it.
HELPER = ROOT / "target" / "release" / "sealpost-helper"
ID = "sealpost@sealpost.net"


def load_setup():
    loader = importlib.machinery.SourceFileLoader("client_setup", str(CLIENT / "client-setup"))
    spec = importlib.util.spec_from_loader("client_setup", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


class Root:
    """client-setup and postrm with every path they touch moved under `base`."""

    def __init__(self, base: Path, monkeypatch):
        self.base = base
        self.setup = load_setup()
        paths = {
            "SETTINGS": "/etc/sealpost/helper.toml",
            "POLICIES": "/etc/thunderbird/policies/policies.json",
            "STATE": "/var/lib/sealpost-client",
        }
        for name, path in paths.items():
            monkeypatch.setattr(self.setup, name, str(self.at(path)))
        state = self.setup.STATE
        for name in ("BACKUP", "NO_POLICIES", "MADE_DIRS", "OWN_SETTINGS", "REMOVED", "RESTORE", "DELETE"):
            old = getattr(self.setup, name)
            monkeypatch.setattr(self.setup, name, old.replace("/var/lib/sealpost-client", state))
        assert HELPER.exists(), f"{HELPER} is missing: run installer/debian/build"
        monkeypatch.setattr(self.setup, "HELPER", str(HELPER))
        self.at("/etc").mkdir(parents=True)
        for var in self.setup.PRESEED:
            monkeypatch.delenv(var, raising=False)

    def at(self, path: str) -> Path:
        return self.base / path.lstrip("/")

    @property
    def policies(self) -> Path:
        return self.at("/etc/thunderbird/policies/policies.json")

    @property
    def settings(self) -> Path:
        return self.at("/etc/sealpost/helper.toml")

    def configure(self):
        self.setup.configure_policy(self.setup.configure_settings())

    def remove(self):
        self.setup.remove_policy()

    def purge(self):
        """The package's real postrm, its absolute paths pointed under `base`."""
        script = (CLIENT / "postrm").read_text()
        for path in ("/var/lib/sealpost-client", "/etc/thunderbird/policies/policies.json", "/etc/sealpost"):
            script = script.replace(path, str(self.at(path)))
        subprocess.run(["sh", "-c", script, "postrm", "purge"], check=True)

    def policy(self) -> dict:
        return json.loads(self.policies.read_text())


@pytest.fixture
def root(tmp_path, monkeypatch):
    return Root(tmp_path, monkeypatch)


def test_with_no_policy_file_everything_made_is_removed_again(root, monkeypatch):
    monkeypatch.setenv("SEALPOST_PLATFORM_URL", "https://sealpost.acme.example")
    root.configure()
    doc = root.policy()["policies"]
    assert doc["ExtensionSettings"][ID] == {
        "installation_mode": "force_installed",
        "install_url": f"file:///usr/share/sealpost/{ID}.xpi",
    }
    assert doc["3rdparty"]["Extensions"][ID] == {"platform": "https://sealpost.acme.example"}
    assert 'platform = "https://sealpost.acme.example"' in root.settings.read_text()

    root.remove()
    assert root.policy() == {"policies": {"ExtensionSettings": {ID: {"installation_mode": "blocked"}}}}
    root.purge()
    assert not root.at("/etc/thunderbird").exists(), "the folders made for the policy are gone"
    assert not root.at("/etc/sealpost").exists()
    assert not root.at("/var/lib/sealpost-client").exists()
    assert root.at("/etc").is_dir()


def test_configure_again_changes_nothing_and_keeps_the_first_original(root):
    root.policies.parent.mkdir(parents=True)
    original = b'{"policies": {"DisableAppUpdate": true}}'
    root.policies.write_bytes(original)
    root.configure()
    first = root.policies.read_bytes()
    root.configure()
    assert root.policies.read_bytes() == first
    assert Path(root.setup.BACKUP).read_bytes() == original
    assert "3rdparty" not in root.policy()["policies"], "no platform set: nothing for the extension"


def test_policies_it_adds_while_installed_survive_purge(root):
    root.policies.parent.mkdir(parents=True)
    root.policies.write_text('{"policies": {"DisableAppUpdate": true}}')
    root.configure()
    doc = root.policy()
    doc["policies"]["OfferToSaveLogins"] = False
    root.policies.write_text(json.dumps(doc))
    root.remove()
    root.purge()
    assert root.policy() == {"policies": {"DisableAppUpdate": True, "OfferToSaveLogins": False}}


def test_a_policy_file_it_changes_after_removal_is_left_as_it_is(root):
    root.policies.parent.mkdir(parents=True)
    root.policies.write_text('{"policies": {}}')
    root.configure()
    root.remove()
    changed = json.dumps({"policies": {"DisableAppUpdate": True, "ExtensionSettings": {ID: {"installation_mode": "blocked"}}}})
    root.policies.write_text(changed)
    root.purge()
    assert root.policies.read_text() == changed


def test_a_settings_file_it_put_there_first_is_its_own(root, monkeypatch):
    root.settings.parent.mkdir(parents=True)
    mine = '# ACME\nplatform = "https://old.acme.example"\ntls_ca_file = "/etc/sealpost/acme.pem"\n'
    root.settings.write_text(mine)
    monkeypatch.setenv("SEALPOST_PLATFORM_URL", "https://new.acme.example")
    monkeypatch.setenv("SEALPOST_BRIDGE_AUTOSTART", "yes")
    root.configure()
    assert root.settings.read_text() == (
        '# ACME\nplatform = "https://new.acme.example"\ntls_ca_file = "/etc/sealpost/acme.pem"\n'
        "bridge_autostart = true\n")
    root.remove()
    root.purge()
    assert root.settings.exists(), "purge leaves a settings file IT made"


def test_preseeded_keys_replace_the_templates_examples(root, monkeypatch):
    monkeypatch.setenv("SEALPOST_TLS_CA_FILE", "/etc/sealpost/ca \"x\".pem")
    monkeypatch.setenv("SEALPOST_PLATFORM_KEY_ID", "ab" * 32)
    monkeypatch.setenv("SEALPOST_BRIDGE_AUTOSTART", "off")
    root.configure()
    text = root.settings.read_text()
    assert tomllib.loads(text) == {"tls_ca_file": '/etc/sealpost/ca "x".pem',
                                   "platform_key_id": "ab" * 32, "bridge_autostart": False}
    assert "\nbridge_autostart = false\n" in text, "in place of the template's example"
    assert "# tls_ca_file = " not in text and "# platform_key_id = " not in text
    assert "# platform = " in text, "what was not given stays an example"
    assert oct(root.settings.stat().st_mode & 0o777) == "0o644"


@pytest.mark.parametrize("what", ["policies", "boolean", "address"])
def test_what_cannot_be_read_stops_the_install_and_says_where(root, monkeypatch, capsys, what):
    if what == "policies":
        root.policies.parent.mkdir(parents=True)
        root.policies.write_text('{"policies": {')
    elif what == "boolean":
        monkeypatch.setenv("SEALPOST_BRIDGE_AUTOSTART", "sometimes")
    else:
        monkeypatch.setenv("SEALPOST_PLATFORM_URL", "http://sealpost.acme.example")
    with pytest.raises(SystemExit):
        root.configure()
    said = capsys.readouterr().err
    assert {"policies": "policies.json is not valid JSON", "boolean": 'not "sometimes"',
            "address": "must start with https://"}[what] in said, said
    if what == "address":
        assert not root.settings.exists(), "nothing written"
        assert not Path(root.setup.OWN_SETTINGS).exists(), "a file IT writes next is not taken for the package's"
    if what == "policies":
        assert root.policies.read_text() == '{"policies": {', "left as it was"


def test_writes_keep_the_files_mode(root):
    root.policies.parent.mkdir(parents=True)
    root.policies.write_text('{"policies": {}}')
    os.chmod(root.policies, 0o600)
    root.configure()
    assert oct(root.policies.stat().st_mode & 0o777) == "0o600"
