"""Fixtures for the Message Center browser tests: the platform with its mail going to an
SMTP sink, alice's desk (the helper signed in, to send real messages), and Debian's Chromium
driven by Playwright."""

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/harness.py

from harness import ROOT, Desk, Platform, Sink, keep_logs  # noqa: E402
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
