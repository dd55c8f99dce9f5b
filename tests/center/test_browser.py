"""The Secure Message Center in real Chromium: a message sent with the real helper, opened by
its recipient through the link, a code from the mail sink, a password; read, download,
recall, expiry, wrong codes, and a list of script-injection payloads that must stay inert."""

import os
import struct
import time
import zlib

from conftest import ask_for_code, code_for, first_contact, screenshot, send

def test_first_contact_read_and_download(center, page, tmp_path):
    report = os.urandom(700_000)
    link, _ = send(center, tmp_path, "bob@outside.example", "Quarterly figures",
                   "<h2>Figures</h2><p>MARKER-READ the numbers are in.</p>",
                   [("report Q3.pdf", report)])
    page.goto(link)
    page.wait_for_url("**/c/open/**")
    screenshot(page, "first-contact-1-address")
    first_contact(center, page, link, "bob@outside.example", shot="first-contact")
    assert page.is_visible("text=MARKER-READ the numbers are in.")
    assert page.inner_text("h1") == "Quarterly figures"
    screenshot(page, "read")
    with page.expect_download() as download:
        page.click("text=report Q3.pdf")
    assert download.value.suggested_filename == "report Q3.pdf"
    with open(download.value.path(), "rb") as f:
        assert f.read() == report, "the downloaded bytes equal the original"


def test_wrong_codes_lock_the_code(center, page, tmp_path):
    link, _ = send(center, tmp_path, "erin@outside.example", "Codes", "<p>MARKER-CODES</p>")
    ask_for_code(page, link, "erin@outside.example")
    code = code_for(center, "erin@outside.example", 1)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        page.fill("#code", wrong)
        page.click("text=Open the message")
        page.wait_for_selector(".problem")
    screenshot(page, "wrong-code")
    page.fill("#code", code)
    page.click("text=Open the message")
    page.wait_for_selector(".problem")
    assert "/c/read/" not in page.url, "the right code no longer opens it after five wrong ones"
    assert not page.is_visible("text=MARKER-CODES")


def test_recall_then_reload_shows_only_that(center, page, tmp_path):
    link, message_id = send(center, tmp_path, "frank@outside.example", "Recall me", "<p>MARKER-RECALL</p>")
    first_contact(center, page, link, "frank@outside.example")
    assert page.is_visible("text=MARKER-RECALL")
    token = center.platform.sign_in()
    center.platform.api("POST", f"/api/v1/messages/{message_id}/recall", {}, token)
    page.reload()
    assert page.is_visible("text=This message was recalled")
    assert not page.is_visible("text=MARKER-RECALL")
    screenshot(page, "recalled")


def test_an_expired_message_shows_only_that(center, page, tmp_path):
    link, message_id = send(center, tmp_path, "gina@outside.example", "Short-lived", "<p>MARKER-EXPIRY</p>")
    first_contact(center, page, link, "gina@outside.example")
    token = center.platform.sign_in()
    soon = int(time.time() * 1000) + 1500
    center.platform.api("PATCH", f"/api/v1/messages/{message_id}", {"expires_at": soon}, token)
    time.sleep(2)
    page.reload()
    assert page.is_visible("text=This message has expired")
    assert not page.is_visible("text=MARKER-EXPIRY")


# Script in every place an email's HTML could try to hide it. Each logs "PWNED" to the
# console (or opens a dialog) if it runs, or fetches from evil.example if remote content
# got through.
PAYLOADS = """
<p>MARKER-XSS before</p>
<script>console.log('PWNED script')</script>
<img src="x" onerror="console.log('PWNED onerror')">
<svg onload="console.log('PWNED svg')"><circle r="1"/></svg>
<body onload="console.log('PWNED body')">
<iframe src="javascript:console.log('PWNED iframe')"></iframe>
<iframe srcdoc="<script>console.log('PWNED srcdoc')</script>"></iframe>
<object data="javascript:alert('PWNED object')"></object>
<embed src="javascript:alert('PWNED embed')">
<a href="javascript:console.log('PWNED href')">click me</a>
<form action="javascript:alert('PWNED form')"><button>go</button></form>
<meta http-equiv="refresh" content="0;url=javascript:alert('PWNED meta')">
<div style="background:url(https://evil.example/track.png)">styled</div>
<img src="https://evil.example/pixel.gif">
<link rel="stylesheet" href="https://evil.example/x.css">
<base href="https://evil.example/">
<details open ontoggle="console.log('PWNED details')">d</details>
<p>MARKER-XSS after</p>
<math><mtext><table><mglyph><style><img src=x onerror="console.log('PWNED mxss')">
"""


def test_script_injection_payloads_stay_inert(center, page, tmp_path):
    link, _ = send(center, tmp_path, "hank@outside.example", "Payloads", PAYLOADS)
    # The hook: every console message, dialog, and request that leaves the platform.
    console, dialogs, foreign = [], [], []
    page.on("console", lambda m: console.append(m.text))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    base = center.platform.base.replace("localhost", "127.0.0.1")
    page.on("request", lambda r: None if r.url.startswith((center.platform.base, base, "data:"))
            else foreign.append(r.url))
    first_contact(center, page, link, "hank@outside.example")
    assert page.is_visible("text=MARKER-XSS before") and page.is_visible("text=MARKER-XSS after")
    for text in ("click me", "go", "d"):
        if page.is_visible(f'text="{text}"'):
            page.click(f'text="{text}"', no_wait_after=True)  # what a curious reader would do
    page.wait_for_timeout(500)
    screenshot(page, "payloads")
    assert not [m for m in console if "PWNED" in m], f"injected script ran: {console}"
    assert dialogs == [], f"a dialog opened: {dialogs}"
    assert foreign == [], f"remote content was fetched: {foreign}"
    assert "/c/read/" in page.url and page.is_visible("text=MARKER-XSS before"), "still the message"


def png(width: int, height: int) -> bytes:
    """A solid-colour PNG of this size."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + b"\x1f\x4e\x79" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def test_inline_images_come_from_the_message_and_svg_never(center, page, tmp_path):
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" onload="console.log(\'PWNED svg\')"/>'
    link, _ = send(center, tmp_path, "ivan@outside.example", "Logo",
                   '<p>MARKER-INLINE</p><img src="cid:logo@acme" alt="logo">'
                   '<img src="cid:vector@acme" alt="vector">',
                   inline=[("logo@acme", "png", png(40, 20)), ("vector@acme", "svg+xml", svg)])
    console = []
    page.on("console", lambda m: console.append(m.text))
    first_contact(center, page, link, "ivan@outside.example")
    logo = page.locator("img[alt=logo]")
    logo.wait_for()
    page.wait_for_function("document.querySelector('img[alt=logo]').complete")
    size = logo.evaluate("img => [img.naturalWidth, img.naturalHeight]")
    assert size == [40, 20], "the image is decrypted from the envelope and shown"
    assert "/inline/" in logo.get_attribute("src")
    assert page.get_attribute("img[alt=vector]", "src") is None, "an SVG is never shown inline"
    assert not [m for m in console if "PWNED" in m]
    screenshot(page, "inline-image")
