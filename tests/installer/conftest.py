"""The Debian packages on this machine: what installing them with apt puts in place, and the
platform package's server started the way its systemd unit says (systemd need not run as
PID 1 here). The packages come from target/packages/ (installer/debian/build, run first by
the debian-packages suite of scripts/test)."""

import configparser
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/harness.py

from harness import DOMAIN, TENANT, ALICE, PASSWORD, ROOT, Sink, free_port, wait_until  # noqa: E402

DEBS = ROOT / "target" / "packages"
POLICIES = Path("/etc/thunderbird/policies/policies.json")
UNIT = Path("/usr/lib/systemd/system/sealpost-platform.service")
PLATFORM_CONFIG = Path("/etc/sealpost/platform.toml")


def deb(name: str) -> Path:
    found = sorted(DEBS.glob(f"{name}_*.deb"))
    assert found, f"no {name} package in {DEBS}: run installer/debian/build"
    return found[-1]


def apt(*args: str, env: dict | None = None) -> str:
    out = subprocess.run(
        ["apt-get", "-y", "-q", "-o", "Dpkg::Use-Pty=0", *args], capture_output=True, text=True,
        env=dict(os.environ, DEBIAN_FRONTEND="noninteractive", **(env or {})))
    assert out.returncode == 0, f"apt-get {' '.join(args)}:\n{out.stdout}\n{out.stderr}"
    return out.stdout + out.stderr


def installed(package: str) -> bool:
    out = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True)
    return "ok installed" in out.stdout or "config-files" in out.stdout


def set_toml_key(path: Path, key: str, value):
    """Sets `key` in a TOML file as an administrator would: its line, else its commented
    example, else a new line."""
    text = path.read_text()
    line = f"{key} = {json.dumps(value)}"
    for pattern in (rf"^{key}\s*=.*$", rf"^#\s*{key}\s*=.*$"):
        new, n = re.subn(pattern, lambda _: line, text, count=1, flags=re.M)
        if n:
            path.write_text(new)
            return
    path.write_text(text.rstrip("\n") + "\n" + line + "\n")


class Unit:
    """What sealpost-platform.service says about how to run the server."""

    def __init__(self, path: Path = UNIT):
        parser = configparser.ConfigParser(strict=False, interpolation=None)
        parser.optionxform = str
        parser.read_string(path.read_text())
        self.service = parser["Service"]
        self.argv = shlex.split(self.service["ExecStart"])
        self.user = self.service["User"]
        self.group = self.service["Group"]
        self.cwd = self.service["WorkingDirectory"]
        self.umask = int(self.service["UMask"], 8)

    def command(self, argv: list[str]) -> list[str]:
        """`argv` as the unit's user and group, without new privileges (NoNewPrivileges)."""
        return ["setpriv", f"--reuid={self.user}", f"--regid={self.group}", "--init-groups",
                "--no-new-privs", "--", *argv]

    def run(self, argv: list[str], **kwargs):
        umask = self.umask
        return subprocess.Popen(self.command(argv), cwd=self.cwd,
                                preexec_fn=lambda: os.umask(umask), **kwargs)


class InstalledPlatform:
    """The installed sealpost-platform on a free port, mailing through `sink`, with tenant
    acme and user alice: its settings file changed as an administrator would, the server run
    as the unit runs it."""

    def __init__(self, workdir: Path, sink: Sink):
        self.unit = Unit()
        self.port = free_port()
        self.base = f"https://localhost:{self.port}"
        self.workdir = workdir
        for key, value in [("listen", f"127.0.0.1:{self.port}"), ("public_url", self.base),
                           ("smtp_host", "127.0.0.1"), ("smtp_port", sink.port),
                           ("smtp_security", "none")]:
            set_toml_key(PLATFORM_CONFIG, key, value)
        self.log = open(workdir / "platform.log", "ab")
        self.proc = self.unit.run(self.unit.argv, stdout=subprocess.PIPE, stderr=self.log,
                                  env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"})
        self.first_start = b""
        for line in self.proc.stdout:
            self.first_start += line
            if b"listening on" in line:
                break
        else:
            raise AssertionError("the installed platform did not start; see platform.log")
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()
        self.admin("create-tenant", "--name", TENANT, "--domain", DOMAIN)
        self.admin("create-user", "--tenant", TENANT, "--email", ALICE, stdin=PASSWORD)

    @property
    def data_dir(self) -> Path:
        return Path(self.unit.cwd)

    @property
    def cert(self) -> Path:
        return self.data_dir / "tls" / "cert.pem"

    def admin(self, *args: str, stdin: str = "") -> str:
        argv = [*self.unit.argv[:-1], "admin", *args]  # ExecStart's binary and --config
        proc = self.unit.run(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env={"PATH": "/usr/bin:/bin", "SEALPOST_LOG": "warn"})
        out, err = proc.communicate(stdin.encode(), timeout=120)
        assert proc.returncode == 0, f"admin {args}: {err.decode()}"
        return out.decode()

    def get(self, path: str) -> tuple[int, dict]:
        import ssl
        import urllib.error
        import urllib.request
        context = ssl.create_default_context(cafile=str(self.cert))
        try:
            with urllib.request.urlopen(self.base + path, context=context, timeout=10) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")

    def export(self, message_id: str, into: Path) -> Path:
        """The message decrypted from what the platform stores (admin export-message, as
        the platform's user into a folder of its own)."""
        folder = Path(tempfile.mkdtemp(dir=into))
        shutil.chown(folder, self.unit.user, self.unit.group)
        out = folder / "export"
        self.admin("export-message", "--id", message_id, "--out", str(out))
        return out

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(15)


class Machine:
    """This computer while the packages are installed: what it held before (put back by
    `restore`), the SMTP sink, the installed platform."""

    # IT's policy file before Sealpost: tabs, an order of its own, another extension's entry,
    # another extension's 3rdparty settings — merging must keep all of it and purge must
    # give these bytes back.
    PREEXISTING = (
        '{\n\t"policies": {\n\t\t"DisableTelemetry": true,\n'
        '\t\t"ExtensionSettings": {"other@example.org": {"installation_mode": "blocked"}},\n'
        '\t\t"3rdparty": {"Extensions": {"other@example.org": {"colour": "blue"}}}\n\t}\n}\n'
    ).encode()

    def __init__(self):
        self.workdir = Path(tempfile.mkdtemp(prefix="sealpost-debs-"))
        os.chmod(self.workdir, 0o755)  # the platform's user reaches its export folder
        self.had_policies = POLICIES.read_bytes() if POLICIES.exists() else None
        self.had_policy_dirs = [d for d in (POLICIES.parent.parent, POLICIES.parent) if d.exists()]
        self.sink = Sink()
        self.platform: InstalledPlatform | None = None
        self.ca_file = self.workdir / "platform-ca.pem"

    def restore(self):
        """Purges whatever is still installed and puts back the machine's own policy file."""
        if self.platform:
            self.platform.stop()
        # What this run's platform stored is test data: purge deletes it.
        subprocess.run(["debconf-set-selections"], text=True, capture_output=True,
                       input="sealpost-platform sealpost-platform/purge-data boolean true\n")
        for package in ("sealpost-client", "sealpost-platform"):
            if installed(package):
                subprocess.run(["apt-get", "purge", "-y", "-q", package], capture_output=True,
                               env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
        forget_debconf("sealpost-platform")
        if self.had_policies is not None:
            POLICIES.write_bytes(self.had_policies)
        elif POLICIES.exists():
            POLICIES.unlink()
        for d in (POLICIES.parent, POLICIES.parent.parent):
            if d not in self.had_policy_dirs and d.is_dir() and not any(d.iterdir()):
                d.rmdir()
        self.sink.stop()
        from harness import keep_logs
        keep_logs(self.workdir, "installer")


def forget_debconf(package: str):
    subprocess.run(["debconf-communicate", package], input="PURGE\n", capture_output=True, text=True)


@pytest.fixture(scope="module")
def machine():
    m = Machine()
    try:
        yield m
    finally:
        m.restore()
