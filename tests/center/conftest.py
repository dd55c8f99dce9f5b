"""Fixtures for the Message Center browser tests: the platform with its mail going to an
SMTP sink, alice's desk (the helper signed in, to send real messages), and Debian's Chromium
driven by Playwright. The sending and first-contact steps are `tests/reader.py`'s."""

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/harness.py, tests/reader.py

from harness import ALICE, ROOT  # noqa: E402,F401 (ALICE: for the tests)
from playwright.sync_api import sync_playwright  # noqa: E402
from reader import PASSWORD, Center, ask_for_code, code_for, compose, launch_chromium, send_eml  # noqa: E402,F401
import reader  # noqa: E402

ARTIFACTS = ROOT / "target" / "test-artifacts" / "center"


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
        b = launch_chromium(p)
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


def send(center, tmp_path, to: str, subject: str, html: str, attachments=(),
         inline=()) -> tuple[str, str]:
    """Sends a message from alice with the helper's `send`; its link and message id.
    `inline`: (content id, subtype, bytes) of images the HTML shows with `cid:`."""
    path = tmp_path / "message.eml"
    path.write_bytes(bytes(compose(to, subject, html, attachments, inline)))
    return send_eml(center, path)


def first_contact(center, page, link: str, to: str, codes_before: int = 0, shot: str | None = None):
    """From the link to the message: address, code from the mail, a password; screenshots
    of the steps named `shot-…` when `shot` is given."""
    reader.first_contact(center, page, link, to, codes_before,
                         (lambda step: screenshot(page, f"{shot}-{step}")) if shot else None)
