"""The Windows MSI (installer/windows/), installed for real with wine's msiexec in a throwaway
64-bit prefix: what it lays down and registers, IT's settings from msiexec properties written
by the helper as a custom action, Thunderbird's policy, the helper answering Thunderbird's
native-messaging request and the Outlook bridge started by the sign-in launcher, a major
upgrade, a refused bad address, and uninstall. Plus the package's tables (custom actions
sequenced where they must run) and its signatures.

The packages come from target/packages/ (installer/windows/build, run first by the
windows-msi suite of scripts/test, which also builds the newer version the upgrade installs).
Wine 8.0 lacks one DLL every Rust program needs on Windows: processprng.c stands in for it
here, in the prefix only.
"""

import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # tests/harness.py

from harness import BIN, ROOT, Platform  # noqa: E402

PACKAGES = ROOT / "target" / "packages"
TEST_CA = PACKAGES / "test-signing" / "ca.pem"
VERSION = re.search(r'^version = "(.*)"', (ROOT / "Cargo.toml").read_text(), re.M).group(1)
NEWER = os.environ.get("SEALPOST_MSI_NEWER_VERSION", "")
PLATFORM = "https://sealpost.acme.example:8443"
KEY_ID = "3f1c" + "0" * 56 + "abcd"
NATIVE_HOSTS = r"HKLM\SOFTWARE\Mozilla\NativeMessagingHosts\net.sealpost.helper"
POLICY = r"HKLM\SOFTWARE\Policies\Mozilla\Thunderbird"
EXTENSION_POLICY = POLICY + r"\ExtensionSettings\sealpost@sealpost.net"
THIRD_PARTY = POLICY + r"\3rdparty\Extensions\sealpost@sealpost.net"
RUN = r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Run"
UNINSTALL = r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall"


def msi(version: str = VERSION) -> Path:
    path = PACKAGES / f"sealpost-client-{version}-x64.msi"
    assert path.exists(), f"{path} is missing: run installer/windows/build"
    return path


class Wine:
    """A 64-bit wine prefix of its own, made once for the module."""

    def __init__(self, prefix: Path):
        self.prefix = prefix
        self.env = dict(os.environ, WINEPREFIX=str(prefix), WINEARCH="win64", WINEDEBUG="-all",
                        # no Mono/Gecko download prompts; our ProcessPrng, not a missing builtin
                        WINEDLLOVERRIDES="mscoree,mshtml=;bcryptprimitives=n")
        self.drive_c = prefix / "drive_c"
        self.program_dir = self.drive_c / "Program Files" / "Sealpost"
        self.settings = self.drive_c / "ProgramData" / "Sealpost" / "helper.toml"

    def run(self, *args, check=True, timeout=180, **kw):
        out = subprocess.run(["wine", *args], env=self.env, capture_output=True, text=True,
                             timeout=timeout, **kw)
        if check:
            assert out.returncode == 0, f"wine {' '.join(map(str, args))}: {out.returncode}\n{out.stdout}\n{out.stderr}"
        return out

    def wait(self):
        subprocess.run(["wineserver", "-w"], env=self.env, timeout=120)

    def msiexec(self, *args) -> int:
        log = self.prefix / "msiexec.log"
        out = self.run("msiexec", *args, "/qn", "/l*v", str(log), check=False, timeout=300)
        self.wait()
        raw = log.read_bytes() if log.exists() else b""
        # Windows writes the log in UTF-16; wine's msiexec in the ANSI code page.
        self.last_log = raw.decode("utf-16" if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else "latin-1")
        return out.returncode

    def reg(self, key: str, value: str | None = None) -> str | None:
        """The value's data (the default value if `value` is None), or None if absent."""
        args = ["reg", "query", key] + (["/v", value] if value is not None else ["/ve"])
        out = self.run(*args, check=False)
        if out.returncode != 0:
            return None
        for line in out.stdout.splitlines():
            parts = re.split(r"\s{4,}", line.strip())
            if len(parts) == 3 and parts[1].startswith("REG_"):
                return parts[2]
            if len(parts) == 2 and parts[1].startswith("REG_"):
                return ""
        return None

    def key_exists(self, key: str) -> bool:
        return self.run("reg", "query", key, check=False).returncode == 0

    def sealpost_products(self) -> list[str]:
        out = self.run("reg", "query", UNINSTALL, "/s", check=False).stdout
        return re.findall(r"DisplayName\s+REG_SZ\s+(Sealpost)\s*$", out, re.M)

    def display_versions(self) -> list[str]:
        """The versions Windows lists for the Sealpost products installed."""
        out = self.run("reg", "query", UNINSTALL, "/s", check=False).stdout
        versions = []
        for entry in re.split(r"\n(?=HKEY_)", out):
            if re.search(r"DisplayName\s+REG_SZ\s+Sealpost\s*$", entry, re.M):
                versions += re.findall(r"DisplayVersion\s+REG_SZ\s+(\S+)", entry)
        return versions


@pytest.fixture(scope="module")
def wine():
    prefix = Path(tempfile.mkdtemp(prefix="sealpost-wine-"))
    w = Wine(prefix)
    # A new prefix's first command spends ~20 s making it; do it before anything is timed.
    subprocess.run(["wineboot", "-i"], env=w.env, capture_output=True, timeout=300)
    w.wait()
    system32 = w.drive_c / "windows" / "system32"
    assert system32.is_dir(), "wineboot made no prefix"
    subprocess.run(["x86_64-w64-mingw32-gcc", "-O2", "-shared", "-o",
                    str(system32 / "bcryptprimitives.dll"),
                    str(Path(__file__).with_name("processprng.c"))], check=True)
    yield w
    subprocess.run(["wineserver", "-k"], env=w.env, capture_output=True)
    shutil.rmtree(prefix, ignore_errors=True)


def test_the_helpers_unit_tests_pass_on_windows(wine):
    """The helper's unit tests, built for Windows, run under wine: all of them (the settings,
    the installer step, native-messaging framing, composing the message, its spool files)."""
    built = subprocess.run(["cargo", "test", "--release", "--locked", "--target", "x86_64-pc-windows-gnu",
                            "-p", "sealpost-helper", "--lib", "--no-run", "--message-format=json"],
                           cwd=ROOT, capture_output=True, text=True, check=True).stdout
    exes = [m["executable"] for m in map(json.loads, built.splitlines())
            if m.get("reason") == "compiler-artifact" and m.get("executable")]
    assert len(exes) == 1, exes
    out = wine.run(exes[0], timeout=600, check=False)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    passed = re.search(r"test result: ok\. (\d+) passed; 0 failed", out.stdout)
    assert passed and int(passed.group(1)) >= 20, out.stdout[-2000:]


def msi_table(package: Path, table: str) -> list[list[str]]:
    text = subprocess.run(["msiinfo", "export", str(package), table], capture_output=True,
                          text=True, check=True).stdout
    return [line.split("\t") for line in text.splitlines()[3:]]


def test_custom_actions_run_where_they_must():
    """wixl can misplace actions given only After/Before, so each has its number: setup once
    the files and registry values are in place and before the transaction ends; removal while
    the helper is still there, on uninstall only, never when an upgrade removes the old one."""
    seq = {row[0]: (row[1], int(row[2])) for row in msi_table(msi(), "InstallExecuteSequence")}
    setup_cond, setup = seq["SystemSetup"]
    remove_cond, remove = seq["SystemRemove"]
    assert seq["InstallFiles"][1] < setup and seq["WriteRegistryValues"][1] < setup < seq["InstallFinalize"][1]
    assert seq["InstallInitialize"][1] < remove < seq["RemoveFiles"][1]
    # wixl puts the older version's removal after InstallFinalize (WiX's afterInstallFinalize).
    assert seq["RemoveExistingProducts"][1] > seq["InstallFinalize"][1]
    assert setup_cond == 'NOT REMOVE~="ALL"'
    assert remove_cond == 'REMOVE~="ALL" AND NOT UPGRADINGPRODUCTCODE'
    actions = {row[0]: row for row in msi_table(msi(), "CustomAction")}
    for name in ("SystemSetup", "SystemRemove"):
        kind = int(actions[name][1])
        assert kind & 0x400, f"{name} is deferred"
        assert kind & 0x800, f"{name} runs as SYSTEM (no impersonation)"
    assert not int(actions["SystemSetup"][1]) & 0x40, "a failed setup fails the installation"
    assert "[PLATFORMURL]" in actions["SystemSetup"][3] and "[KEYID]" in actions["SystemSetup"][3]


def test_package_and_programs_are_signed():
    assert TEST_CA.exists(), "the build makes a test CA when no signing certificate is given"
    out = subprocess.run(["osslsigncode", "verify", "-CAfile", str(TEST_CA), "-in", str(msi())],
                         capture_output=True, text=True)
    assert out.returncode == 0 and "Signature verification: ok" in out.stdout, out.stdout + out.stderr
    with tempfile.TemporaryDirectory() as d:
        subprocess.run(["msiextract", "-C", d, str(msi())], check=True, capture_output=True)
        exes = sorted(Path(d).rglob("*.exe"))
        assert {e.name for e in exes} == {"sealpost-helper.exe", "sealpost-bridge.exe"}
        for exe in exes:
            out = subprocess.run(["osslsigncode", "verify", "-CAfile", str(TEST_CA), "-in", str(exe)],
                                 capture_output=True, text=True)
            assert "Signature verification: ok" in out.stdout, f"{exe.name}: {out.stdout}{out.stderr}"
        # Tampering is caught: one byte changed in the signed program.
        bad = Path(d) / "tampered.exe"
        data = bytearray(exes[0].read_bytes())
        data[len(data) // 2] ^= 0xFF
        bad.write_bytes(data)
        out = subprocess.run(["osslsigncode", "verify", "-CAfile", str(TEST_CA), "-in", str(bad)],
                             capture_output=True, text=True)
        assert out.returncode != 0


def test_registration_is_the_helpers_own():
    """The manifest the MSI installs is the one `install --system` writes, but for the path,
    which is relative to the manifest (allowed on Windows) so it needs no install-time edit."""
    plan = subprocess.run([str(BIN / "sealpost-helper"), "install", "--system", "--print"],
                          capture_output=True, text=True, check=True).stdout
    own = json.loads(plan.partition("\n")[2])
    packaged = json.loads((ROOT / "installer" / "windows" / "net.sealpost.helper.json").read_text())
    assert packaged.pop("path") == "sealpost-helper.exe"
    own.pop("path")
    assert packaged == own


def native_messaging(wine: Wine, *requests: dict) -> list[dict]:
    """Starts the installed helper as Thunderbird does (the manifest's path and the extension
    id as arguments), sends the requests as native-messaging frames, and reads the replies."""
    frames = b"".join(struct.pack("<I", len(f)) + f for f in (json.dumps(r).encode() for r in requests))
    manifest = r"C:\Program Files\Sealpost\net.sealpost.helper.json"
    out = subprocess.run(["wine", str(wine.program_dir / "sealpost-helper.exe"), manifest, "sealpost@sealpost.net"],
                         input=frames, env=wine.env, capture_output=True, timeout=120)
    replies, data = [], out.stdout
    while len(data) >= 4:
        (n,) = struct.unpack("<I", data[:4])
        replies.append(json.loads(data[4:4 + n]))
        data = data[4 + n:]
    assert len(replies) == len(requests), f"replies {replies}: {out.stderr.decode(errors='replace')}"
    return replies


def windows_path(path: Path) -> str:
    """The path as a Windows program under wine sees it (wine maps Z: to /)."""
    return "Z:" + str(path).replace("/", "\\")


@pytest.fixture(scope="module")
def platform():
    work = Path(tempfile.mkdtemp(prefix="sealpost-msi-platform-"))
    p = Platform(work)
    yield p
    p.stop()
    shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope="module")
def installed(wine, platform):
    """The MSI installed with all four of IT's properties, for the real platform above."""
    key_id = platform.api("GET", "/api/v1/keys/platform")["key_id"]
    ca = windows_path(platform.cert)
    code = wine.msiexec("/i", str(msi()), f"PLATFORMURL={platform.base}/", f"CAFILE={ca}",
                        f"KEYID={key_id.upper()}", "BRIDGEAUTOSTART=0")
    assert code == 0, wine.last_log[-3000:]
    return {"platform": platform.base, "ca": ca, "key_id": key_id}


def test_it_lays_down_and_registers_the_client(wine, installed):
    for name in ("sealpost-helper.exe", "sealpost-bridge.exe", "sealpost@sealpost.net.xpi",
                 "net.sealpost.helper.json", "helper-config.md"):
        assert (wine.program_dir / name).is_file(), name
    assert wine.reg(NATIVE_HOSTS) == r"C:\Program Files\Sealpost\net.sealpost.helper.json"
    assert wine.reg(RUN, "Sealpost Outlook bridge") == r'"C:\Program Files\Sealpost\sealpost-bridge.exe"'
    assert wine.sealpost_products() == ["Sealpost"]


def test_its_settings_are_written_as_the_helper_reads_them(wine, installed):
    text = wine.settings.read_text()
    assert text.startswith("# Sealpost helper: IT's settings"), "the template's comments come first"
    assert tomllib.loads(text) == {"platform": installed["platform"], "tls_ca_file": installed["ca"],
                                   "platform_key_id": installed["key_id"], "bridge_autostart": False}


def test_thunderbird_gets_the_extension_and_its_platform_by_policy(wine, installed):
    assert wine.reg(EXTENSION_POLICY, "installation_mode") == "force_installed"
    assert wine.reg(EXTENSION_POLICY, "install_url") == "file:///C:/Program%20Files/Sealpost/sealpost@sealpost.net.xpi"
    assert wine.reg(THIRD_PARTY, "platform") == installed["platform"]


def test_the_installed_helper_answers_thunderbird_with_its_platform(wine, installed):
    """The Windows build itself, started as Thunderbird starts it, reads IT's settings.

    Signing in and sending cannot be shown under wine 8: its crypt32 refuses the certificate
    chain engine rustls-platform-verifier builds for an extra root (`tls_ca_file`: E_INVALIDARG),
    and with the root in its store fails the revocation check of a self-signed certificate
    (CERT_E_REVOCATION_FAILURE), where Windows reports it as not checkable. The same helper
    code signs in and sends on Linux in every other suite."""
    hello, status = native_messaging(wine, {"id": 1, "type": "hello"}, {"id": 2, "type": "status"})
    assert hello["ok"] and hello["type"] == "hello" and hello["version"], hello
    assert hello["platform"] == installed["platform"] and hello["signed_in"] is False, hello
    assert status["ok"] and status["signed_in"] is False and status["platform"] == installed["platform"], status


def launch_bridge(wine: Wine) -> tuple[int, str]:
    """Runs the sign-in launcher as Windows would: its exit code and what the helper logged."""
    seen = {p: p.stat().st_size for p in helper_logs(wine)}
    out = subprocess.run(["wine", str(wine.program_dir / "sealpost-bridge.exe")], env=wine.env,
                         capture_output=True, timeout=120)
    wine.wait()
    logged = "".join(p.read_text(errors="replace")[seen.get(p, 0):] for p in helper_logs(wine))
    return out.returncode, logged


def test_the_sign_in_launcher_runs_the_bridge_only_when_it_turns_it_on(wine, installed):
    # Off, as installed: the helper is started in bridge mode, sees the switch off, and exits.
    code, logged = launch_bridge(wine)
    assert code == 0 and "the Outlook bridge is off" in logged, logged

    # IT turns it on with the same step the MSI runs: the launcher's helper now runs the
    # bridge, which waits for this user to sign in (it serves signed-in users only) instead of
    # exiting, so it is there once they do.
    wine.run(str(wine.program_dir / "sealpost-helper.exe"), "system-setup", "--bridge-autostart", "1")
    assert tomllib.loads(wine.settings.read_text())["bridge_autostart"] is True
    seen = {p: p.stat().st_size for p in helper_logs(wine)}
    launcher = subprocess.Popen(["wine", str(wine.program_dir / "sealpost-bridge.exe")], env=wine.env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        logged = ""
        for _ in range(120):
            logged = "".join(p.read_text(errors="replace")[seen.get(p, 0):] for p in helper_logs(wine))
            if "waits for a sign-in" in logged or launcher.poll() is not None:
                break
            time.sleep(0.5)
        assert "waits for a sign-in" in logged, logged
        assert launcher.poll() is None, "the launcher keeps the waiting bridge company"
        assert "the Outlook bridge is off" not in logged
    finally:
        launcher.kill()
        subprocess.run(["wineserver", "-k"], env=wine.env, capture_output=True)
    wine.run(str(wine.program_dir / "sealpost-helper.exe"), "system-setup", "--bridge-autostart", "0")


@pytest.mark.skipif(not NEWER, reason="the suite builds the newer MSI and names it in SEALPOST_MSI_NEWER_VERSION")
def test_a_newer_version_replaces_it_and_keeps_its_settings(wine, installed):
    """One Sealpost afterwards, the newer one; IT's settings kept but for what the upgrade
    gives (here BRIDGEAUTOSTART), which shows the newer version's setup ran."""
    before = tomllib.loads(wine.settings.read_text())
    assert wine.msiexec("/i", str(msi(NEWER)), "BRIDGEAUTOSTART=1") == 0, wine.last_log[-3000:]
    assert wine.sealpost_products() == ["Sealpost"]
    assert wine.display_versions() == [NEWER]
    assert tomllib.loads(wine.settings.read_text()) == {**before, "bridge_autostart": True}
    assert wine.reg(EXTENSION_POLICY, "installation_mode") == "force_installed"
    assert wine.reg(THIRD_PARTY, "platform") == installed["platform"]
    [status] = native_messaging(wine, {"id": 3, "type": "status"})
    assert status["platform"] == installed["platform"]
    installed["msi"] = msi(NEWER)


def test_uninstall_leaves_only_the_blocked_extension(wine, installed):
    """Everything goes but the policy's "blocked" entry, which makes Thunderbird remove the
    extension (left installed without its helper it would cancel every send)."""
    assert wine.msiexec("/x", str(installed.get("msi", msi()))) == 0, wine.last_log[-3000:]
    assert not wine.program_dir.exists() or not any(wine.program_dir.iterdir())
    assert not wine.settings.exists() and not wine.settings.parent.exists()
    assert wine.reg(NATIVE_HOSTS) is None
    assert wine.reg(RUN, "Sealpost Outlook bridge") is None
    assert wine.reg(EXTENSION_POLICY, "installation_mode") == "blocked"
    assert wine.reg(EXTENSION_POLICY, "install_url") is None
    assert not wine.key_exists(THIRD_PARTY)
    assert wine.sealpost_products() == []


def helper_logs(wine: Wine) -> list[Path]:
    return [p for p in wine.drive_c.rglob("helper*.log") if "Sealpost" in str(p)]


@pytest.mark.parametrize("bad, reason", [
    ("PLATFORMURL=http://sealpost.acme.example", "must start with https://"),
    ("KEYID=not-a-key-id", "64 hex digits"),
])
def test_a_bad_setting_fails_the_installation_and_changes_nothing(wine, bad, reason):
    """The helper's custom action refuses it, and the whole installation rolls back; the reason
    is in the helper's log of the account the installation runs as."""
    seen = {p: p.stat().st_size for p in helper_logs(wine)}
    # Windows' msiexec exits 1603 (fatal error during installation), wine 8's with its own code.
    assert wine.msiexec("/i", str(msi()), bad) != 0
    assert re.search(r"SystemSetup", wine.last_log), wine.last_log[-3000:]
    assert not (wine.program_dir / "sealpost-helper.exe").exists()
    assert wine.reg(NATIVE_HOSTS) is None
    assert not wine.settings.exists()
    assert wine.sealpost_products() == []
    grown = [p for p in helper_logs(wine) if p.stat().st_size > seen.get(p, 0)]
    assert any(reason in p.read_text(errors="replace") for p in grown), f"no log says {reason!r}: {grown}"


def test_a_settings_folder_it_did_not_make_is_refused(wine):
    """Any user may make `C:\\ProgramData\\Sealpost` before IT installs (or a junction by that
    name, which wine cannot make): the setup refuses what is not a plain folder, and nothing
    is installed. (Ownership, which wine does not keep, is checked the same way on Windows.)"""
    planted = wine.settings.parent
    planted.parent.mkdir(parents=True, exist_ok=True)
    planted.write_text("a user's file where IT's folder belongs\n")
    try:
        seen = {p: p.stat().st_size for p in helper_logs(wine)}
        assert wine.msiexec("/i", str(msi()), "PLATFORMURL=https://sealpost.acme.example") != 0
        assert not (wine.program_dir / "sealpost-helper.exe").exists()
        assert wine.sealpost_products() == []
        grown = [p for p in helper_logs(wine) if p.stat().st_size > seen.get(p, 0)]
        assert any("is a link or a file, so it is not IT's" in p.read_text(errors="replace") for p in grown)
    finally:
        planted.unlink()
