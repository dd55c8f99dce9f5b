"""Fixtures for the Outlook add-in in Debian's Chromium (driven by Playwright): the browser,
shared by the envelope checks and the task pane tests; and for the task pane the real platform
binary, which serves the pane; and the scripted Office host (outlook-addin/test/fake-office-host.js,
bundled) that the pages get in place of Microsoft's Office.js, which runs only inside Outlook.

The pane runs under the platform's own Content-Security-Policy (no inline script or style):
axe-core is fetched from an address that policy allows and routed to the local copy, and any
policy violation or uncaught error fails the test."""

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/harness.py, tests/reader.py

from harness import ALICE, PASSWORD, ROOT, Platform, keep_logs  # noqa: E402,F401 (ALICE, PASSWORD: for the tests)
from playwright.sync_api import sync_playwright  # noqa: E402
from reader import launch_chromium  # noqa: E402

ARTIFACTS = ROOT / "target" / "test-artifacts" / "outlook"
OFFICE_HOST = "https://appsforoffice.microsoft.com"
OFFICE_JS = f"{OFFICE_HOST}/lib/1/hosted/office.js"
ADDIN = ROOT / "outlook-addin"
AXE = ROOT / "target" / "node-tools" / "node_modules" / "axe-core" / "axe.min.js"
AXE_URL = f"{OFFICE_HOST}/test-only/axe.min.js"
AXE_RULES = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
PHONE = {"width": 375, "height": 800}
DESKTOP = {"width": 1280, "height": 800}


@pytest.fixture(scope="session")
def office_host() -> str:
    """The scripted Office host, bundled for the pages (esbuild from the add-in's tools): the
    add-in's one fake Office (outlook-addin/test/office-host.js), which the Node tests use too.
    A page gets it in place of Office.js; `window.__officeSpec` says what Outlook to be."""
    return subprocess.run(
        [ADDIN / "node_modules" / ".bin" / "esbuild", ADDIN / "test" / "fake-office-host.js",
         "--bundle", "--format=iife"],
        check=True, capture_output=True).stdout.decode()


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as p:
        b = launch_chromium(p)
        yield b
        b.close()


@pytest.fixture(scope="module")
def platform():
    """The platform binary on a throwaway folder, tenant acme with alice. Every sign-in comes
    from 127.0.0.1: the per-address limit is lifted so that only the account lockout counts."""
    workdir = Path(tempfile.mkdtemp(prefix="sealpost-outlook-"))
    p = Platform(workdir, env={"SEALPOST_LOGIN_ATTEMPTS_PER_MINUTE": "10000"})
    yield p
    p.stop()
    keep_logs(workdir, "outlook")


@pytest.fixture(scope="module")
def artifacts():
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    return ARTIFACTS


class Pane:
    """The task pane in one browser context: `page`, what the fake Office host was told (a
    draft being written to ALICE's mailbox unless `office` says otherwise; see
    outlook-addin/test/office-host.js), and every policy violation or uncaught error seen so
    far."""

    def __init__(self, browser, platform, artifacts, office_host: str, office: dict, viewport: dict):
        self.platform = platform
        self.artifacts = artifacts
        self.office_host = office_host
        self.context = browser.new_context(ignore_https_errors=True, viewport=viewport)
        spec = {"email": ALICE, **office}
        self.context.add_init_script(f"window.__officeSpec = {json.dumps(spec)};")
        self.context.route(f"{OFFICE_HOST}/**", self._office_host)
        self.page = self.context.new_page()
        self.page.set_default_timeout(15_000)
        self.problems: list[str] = []
        self.page.on("pageerror", lambda e: self.problems.append(f"uncaught: {e}"))
        self.page.on("console", self._console)

    def _office_host(self, route):
        url = route.request.url
        if url == OFFICE_JS:
            route.fulfill(status=200, body=self.office_host, content_type="text/javascript")
        elif url == AXE_URL:
            route.fulfill(path=str(AXE), content_type="text/javascript")
        else:
            route.abort()

    def _console(self, message):
        if "Content Security Policy" in message.text:
            self.problems.append(f"policy: {message.text}")

    @property
    def url(self) -> str:
        return f"{self.platform.base}/outlook/taskpane.html"

    def open(self, token: str | None = None, email: str = ALICE):
        """Opens the pane; with `token`, as a pane that signed in with it before."""
        if token:
            self.page.goto(f"{self.platform.base}/healthz")  # the pane's origin, for its storage
            session = {"origin": self.platform.base, "token": token, "email": email,
                       "device": "Outlook on the web"}
            self.page.evaluate("s => localStorage.setItem('sealpost.session', s)", json.dumps(session))
        self.page.goto(self.url)
        self.page.wait_for_selector("#loading", state="hidden")
        return self.page

    def sign_in(self, email: str = ALICE, password: str = PASSWORD):
        self.page.fill("#email", email)
        self.page.fill("#password", password)
        self.page.click("#sign-in-button")

    def stored(self, key: str):
        """A record the pane keeps in localStorage, parsed, or None."""
        raw = self.page.evaluate("k => localStorage.getItem(k)", key)
        return json.loads(raw) if raw is not None else None

    def set_status(self, **status):
        """Writes the send status record as the send handler does (session.js `setStatus`)."""
        self.page.evaluate("s => localStorage.setItem('sealpost.status', JSON.stringify({...s, at: Date.now()}))",
                           status)

    def screenshot(self, name: str):
        self.page.screenshot(path=str(self.artifacts / f"{name}.png"), full_page=True)

    def check_accessible(self, name: str):
        """No axe violation (WCAG 2.1 A and AA) and no sideways scrolling; saved as NAME.png."""
        assert AXE.exists(), f"{AXE} is missing: ./scripts/test installs axe-core (ensure_node_package)"
        if not self.page.evaluate("typeof axe !== 'undefined'"):
            self.page.add_script_tag(url=AXE_URL)
        found = self.page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_RULES)
        problems = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in found["violations"]]
        assert not problems, f"{name}: {problems}"
        width, shown = self.page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert width <= shown, f"{name} scrolls sideways ({width} > {shown})"
        self.screenshot(name)

    def close(self):
        self.context.close()


@pytest.fixture
def pane(browser, platform, artifacts, office_host):
    """`pane(office={...}, viewport={...})` opens a task pane context; each is closed after the
    test, which fails if the page broke its policy or threw."""
    opened: list[Pane] = []

    def open_pane(office: dict | None = None, viewport: dict | None = None) -> Pane:
        p = Pane(browser, platform, artifacts, office_host, office or {}, viewport or PHONE)
        opened.append(p)
        return p

    yield open_pane
    problems = [problem for p in opened for problem in p.problems]
    for p in opened:
        p.close()
    assert not problems, "the task pane broke its policy or threw:\n" + "\n".join(problems)
