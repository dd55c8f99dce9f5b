"""The Outlook add-in's send runtime in Debian's Chromium: its real page
(`/outlook/commands.html`, served by the real platform) with a scripted Office host in place of
Office.js, and a secure send fired as Outlook fires it, both ways — through the real
`sealpost-helper bridge` after pairing over CORS from the platform's origin, and straight to
the platform with the envelope sealed by the browser's WebCrypto. Each ends with the item
turned into the stub and the platform's copy byte for byte.

Run through scripts/with-keyring (the helper keeps its token and the pairing in the keychain).
"""

import base64
import json
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/harness.py, tests/reader.py

from conftest import PHONE, Pane  # noqa: E402
from harness import BIN, ROOT, Desk, Platform, free_port  # noqa: E402

OFFICE_JS = "https://appsforoffice.microsoft.com/**"
BRIDGE_PORT = 47474  # the helper's default bridge_port, which the add-in looks for
FILE = bytes((i * 2654435761 >> 11) & 0xFF for i in range(3_000_000))


@pytest.fixture(scope="module")
def world():
    workdir = Path(tempfile.mkdtemp(prefix="sealpost-outlook-bridge-"))
    platform = Platform(workdir)
    desk = Desk(workdir, platform, "alice")
    # The task pane looks for the bridge where IT's installer starts it: the default port.
    port = BRIDGE_PORT
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0, f"port {port} is taken: stop what uses it"
    bridge = subprocess.Popen([BIN / "sealpost-helper", "bridge", "--port", str(port)],
                              env=desk.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    line = bridge.stdout.readline().decode()
    assert "listening" in line, line + bridge.stderr.read().decode()
    yield platform, f"http://127.0.0.1:{port}", workdir
    bridge.terminate()
    bridge.wait(10)
    platform.stop()


@pytest.fixture(scope="module")
def paired(world, browser, artifacts, office_host):
    """Pairs through the task pane as a person does (the Pair button), and returns the pairing
    the pane kept; the pane then says messages go through the helper."""
    platform, bridge_url, _ = world
    pane = Pane(browser, platform, artifacts, office_host, {}, PHONE)
    try:
        page = pane.open(token=platform.sign_in())
        page.click("#pair-helper")
        page.wait_for_selector("#helper-state:has-text('Paired')")
        page.wait_for_selector("#transport:has-text('helper')")
        pane.check_accessible("helper-paired-375")
        pairing = pane.stored("sealpost.session")["bridge"]
        assert pairing["url"] == bridge_url
        # A second pairing is refused, and the pane says how to pair again.
        page.click("#pair-helper")
        page.wait_for_selector("#helper-error:has-text('bridge --pair')")
        assert not pane.problems, pane.problems
        return pairing
    finally:
        pane.close()


def open_runtime(browser, platform, office_host, spec):
    """The add-in's runtime page on the platform's origin, with `spec` as the message."""
    context = browser.new_context(ignore_https_errors=True)
    context.add_init_script(f"window.__officeSpec = {json.dumps(spec)};")
    context.route(OFFICE_JS, lambda route: route.fulfill(
        status=200, content_type="text/javascript", body=office_host))
    page = context.new_page()
    page.goto(f"{platform.base}/outlook/commands.html")
    page.wait_for_function("() => window.__office && window.__office.handlers.onMessageSend")
    return context, page


def attach(page, name: str, data: bytes):
    """Puts a file on the item being written."""
    page.evaluate("""([name, b64]) => {
        const bin = atob(b64); const bytes = new Uint8Array(bin.length);
        for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
        const list = window.__office.state.attachments;
        list.push({id: "att-" + list.length, name, bytes, attachmentType: "file",
            isInline: false, contentType: "application/octet-stream"});
    }""", [name, base64.b64encode(data).decode()])


def assert_sent_securely(page, platform, workdir, spec, transport: str):
    """The item is the stub, the status names `transport`, the platform's copy is the message."""
    state = page.evaluate("""() => ({body: window.__office.state.body,
        headers: window.__office.state.headers,
        names: window.__office.state.attachments.map(a => a.name)})""")
    status = page.evaluate("() => JSON.parse(localStorage.getItem('sealpost.status'))")
    assert status["transport"] == transport, status
    assert "/m/" in state["body"] and "numbers" not in state["body"], state["body"]
    assert state["names"] == [], "the attachment left with the message, not with the stub"
    assert "dave@hidden.example" not in state["body"]
    exported = platform.export(state["headers"]["X-Sealpost-Message-Id"], workdir)
    assert (exported / "body.html").read_text() == spec["body"]
    manifest = json.loads((exported / "manifest.json").read_text())
    assert manifest["metadata"]["subject"] == spec["subject"]
    assert "hidden.example" not in json.dumps(manifest)
    [saved] = list((exported / "attachments").iterdir())
    assert saved.read_bytes() == FILE


def message(subject: str) -> dict:
    return {"to": ["bob@outside.example"], "cc": [], "bcc": ["dave@hidden.example"],
            "subject": subject, "bodyType": "html", "body": "<p>Hi Bob, <b>numbers</b> attached.</p>"}


def send_secure(world, browser, office_host, subject: str, session: dict, transport: str):
    """Fires Send on a message with FILE attached, `session` in the pane's storage, and checks
    it left as the stub through `transport`."""
    platform, _, workdir = world
    spec = message(subject)
    context, page = open_runtime(browser, platform, office_host, spec)
    try:
        attach(page, "figures.bin", FILE)
        page.evaluate("s => localStorage.setItem('sealpost.session', JSON.stringify(s))",
                      {"origin": platform.base, "email": "alice@acme.example", **session})
        outcome = page.evaluate("() => window.__office.send()")
        assert outcome == {"allowEvent": True}, outcome
        assert_sent_securely(page, platform, workdir, spec, transport)
    finally:
        context.close()


def test_a_secure_send_through_the_helper(world, browser, office_host, paired):
    # The pairing the task pane made (the same origin's storage).
    send_secure(world, browser, office_host, "Q3 via the helper", {"bridge": paired}, "helper")


def test_a_secure_send_sealed_in_the_browser(world, browser, office_host):
    platform = world[0]
    send_secure(world, browser, office_host, "Q3 sealed by WebCrypto", {"token": platform.sign_in()}, "direct")


def test_a_page_of_another_origin_gets_nothing_from_the_bridge(world, browser):
    platform, bridge_url, _ = world
    context = browser.new_context()
    page = context.new_page()
    # Another site's page on this computer (a local server, so the request is not even a
    # private-network one): the bridge answers 403 without CORS headers, so the browser
    # hands the page an opaque failure.
    other = subprocess.Popen([sys.executable, "-m", "http.server", "--bind", "127.0.0.1",
                              str(port := free_port())], cwd=tempfile.mkdtemp(),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), 0.1).close()
                break
            except OSError:
                page.wait_for_timeout(50)
        page.goto(f"http://127.0.0.1:{port}/")
        result = page.evaluate("""async (url) => {
            try {
                await fetch(url + "/v1/pair", {method: "POST",
                    headers: {"Content-Type": "application/json"}, body: "{}"});
                return "answered";
            } catch (e) { return "refused"; }
        }""", bridge_url)
        assert result == "refused"
    finally:
        other.terminate()
        context.close()
