"""The parts of an end-to-end run, each real: the platform binary on a throwaway data folder
(its own mail going to the SMTP sink when asked), an SMTP sink (aiosmtpd), a user's desk with
the helper registered (`sealpost-helper install`) and signed in, and Debian's Thunderbird,
headless, on a throwaway profile with the product extension and the test-only driver
extension sideloaded.

The Thunderbird driver long-polls a small HTTP control server here for commands (compose,
click the Sealpost button, read it, send) and posts back what happened. Used by
`tests/thunderbird/`, `tests/reader.py` (for `tests/center/` and `bench/fidelity.py`),
`tests/outlook/` (the platform alone) and `bench/thunderbird.py`.
"""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import hmac
import http.server
import itertools
import json
import os
import queue
import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(os.environ.get("SEALPOST_BIN_DIR", ROOT / "target" / "debug"))
THUNDERBIRD = os.environ.get("SEALPOST_THUNDERBIRD", "/usr/lib/thunderbird/thunderbird")
PRODUCT_ID = "sealpost@sealpost.net"
DRIVER_ID = "driver@tests.sealpost.net"
TENANT = "acme"
DOMAIN = "acme.example"
ALICE = f"alice@{DOMAIN}"
PASSWORD = "correct horse battery staple"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def totp(secret_base32: str, at: float) -> str:
    """RFC 6238 (SHA-1, 6 digits, 30 s): what an authenticator app shows at time `at`."""
    key = base64.b32decode(secret_base32 + "=" * (-len(secret_base32) % 8))
    digest = hmac.new(key, struct.pack(">Q", int(at) // 30), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    return f"{(struct.unpack('>I', digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}"


def wait_until(what: str, check, timeout: float, every: float = 0.1):
    """Polls `check` until it returns something truthy; fails with `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(every)


class Platform:
    """`sealpost-platform serve` on a free port, with tenant acme and user alice."""

    def __init__(self, workdir: Path, smtp_port: int | None = None, env: dict | None = None):
        self.dir = workdir / "platform"
        self.port = free_port()
        self.base = f"https://localhost:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.log = open(workdir / "platform.log", "ab")
        self.smtp_port = smtp_port
        self.extra_env = env or {}
        self.start()
        self.admin("create-tenant", "--name", TENANT, "--domain", DOMAIN)
        self.admin("create-user", "--tenant", TENANT, "--email", ALICE, stdin=PASSWORD)

    @property
    def cert(self) -> Path:
        return self.dir / "tls" / "cert.pem"

    def start(self):
        env = dict(os.environ, SEALPOST_LOG="warn", SEALPOST_PUBLIC_URL=self.base)
        env.update(self.extra_env)
        if self.smtp_port:
            env.update(SEALPOST_SMTP_HOST="127.0.0.1", SEALPOST_SMTP_PORT=str(self.smtp_port),
                       SEALPOST_SMTP_SECURITY="none")
        self.proc = subprocess.Popen(
            [BIN / "sealpost-platform", "serve", "--listen", f"127.0.0.1:{self.port}",
             "--data-dir", self.dir],
            stdout=subprocess.PIPE, stderr=self.log, env=env)
        for line in self.proc.stdout:
            if b"listening on" in line:
                break
        else:
            raise AssertionError("the platform did not start; see platform.log")
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()

    def stop(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None

    def admin(self, *args: str, stdin: str | None = None) -> str:
        out = subprocess.run(
            [BIN / "sealpost-platform", "--data-dir", self.dir, "admin", *args],
            input=(stdin or "").encode(), capture_output=True, env=dict(os.environ, SEALPOST_LOG="warn"))
        assert out.returncode == 0, f"admin {args}: {out.stderr.decode()}"
        return out.stdout.decode()

    def set_policy(self, **changes):
        policy = json.loads(self.admin("show-policy", "--tenant", TENANT))
        policy.update(changes)
        path = self.dir / "policy.json"
        path.write_text(json.dumps(policy))
        self.admin("set-policy", "--tenant", TENANT, "--file", str(path))

    def api(self, method: str, path: str, body: dict | None = None, token: str | None = None) -> dict:
        """One JSON API call over HTTPS, trusting the platform's own certificate."""
        import ssl
        import urllib.request
        context = ssl.create_default_context(cafile=str(self.cert))
        request = urllib.request.Request(
            self.base + path, method=method, data=json.dumps(body).encode() if body is not None else None,
            headers={"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})})
        with urllib.request.urlopen(request, context=context) as r:
            text = r.read()
        return json.loads(text) if text else {}

    def sign_in(self, email: str = ALICE, password: str = PASSWORD) -> str:
        """A device token for `email`, through the API."""
        return self.api("POST", "/api/v1/auth/sign-in", {"email": email, "password": password})["token"]

    def export(self, message_id: str, into: Path) -> Path:
        """The message decrypted from what the platform stores (admin export-message)."""
        out = into / f"export-{message_id}"
        self.admin("export-message", "--id", message_id, "--out", str(out))
        return out


@dataclass
class Received:
    """One message as the SMTP sink received it."""
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    at: float  # time.time() when the DATA command ended

    @property
    def message(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.raw, policy=email.policy.default)


class Sink:
    """A real SMTP server (aiosmtpd) on a free port that keeps every message it receives."""

    def __init__(self):
        self.messages: list[Received] = []
        self.lock = threading.Lock()
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port,
                                     data_size_limit=200 * 1024 * 1024)
        self.controller.start()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        received = Received(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content), time.time())
        with self.lock:
            self.messages.append(received)
        return "250 OK"

    def count(self) -> int:
        with self.lock:
            return len(self.messages)

    def wait_for(self, count: int, timeout: float = 60) -> Received:
        wait_until(f"message #{count} at the SMTP sink", lambda: self.count() >= count, timeout)
        with self.lock:
            return self.messages[count - 1]

    def stop(self):
        self.controller.stop()


class Control(http.server.ThreadingHTTPServer):
    """Where the driver extension gets its commands and files and posts results."""

    daemon_threads = True

    def __init__(self):
        self.commands: queue.Queue = queue.Queue()
        self.results: dict[int, queue.Queue] = {}
        self.files: dict[str, bytes] = {}
        self.ids = itertools.count(1)
        self.polled = threading.Event()
        super().__init__(("127.0.0.1", 0), ControlHandler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def call(self, op: str, timeout: float = 120, **args) -> dict:
        """Runs one driver command and returns its result; fails if the driver reports an error."""
        result = self.try_call(op, timeout, **args)
        assert result.get("ok"), f"driver {op} failed: {result.get('error')}"
        return result

    def try_call(self, op: str, timeout: float = 120, **args) -> dict:
        cid = next(self.ids)
        self.results[cid] = queue.Queue()
        self.commands.put({"id": cid, "op": op, **args})
        try:
            return self.results[cid].get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"the driver did not finish {op} within {timeout}s") from None


class ControlHandler(http.server.BaseHTTPRequestHandler):
    server: Control

    def log_message(self, *args):
        pass

    def reply(self, status: int, body: bytes, kind: str = "application/json"):
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):  # noqa: N802
        if self.path == "/next":
            self.server.polled.set()
            try:
                cmd = self.server.commands.get(timeout=15)
            except queue.Empty:
                cmd = {"op": "idle"}
            self.reply(200, json.dumps(cmd).encode())
        elif self.path.startswith("/file/"):
            from urllib.parse import unquote
            data = self.server.files.get(unquote(self.path[len("/file/"):]))
            self.reply(200 if data is not None else 404, data or b"", "application/octet-stream")
        else:
            self.reply(404, b"{}")

    def do_POST(self):  # noqa: N802
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length) or b"{}")
        if self.path.startswith("/result/"):
            cid = int(self.path[len("/result/"):])
            if cid in self.server.results:
                self.server.results[cid].put(body)
        self.reply(200, b"{}")


def build_xpi(src: Path, out: Path):
    subprocess.run([ROOT / "scripts" / "build-xpi", src, out], check=True, capture_output=True)


USER_JS = """\
user_pref("mail.accountmanager.accounts", "account1");
user_pref("mail.accountmanager.localfoldersserver", "server1");
user_pref("mail.account.account1.server", "server1");
user_pref("mail.account.account1.identities", "id1");
user_pref("mail.server.server1.type", "none");
user_pref("mail.server.server1.hostname", "Local Folders");
user_pref("mail.server.server1.userName", "nobody");
user_pref("mail.identity.id1.useremail", "{email}");
user_pref("mail.identity.id1.fullName", "Alice Example");
user_pref("mail.identity.id1.smtpServer", "smtp1");
user_pref("mail.identity.id1.fcc", true);
user_pref("mail.identity.id1.fcc_folder", "mailbox://nobody@Local%20Folders/Sent");
user_pref("mail.identity.id1.htmlSigFormat", true);
user_pref("mail.identity.id1.htmlSigText", "<b>Alice Example</b><br>Acme Ltd. <img src='file://{logo}' alt='Acme logo'>");
user_pref("mail.smtpservers", "smtp1");
user_pref("mail.smtp.defaultserver", "smtp1");
user_pref("mail.smtpserver.smtp1.hostname", "127.0.0.1");
user_pref("mail.smtpserver.smtp1.port", {port});
user_pref("mail.smtpserver.smtp1.authMethod", 1);
user_pref("mail.smtpserver.smtp1.try_ssl", 0);
user_pref("extensions.autoDisableScopes", 0);
user_pref("xpinstall.signatures.required", false);
user_pref("browser.dom.window.dump.enabled", true);
user_pref("devtools.console.stdout.content", true);
user_pref("devtools.console.stdout.chrome", true);
user_pref("mail.shell.checkDefaultClient", false);
user_pref("mail.provider.suppress_dialog_on_startup", true);
user_pref("mailnews.start_page.enabled", false);
user_pref("mail.rights.version", 1);
user_pref("mail.inappnotifications.enabled", false);
user_pref("mail.compose.attachment_reminder", false);
user_pref("mail.SpellCheckBeforeSend", false);
user_pref("mailnews.message_warning_size", 0);
user_pref("app.update.auto", false);
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("toolkit.telemetry.enabled", false);
user_pref("network.connectivity-service.enabled", false);
user_pref("network.captive-portal-service.enabled", false);
user_pref("offline.autoDetect", false);
user_pref("browser.region.update.enabled", false);
user_pref("browser.region.network.url", "");
"""


def png(width: int, height: int, pixel) -> bytes:
    """An RGB PNG whose pixel (x, y) is `pixel(x, y)` (written with zlib: the harness needs no
    imaging library)."""
    rows = b"".join(b"\0" + b"".join(bytes(pixel(x, y)) for x in range(width)) for y in range(height))
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))


# The identity's signature logo: 24×12, one colour per quarter.
SIGNATURE_LOGO = png(24, 12, lambda x, y: ((200, 30, 30), (30, 160, 60), (30, 60, 200), (240, 200, 0))
                      [(x >= 12) + 2 * (y >= 6)])


class Desk:
    """A user's computer: a HOME of its own, IT's helper settings trusting the platform, the
    helper registered with Thunderbird (`sealpost-helper install`) and signed in — or not.

    With `installed`, the computer is what IT's package made it (tests/installer/): the
    helper in /usr/bin registered system-wide, IT's settings in /etc/sealpost/helper.toml;
    nothing is registered or signed in here."""

    def __init__(self, workdir: Path, platform, name: str, helper_installed: bool = True,
                 installed: bool = False):
        self.home = workdir / name
        self.home.mkdir(parents=True)
        (self.home / "tmp").mkdir()
        self.helper_bin = Path("/usr/bin/sealpost-helper") if installed else BIN / "sealpost-helper"
        self.env = {
            k: v for k, v in os.environ.items()
            if not k.startswith("XDG_") or k == "XDG_RUNTIME_DIR"
        }
        self.env.update(HOME=str(self.home), TMPDIR=str(self.home / "tmp"))
        self.env.pop("SEALPOST_HELPER_SYSTEM_CONFIG", None)
        if not installed:
            self.settings = self.home / "it-helper.toml"
            self.settings.write_text(f"tls_ca_file = {json.dumps(str(platform.cert))}\n")
            self.env.update(SEALPOST_HELPER_SYSTEM_CONFIG=str(self.settings))
        self.install_browser_recorder()
        if helper_installed and not installed:
            self.helper("install")
            self.helper("sign-in", "--platform", platform.base, "--email", ALICE, "--password-stdin",
                        stdin=PASSWORD + "\n")

    @property
    def opened_urls(self) -> list[str]:
        """What Thunderbird handed to the desktop's default browser, in order."""
        path = self.home / "opened-urls"
        return path.read_text().split() if path.exists() else []

    def install_browser_recorder(self):
        """Makes this desk's default browser (XDG) a script that writes down each URL."""
        recorder = self.home / "record-url"
        recorder.write_text(f'#!/bin/sh\nprintf "%s\\n" "$1" >> {json.dumps(str(self.home / "opened-urls"))}\n')
        recorder.chmod(0o755)
        apps = self.home / ".local" / "share" / "applications"
        apps.mkdir(parents=True)
        (apps / "sealpost-test-browser.desktop").write_text(
            "[Desktop Entry]\nType=Application\nName=Test browser\n"
            f"Exec={recorder} %u\nMimeType=x-scheme-handler/http;x-scheme-handler/https;\n")
        config = self.home / ".config"
        config.mkdir(exist_ok=True)
        (config / "mimeapps.list").write_text(
            "[Default Applications]\nx-scheme-handler/https=sealpost-test-browser.desktop\n"
            "x-scheme-handler/http=sealpost-test-browser.desktop\n")

    def helper(self, *args: str, stdin: str = "") -> str:
        out = subprocess.run([self.helper_bin, *args], input=stdin.encode(),
                             capture_output=True, env=self.env)
        assert out.returncode == 0, f"sealpost-helper {args}: {out.stderr.decode()}"
        return out.stdout.decode()


class Thunderbird:
    """Debian's Thunderbird, headless, on a throwaway profile in `desk`'s HOME, with the
    product extension and the driver sideloaded; sends through `sink`. Without
    `sideload_product`, the product extension comes from wherever Thunderbird finds it (IT's
    policy, tests/installer/)."""

    def __init__(self, desk: Desk, sink: Sink, control: Control, sideload_product: bool = True):
        self.desk = desk
        self.control = control
        self.profile = desk.home / "profile"
        extensions = self.profile / "extensions"
        extensions.mkdir(parents=True)
        # The identity's signature shows a logo from a file, as a user sets one up; Thunderbird
        # inserts it into a new message (one composed without a body) as a data: image.
        self.signature_logo = desk.home / "signature-logo.png"
        self.signature_logo.write_bytes(SIGNATURE_LOGO)
        (self.profile / "user.js").write_text(
            USER_JS.format(email=ALICE, port=sink.port, logo=self.signature_logo))
        if sideload_product:
            build_xpi(ROOT / "thunderbird-extension", extensions / f"{PRODUCT_ID}.xpi")
        driver = desk.home / "driver"
        shutil.copytree(ROOT / "tests" / "thunderbird" / "driver", driver)
        (driver / "config.json").write_text(json.dumps({"control": control.url}))
        build_xpi(driver, extensions / f"{DRIVER_ID}.xpi")
        self.log_path = desk.home / "thunderbird.log"
        self.log = open(self.log_path, "ab")
        control.polled.clear()
        self.proc = subprocess.Popen(
            [THUNDERBIRD, "--headless", "--no-remote", "-profile", self.profile],
            stdout=self.log, stderr=subprocess.STDOUT, env=dict(desk.env, MOZ_HEADLESS="1"))
        if not control.polled.wait(90):
            self.stop()
            raise AssertionError(f"the driver extension never started; see {self.log_path}")

    def sent_folder(self) -> bytes:
        """The Sent folder (mbox) as Thunderbird stores it."""
        path = self.profile / "Mail" / "Local Folders" / "Sent"
        return path.read_bytes() if path.exists() else b""

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@dataclass
class World:
    """Everything one run shares."""
    workdir: Path
    platform: Platform
    sink: Sink
    control: Control
    desk: Desk
    thunderbird: Thunderbird
    extra: list = field(default_factory=list)

    @staticmethod
    def start(policy: dict) -> "World":
        workdir = Path(tempfile.mkdtemp(prefix="sealpost-e2e-"))
        # One mail server for Thunderbird and the platform (which mails in "platform sends" mode).
        sink = Sink()
        platform = Platform(workdir, smtp_port=sink.port)
        platform.set_policy(**policy)
        control = Control()
        desk = Desk(workdir, platform, "alice")
        thunderbird = Thunderbird(desk, sink, control)
        return World(workdir, platform, sink, control, desk, thunderbird)

    def stop(self):
        for t in [self.thunderbird, *self.extra]:
            t.stop()
        self.sink.stop()
        self.platform.stop()
        self.control.shutdown()
        keep_logs(self.workdir, "thunderbird")


def keep_logs(workdir: Path, name: str):
    """Copies a run's logs (Thunderbird's, the platform's, the helper's) to
    target/test-logs/NAME for a failed run to be read, then removes the run's folder (kept
    with SEALPOST_KEEP_E2E set)."""
    logs = ROOT / "target" / "test-logs" / name
    shutil.rmtree(logs, ignore_errors=True)
    logs.mkdir(parents=True)
    for path in workdir.rglob("*.log*"):
        if path.is_file():
            shutil.copy(path, logs / "-".join(path.relative_to(workdir).parts))
    if os.environ.get("SEALPOST_KEEP_E2E") is None:
        shutil.rmtree(workdir, ignore_errors=True)
