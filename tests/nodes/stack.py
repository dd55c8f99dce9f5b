"""A real multi-node Sealpost deployment on this machine, for `tests/nodes/`: two
`sealpost-platform serve` nodes sharing one PostgreSQL database (a throwaway cluster,
`PG_TEST_URL`), one S3 bucket (moto, `S3_TEST_URL`) and one master key, behind Debian's haproxy
running `tests/nodes/haproxy.cfg`; an SMTP sink for the platform's mail; and alice's desk with
the real helper, signed in through the balancer.

Each node is reached through the balancer as users reach it, and directly (its own address and
certificate) for what an operator scrapes from each node: `/metrics`. haproxy's runtime API
(its stats socket) says which nodes it sends requests to.

HTTP clients are `requests` (it comes with moto's server in target/pyenv).
"""

from __future__ import annotations

import csv
import io
import os
import re
import secrets
import signal
import socket
import subprocess
import threading
import urllib.request
from pathlib import Path

import requests
import requests.adapters

from harness import ALICE, BIN, DOMAIN, PASSWORD, TENANT, Desk, Sink, free_port, wait_until

HERE = Path(__file__).resolve().parent
# The address the balancer connects to the nodes from: what the nodes trust
# (`trusted_proxies`). Clients connect from 127.0.0.1 (or another loopback address of their
# own), so a node tells them apart from the balancer.
BALANCER_SOURCE = "127.0.0.2"
# The nodes' master key (base64 of 32 bytes), as IT gives it to each node.
MASTER_KEY = "c2VhbHBvc3QtdGVzdC1tYXN0ZXIta2V5LTMyLWJ5dGU="
# A node told to stop answers /readyz 503 for this long before it stops accepting: haproxy
# (two failed checks a second apart) has taken it out well before.
DRAIN_SECS = 4


def psql(url: str, sql: str) -> list[list[str]]:
    """Rows of `sql` on the database at `url` (Debian's psql), as text."""
    out = subprocess.run(["psql", url, "-XAtq", "-F", "\t", "-c", sql], capture_output=True, text=True)
    assert out.returncode == 0, f"psql: {out.stderr}"
    return [line.split("\t") for line in out.stdout.splitlines() if line]


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True)


class Certificates:
    """The deployment's certificates: the balancer's public one for localhost, from a CA the
    users' computers trust (a public CA in production), and each node's own, from an internal
    CA that the balancer verifies the nodes against."""

    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir()
        self.public_ca = self.issue("public-ca", "Test public CA", None)
        self.public_cert, self.public_key = self.issue("public", "localhost", self.public_ca)
        self.internal_ca = self.issue("internal-ca", "Sealpost internal CA", None)

    def issue(self, name: str, cn: str, ca: tuple[Path, Path] | None) -> tuple[Path, Path]:
        """A P-256 certificate for `cn` and localhost, 127.0.0.1, issued by `ca` — or, without
        one, a CA of its own."""
        cert, key = self.folder / f"{name}.pem", self.folder / f"{name}-key.pem"
        common = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", f"/CN={cn}",
                  "-days", "2", "-keyout", key, "-out", cert]
        if ca is None:
            openssl("req", "-x509", *common)
        else:
            csr = self.folder / f"{name}.csr"
            openssl("req", *common[:-2], "-out", csr)
            ext = self.folder / f"{name}.ext"
            ext.write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
            openssl("x509", "-req", "-in", csr, "-CA", ca[0], "-CAkey", ca[1], "-CAcreateserial",
                    "-days", "2", "-extfile", ext, "-out", cert)
        return cert, key

    def for_node(self, name: str) -> tuple[Path, Path]:
        return self.issue(f"node-{name}", f"node-{name}", self.internal_ca)


class Node:
    """One `sealpost-platform serve`, on its own port and data folder (its TLS certificate
    and nothing else: the database, the envelopes and the master key are shared)."""

    def __init__(self, stack: "Stack", name: str):
        self.stack = stack
        self.name = name
        self.port = free_port()
        self.dir = stack.workdir / f"node-{name}"
        self.log = open(stack.workdir / f"node-{name}.log", "ab")
        self.proc: subprocess.Popen | None = None
        self.cert, self.key = stack.certificates.for_node(name)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self):
        self.proc = subprocess.Popen(
            [BIN / "sealpost-platform", "serve", "--listen", self.address, "--data-dir", self.dir,
             "--database-url", self.stack.database_url],
            stdout=subprocess.PIPE, stderr=self.log,
            env=dict(self.stack.node_env(), SEALPOST_TLS_CERT_FILE=str(self.cert),
                     SEALPOST_TLS_KEY_FILE=str(self.key)))
        for line in self.proc.stdout:
            if b"listening on" in line:
                break
        else:
            raise AssertionError(f"node {self.name} did not start; see node-{self.name}.log")
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()

    def terminate(self) -> int:
        """SIGTERM, as systemd stops it; its exit status once it has drained and stopped."""
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(DRAIN_SECS + 30)
        self.proc = None
        return code

    def kill(self):
        """SIGKILL: the node dies on the spot, whatever it was doing."""
        self.proc.kill()
        self.proc.wait()
        self.proc = None

    def requests_served(self, route_prefix: str = "/") -> int:
        """What this node's own /metrics counts: requests it answered on routes starting with
        `route_prefix` (what Prometheus scrapes from each node)."""
        with requests.Session() as s:
            s.trust_env = False  # REQUESTS_CA_BUNDLE would replace `verify`
            text = s.get(f"https://localhost:{self.port}/metrics",
                         verify=self.stack.certificates.internal_ca[0], timeout=10).text
        total = 0
        for labels, value in re.findall(r'^sealpost_http_requests_total\{(.*)\} (\S+)$', text, re.M):
            route = re.search(r'route="([^"]*)"', labels).group(1)
            if route.startswith(route_prefix):
                total += int(float(value))
        return total


class Balancer:
    """Debian's haproxy with `tests/nodes/haproxy.cfg`: TLS for clients with the public
    certificate, TLS to the nodes verified against their certificates."""

    def __init__(self, stack: "Stack", port: int):
        self.stack = stack
        self.port = port
        self.dir = stack.workdir / "balancer"
        self.dir.mkdir()
        certs = stack.certificates
        (self.dir / "public.pem").write_bytes(certs.public_cert.read_bytes() + certs.public_key.read_bytes())
        (self.dir / "nodes-ca.pem").write_bytes(certs.internal_ca[0].read_bytes())
        self.log = open(stack.workdir / "haproxy.log", "ab")
        env = dict(os.environ, LB_DIR=str(self.dir), LB_BIND=f"127.0.0.1:{self.port}",
                   LB_SOURCE=BALANCER_SOURCE,
                   NODE_A=stack.nodes[0].address, NODE_B=stack.nodes[1].address)
        self.proc = subprocess.Popen(["haproxy", "-db", "-f", HERE / "haproxy.cfg"],
                                     stdout=self.log, stderr=subprocess.STDOUT, env=env)
        try:
            for node in stack.nodes:
                self.wait_until_status(node, "UP")
        except BaseException:
            self.stop()
            raise

    @property
    def base(self) -> str:
        return f"https://localhost:{self.port}"

    def runtime(self, command: str) -> str:
        """One command on haproxy's runtime API (the stats socket)."""
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(str(self.dir / "admin.sock"))
            s.sendall(command.encode() + b"\n")
            chunks = []
            while chunk := s.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def servers(self) -> dict[str, dict]:
        """The backend's servers as haproxy sees them: `status` (UP, DOWN, …), `scur`
        (requests being served now), `stot` (requests served)."""
        text = self.runtime("show stat").lstrip("# ")
        return {row["svname"]: row for row in csv.DictReader(io.StringIO(text))
                if row["pxname"] == "nodes" and row["svname"] not in ("FRONTEND", "BACKEND")}

    def serving(self, client_ip: str) -> set[str]:
        """The nodes serving a request from `client_ip` right now (haproxy's `show sess`)."""
        return set(re.findall(rf"src={re.escape(client_ip)}:\d+ .*?\bsrv=(\w+)", self.runtime("show sess")))

    def status(self, node: Node) -> str:
        try:
            return self.servers()[node.name]["status"]
        except (OSError, KeyError):
            return "no answer"

    def wait_until_status(self, node: Node, status: str, timeout: float = 30):
        wait_until(f"haproxy to see node {node.name} {status}", lambda: self.status(node) == status, timeout)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


class FromAddress(requests.adapters.HTTPAdapter):
    """Connects from `ip` (a loopback address of the client's own), so the balancer and the
    nodes see a client of that address."""

    def __init__(self, ip: str):
        self.ip = ip
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.ip, 0)
        super().init_poolmanager(*args, **kwargs)


class Stack:
    """Everything one run shares. The first node migrates the new database and makes the
    first tenant; tenant acme with alice is made with `admin`, as IT would."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.nodes: list[Node] = []
        self.balancer: Balancer | None = None
        try:
            self.start()
        except BaseException:
            self.stop()  # leave no node or balancer running behind a failed start
            raise

    def start(self):
        workdir = self.workdir
        server = os.environ["PG_TEST_URL"]
        name = f"sealpost_nodes_{secrets.token_hex(4)}"
        psql(server, f"CREATE DATABASE {name}")
        self.database_url = server.rsplit("/", 1)[0] + f"/{name}"
        self.s3 = os.environ["S3_TEST_URL"]
        self.bucket = name.replace("_", "-")
        urllib.request.urlopen(urllib.request.Request(f"{self.s3}/{self.bucket}", method="PUT")).read()
        self.sink = Sink()
        self.certificates = Certificates(workdir / "certificates")
        # Users reach the platform only at the balancer: its address is every node's public URL.
        balancer_port = free_port()
        self.base = f"https://localhost:{balancer_port}"
        self.nodes = [Node(self, "a"), Node(self, "b")]
        for node in self.nodes:
            node.start()
        self.balancer = Balancer(self, balancer_port)
        self.admin("create-tenant", "--name", TENANT, "--domain", DOMAIN)
        self.admin("create-user", "--tenant", TENANT, "--email", ALICE, stdin=PASSWORD)
        self.desk = Desk(workdir, self, "alice")
        # Uploads in 1 MiB requests, so a large one is many requests (a node can die between
        # or during them).
        with open(self.desk.settings, "a") as f:
            f.write("upload_segment_bytes = 1048576\n")

    # What `harness.Desk` asks of a platform: its address (`base`) and the certificate to trust.
    @property
    def cert(self) -> Path:
        return self.certificates.public_ca[0]

    def node_env(self) -> dict:
        """Every node's settings: the same on all but the listening port."""
        return dict(
            os.environ,
            SEALPOST_LOG="info,html5ever=error",
            NO_COLOR="1",
            SEALPOST_MASTER_KEY=MASTER_KEY,
            SEALPOST_PUBLIC_URL=self.base,
            SEALPOST_TRUSTED_PROXIES=BALANCER_SOURCE,
            SEALPOST_DRAIN_SECS=str(DRAIN_SECS),
            SEALPOST_SHUTDOWN_GRACE_SECS="10",
            SEALPOST_BLOB_STORE="s3",
            SEALPOST_S3_ENDPOINT=self.s3,
            SEALPOST_S3_BUCKET=self.bucket,
            SEALPOST_S3_ALLOW_HTTP="true",
            AWS_ACCESS_KEY_ID="test",
            AWS_SECRET_ACCESS_KEY="test",
            SEALPOST_SMTP_HOST="127.0.0.1",
            SEALPOST_SMTP_PORT=str(self.sink.port),
            SEALPOST_SMTP_SECURITY="none",
        )

    def platform_command(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        """`sealpost-platform ARGS` with the nodes' settings, as an operator runs it on a node."""
        return subprocess.run(
            [BIN / "sealpost-platform", "--data-dir", self.nodes[0].dir,
             "--database-url", self.database_url, *args],
            input=(stdin or "").encode(), capture_output=True, env=dict(self.node_env(), SEALPOST_LOG="warn"))

    def admin(self, *args: str, stdin: str | None = None) -> str:
        out = self.platform_command("admin", *args, stdin=stdin)
        assert out.returncode == 0, f"admin {args}: {out.stderr.decode()}"
        return out.stdout.decode()

    def sql(self, query: str) -> list[list[str]]:
        return psql(self.database_url, query)

    def client(self, from_ip: str | None = None) -> requests.Session:
        """A client of the balancer (keeping cookies, as a browser does), connecting from
        `from_ip` when given."""
        s = requests.Session()
        s.trust_env = False  # REQUESTS_CA_BUNDLE and the like would replace `verify`
        s.verify = str(self.cert)
        if from_ip:
            s.mount("https://", FromAddress(from_ip))
        return s

    def restart_when_down(self, node: Node):
        """Starts `node` again on its port once it is gone, and waits until haproxy sends it
        requests again."""
        node.start()
        self.balancer.wait_until_status(node, "UP")

    def stop(self):
        if self.balancer:
            self.balancer.stop()
        for node in self.nodes:
            if node.proc:
                node.kill()
        if getattr(self, "sink", None):
            self.sink.stop()


def csrf(page: str) -> str:
    """The value of a Message Center form's CSRF field."""
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


# A recipient's Message Center password, chosen at first contact.
READER_PASSWORD = "a long and memorable passphrase"


def read_in_center(stack: Stack, browser: requests.Session, link: str, to: str) -> tuple[str, str]:
    """First contact in the Message Center, as a browser makes it through the balancer: the
    link, the address, the code the platform mails, a password. The read page and its URL."""
    opaque = link.rsplit("/", 1)[1]
    bounce = browser.get(link, timeout=30)
    assert bounce.status_code == 200 and f"/c/open/{opaque}" in bounce.text, bounce.text
    page = browser.get(f"{stack.base}/c/open/{opaque}", timeout=30).text
    token = csrf(page)
    codes_before = sum(1 for m in list(stack.sink.messages) if to in m.rcpt_tos)
    asked = browser.post(f"{stack.base}/m/{opaque}/code", data={"csrf": token, "email": to}, timeout=30)
    assert asked.status_code == 200 and "Enter your code" in asked.text, asked.text
    mail = wait_until(f"the code mailed to {to}", lambda: [
        m for m in list(stack.sink.messages) if to in m.rcpt_tos][codes_before:], 30)[0]
    code = re.search(r"\b(\d{6})\b", mail.message.get_body(("plain",)).get_content()).group(1)
    choose = browser.post(f"{stack.base}/m/{opaque}/verify",
                          data={"csrf": token, "email": to, "code": code}, timeout=30)
    assert f"/c/password/{opaque}" in choose.url, (choose.status_code, choose.text)
    read = browser.post(f"{stack.base}/c/password/{opaque}", timeout=30, data={
        "csrf": csrf(choose.text), "password": READER_PASSWORD, "confirm": READER_PASSWORD})
    assert read.status_code == 200 and "/c/read/" in read.url, (read.status_code, read.text)
    return read.text, read.url
