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
import socket
import struct
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # tests/harness.py

from harness import BIN, ROOT, free_port  # noqa: E402

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
        self.last_log = log.read_text(encoding="utf-16", errors="replace") if log.exists() else ""
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
    assert seq["InstallInitialize"][1] < seq["RemoveExistingProducts"][1] < seq["InstallFinalize"][1]
    assert setup_cond == 'NOT REMOVE~="ALL"'
    assert remove_cond == 'REMOVE~="ALL" AND NOT UPGRADINGPRODUCTCODE'
    actions = {row[0]: row for row in msi_table(msi(), "CustomAction")}
    for name in ("SystemSetup", "SystemRemove"):
        kind = int(actions[name][1])
        assert kind & 0x400, f"{name} is deferred"
        assert kind & 0x800, f"{name} runs as SYSTEM (no impersonation)"
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


def native_messaging_status(wine: Wine) -> dict:
    """Starts the installed helper as Thunderbird does (the manifest's path and the extension
    id as arguments) and asks `status` in one native-messaging frame."""
    request = json.dumps({"id": 1, "type": "status"}).encode()
    manifest = r"C:\Program Files\Sealpost\net.sealpost.helper.json"
    out = subprocess.run(["wine", str(wine.program_dir / "sealpost-helper.exe"), manifest, "sealpost@sealpost.net"],
                         input=struct.pack("<I", len(request)) + request, env=wine.env,
                         capture_output=True, timeout=120)
    assert len(out.stdout) >= 4, f"no reply: {out.stderr.decode(errors='replace')}"
    (n,) = struct.unpack("<I", out.stdout[:4])
    return json.loads(out.stdout[4:4 + n])


def test_install_configure_upgrade_uninstall(wine):
    assert wine.msiexec("/i", str(msi()), f"PLATFORMURL={PLATFORM}/", r"CAFILE=C:\ProgramData\Sealpost\acme-ca.pem",
                        f"KEYID={KEY_ID.upper()}", "BRIDGEAUTOSTART=0") == 0, wine.last_log[-3000:]

    # The files, and Thunderbird's way to the helper.
    for name in ("sealpost-helper.exe", "sealpost-bridge.exe", "sealpost@sealpost.net.xpi",
                 "net.sealpost.helper.json", "helper-config.md"):
        assert (wine.program_dir / name).is_file(), name
    assert wine.reg(NATIVE_HOSTS) == r"C:\Program Files\Sealpost\net.sealpost.helper.json"
    assert wine.reg(RUN, "Sealpost Outlook bridge") == r'"C:\Program Files\Sealpost\sealpost-bridge.exe"'

    # IT's settings, checked and normalised as the helper reads them, after the template's comments.
    text = wine.settings.read_text()
    assert text.startswith("# Sealpost helper: IT's settings")
    assert tomllib.loads(text) == {"platform": PLATFORM, "tls_ca_file": r"C:\ProgramData\Sealpost\acme-ca.pem",
                                   "platform_key_id": KEY_ID, "bridge_autostart": False}

    # Thunderbird's policy: the extension force-installed from its file, IT's platform for it.
    assert wine.reg(EXTENSION_POLICY, "installation_mode") == "force_installed"
    assert wine.reg(EXTENSION_POLICY, "install_url") == "file:///C:/Program%20Files/Sealpost/sealpost@sealpost.net.xpi"
    assert wine.reg(THIRD_PARTY, "platform") == PLATFORM

    # The helper, started as Thunderbird starts it, runs and knows IT's platform.
    status = native_messaging_status(wine)
    assert status["ok"] and status["signed_in"] is False and status["platform"] == PLATFORM, status

    # The sign-in launcher: with the bridge off, the helper exits at once and nothing listens.
    launched = subprocess.run(["wine", str(wine.program_dir / "sealpost-bridge.exe")], env=wine.env,
                              capture_output=True, timeout=120)
    assert launched.returncode == 0

    # IT turns the bridge on (the same custom action, run by hand as the docs say): now the
    # launcher's helper serves on 127.0.0.1.
    port = free_port()
    with wine.settings.open("a") as f:
        f.write(f"bridge_port = {port}\n")
    wine.run(str(wine.program_dir / "sealpost-helper.exe"), "system-setup", "--bridge-autostart", "1")
    assert tomllib.loads(wine.settings.read_text())["bridge_autostart"] is True
    bridge = subprocess.Popen(["wine", str(wine.program_dir / "sealpost-bridge.exe")], env=wine.env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                    s.sendall(b"POST /v1/request HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n\r\n{}")
                    answer = s.recv(4096).decode(errors="replace")
                break
            except OSError:
                assert bridge.poll() is None, "the launcher exited with the bridge on"
                assert time.monotonic() < deadline, "the bridge never listened"
                time.sleep(0.5)
        # No origin, no pairing: refused, by the bridge itself.
        assert answer.startswith("HTTP/1.1 403"), answer
    finally:
        bridge.kill()
        subprocess.run(["wineserver", "-k"], env=wine.env, capture_output=True)

    if NEWER:
        # A major upgrade: one Sealpost afterwards, the newer one, IT's settings kept as they are.
        before = wine.settings.read_text()
        assert wine.msiexec("/i", str(msi(NEWER))) == 0, wine.last_log[-3000:]
        assert wine.sealpost_products() == ["Sealpost"]
        assert NEWER in wine.last_log
        assert wine.settings.read_text() == before
        assert wine.reg(EXTENSION_POLICY, "installation_mode") == "force_installed"
        assert wine.reg(THIRD_PARTY, "platform") == PLATFORM
        installed = msi(NEWER)
    else:
        installed = msi()

    # Uninstall: everything goes but the policy's "blocked" entry, which makes Thunderbird
    # remove the extension (left installed without its helper it would cancel every send).
    assert wine.msiexec("/x", str(installed)) == 0, wine.last_log[-3000:]
    assert not wine.program_dir.exists() or not any(wine.program_dir.iterdir())
    assert not wine.settings.exists() and not wine.settings.parent.exists()
    assert wine.reg(NATIVE_HOSTS) is None
    assert wine.reg(RUN, "Sealpost Outlook bridge") is None
    assert wine.reg(EXTENSION_POLICY, "installation_mode") == "blocked"
    assert wine.reg(EXTENSION_POLICY, "install_url") is None
    assert not wine.key_exists(THIRD_PARTY)
    assert wine.sealpost_products() == []


@pytest.mark.parametrize("bad, said", [
    ("PLATFORMURL=http://sealpost.acme.example", "PLATFORMURL must start with https://"),
    ("KEYID=not-a-key-id", None),  # refused by the helper's custom action: the whole install rolls back
])
def test_a_bad_setting_fails_the_installation_and_changes_nothing(wine, bad, said):
    code = wine.msiexec("/i", str(msi()), bad)
    assert code == 1603, f"msiexec exited {code}"
    if said:
        assert said in wine.last_log
    else:
        assert re.search(r"SystemSetup.*(returned actual error code|Return value 3)", wine.last_log), wine.last_log[-3000:]
    assert not (wine.program_dir / "sealpost-helper.exe").exists()
    assert wine.reg(NATIVE_HOSTS) is None
    assert not wine.settings.exists()
    assert wine.sealpost_products() == []
