"""Fixtures for the Message Center browser tests: the platform with its mail going to an
SMTP sink, alice's desk (the helper signed in, to send real messages), and Debian's Chromium
driven by Playwright."""

import email.message
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/harness.py

from harness import ALICE, ROOT, Desk, Platform, Sink, keep_logs, wait_until  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

CHROMIUM = os.environ.get("SEALPOST_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = ROOT / "target" / "test-artifacts" / "center"


class Center:
    """A platform whose mail lands in `sink`, and alice's desk to send from."""

    def __init__(self):
        self.workdir = Path(tempfile.mkdtemp(prefix="sealpost-center-"))
        self.sink = Sink()
        # Every test signs in from 127.0.0.1: lift the per-address limit for this run.
        self.platform = Platform(self.workdir, smtp_port=self.sink.port,
                                 env={"SEALPOST_LOGIN_ATTEMPTS_PER_MINUTE": "10000"})
        self.desk = Desk(self.workdir, self.platform, "alice")

    def stop(self):
        self.sink.stop()
        self.platform.stop()
        keep_logs(self.workdir, "center")


@pytest.fixture(scope="session")
def center():
    c = Center()
    yield c
    c.stop()


@pytest.fixture(scope="session")
def browser():
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        yield b
        b.close()


@pytest.fixture
def page(browser):
    # The platform's certificate is its own, self-signed: trusted for this context only.
    context = browser.new_context(ignore_https_errors=True, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


def screenshot(page, name: str):
    """Saves what the user sees, as a test artifact (not committed)."""
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


PASSWORD = "a long and memorable passphrase"


def send(center, tmp_path, to: str, subject: str, html: str, attachments=(),
         inline=()) -> tuple[str, str]:
    """Sends a message from alice with the helper's `send`; its link and message id.
    `inline`: (content id, subtype, bytes) of images the HTML shows with `cid:`."""
    m = email.message.EmailMessage()
    m["From"] = f"Alice Example <{ALICE}>"
    m["To"] = to
    m["Subject"] = subject
    m.set_content("The text version.")
    m.add_alternative(html, subtype="html")
    for cid, subtype, data in inline:
        m.get_payload()[1].add_related(data, maintype="image", subtype=subtype, cid=f"<{cid}>")
    for name, data in attachments:
        m.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    path = tmp_path / "message.eml"
    path.write_bytes(bytes(m))
    out = center.desk.helper("send", str(path))
    link = re.search(r"https://\S+/m/[0-9a-f]+", out).group(0)
    message_id = re.search(r"Message ([0-9a-f-]{36})", out).group(1)
    return link, message_id


def code_for(center, to: str, count: int) -> str:
    """The code in the `count`-th mail the sink received for `to`."""
    def mails():
        got = [r for r in list(center.sink.messages) if to in r.rcpt_tos]
        return got if len(got) >= count else None
    mail = wait_until(f"code mail #{count} to {to}", mails, 30)[count - 1].message
    return re.search(r"\b(\d{6})\b", mail.get_body(("plain",)).get_content()).group(1)


def ask_for_code(page, link: str, to: str):
    page.goto(link)
    page.wait_for_url("**/c/open/**")
    page.fill("#email", to)
    page.click("text=Send me a code")
    page.wait_for_selector("#code")


def first_contact(center, page, link: str, to: str, codes_before: int = 0, shot: str | None = None):
    """From the link to the message: address, code from the mail, a password."""
    ask_for_code(page, link, to)
    if shot:
        screenshot(page, f"{shot}-2-code")
    page.fill("#code", code_for(center, to, codes_before + 1))
    page.click("text=Open the message")
    page.wait_for_url("**/c/password/**")
    if shot:
        screenshot(page, f"{shot}-3-password")
    page.fill("#password", PASSWORD)
    page.fill("#confirm", PASSWORD)
    page.click("text=Save the password and read the message")
    page.wait_for_url("**/c/read/**")
