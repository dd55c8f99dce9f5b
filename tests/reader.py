"""The Secure Message Center from its two ends: alice sends a real message with the helper
(from an .eml file, as a mail client hands it over), and a recipient opens the mailed link in
Debian's Chromium through first contact (address, the code from the mail, a password).

Used by the browser tests (`tests/center/`) and the fidelity benchmark (`bench/fidelity.py`).
"""

from __future__ import annotations

import email.message
import os
import re
import tempfile
from pathlib import Path
from typing import Callable

from harness import ALICE, Desk, Platform, Sink, keep_logs, wait_until

CHROMIUM = os.environ.get("SEALPOST_CHROMIUM", "/usr/bin/chromium")
# The recipient's Center password, set at first contact.
PASSWORD = "a long and memorable passphrase"


def launch_chromium(playwright):
    """Debian's Chromium, headless (Playwright's own browser downloads are never used)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=[
        "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"])


class Center:
    """A platform whose mail lands in `sink`, and alice's desk to send from. `name` is where
    the run's logs are kept (target/test-logs/NAME)."""

    def __init__(self, name: str = "center"):
        self.name = name
        self.workdir = Path(tempfile.mkdtemp(prefix=f"sealpost-{name}-"))
        self.sink = Sink()
        # Every reader signs in from 127.0.0.1: lift the per-address limit for this run.
        self.platform = Platform(self.workdir, smtp_port=self.sink.port,
                                 env={"SEALPOST_LOGIN_ATTEMPTS_PER_MINUTE": "10000",
                                      # Replies with a 1 GiB attachment (test_large_reply.py).
                                      "SEALPOST_MAX_ENVELOPE_BYTES": str(2 << 30)})
        self.desk = Desk(self.workdir, self.platform, "alice")

    def stop(self):
        self.sink.stop()
        self.platform.stop()
        keep_logs(self.workdir, self.name)


def compose(to: str, subject: str, html: str, attachments=(), inline=()) -> email.message.EmailMessage:
    """A message from alice: a text part and `html` as alternatives. `inline`: (content id,
    subtype, bytes) of images the HTML shows with `cid:`; `attachments`: (name, bytes)."""
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
    return m


def send_eml(center: Center, path: Path) -> tuple[str, str]:
    """Sends the message in `path` with the helper's `send`; its link and message id."""
    out = center.desk.helper("send", str(path))
    link = re.search(r"https://\S+/m/[0-9a-f]+", out).group(0)
    message_id = re.search(r"Message ([0-9a-f-]{36})", out).group(1)
    return link, message_id


def code_for(center: Center, to: str, count: int) -> str:
    """The code in the `count`-th mail the sink received for `to`."""
    def mails():
        got = [r for r in list(center.sink.messages) if to in r.rcpt_tos]
        return got if len(got) >= count else None
    mail = wait_until(f"code mail #{count} to {to}", mails, 30)[count - 1].message
    return re.search(r"\b(\d{6})\b", mail.get_body(("plain",)).get_content()).group(1)


def ask_for_code(page, link: str, to: str):
    """From the link to the code form, the code mailed to `to`."""
    page.goto(link)
    page.wait_for_url("**/c/open/**")
    page.fill("#email", to)
    page.click("text=Send me a code")
    page.wait_for_selector("#code")


def first_contact(center: Center, page, link: str, to: str, codes_before: int = 0,
                  shot: Callable[[str], None] | None = None):
    """From the link to the message: address, code from the mail, a password. `shot(step)`,
    when given, is called on the code and password pages (for screenshots)."""
    ask_for_code(page, link, to)
    if shot:
        shot("2-code")
    page.fill("#code", code_for(center, to, codes_before + 1))
    page.click("text=Open the message")
    page.wait_for_url("**/c/password/**")
    if shot:
        shot("3-password")
    page.fill("#password", PASSWORD)
    page.fill("#confirm", PASSWORD)
    page.click("text=Save the password and read the message")
    page.wait_for_url("**/c/read/**")
