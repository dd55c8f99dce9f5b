"""A reply with a 1 GiB attachment written in real Chromium: uploaded by the reply page's
script in pieces with its progress shown, the connection cut in the middle and the upload
resumed where the platform has it (not from the start), and the platform's copy read back
byte for byte — under the page's real Content-Security-Policy, which lets that one script run
(the upload's progress is checked with axe in test_accessibility.py)."""

import hashlib
import os
import shutil

from conftest import first_contact, screenshot, send
from harness import wait_until

GIB = 1 << 30


def write_file(path, size: int) -> str:
    """`size` bytes of random 1 MiB blocks at `path` (no two blocks alike, so a piece put in
    the wrong place shows); their SHA-256."""
    digest = hashlib.sha256()
    with open(path, "wb") as f:
        for _ in range(size // (1 << 20)):
            block = os.urandom(1 << 20)
            digest.update(block)
            f.write(block)
    return digest.hexdigest()


def sha256_of(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(8 << 20):
            digest.update(block)
    return digest.hexdigest()


def test_a_1_gib_reply_is_uploaded_interrupted_resumed_and_arrives_whole(center, page, tmp_path):
    center.platform.set_policy(max_envelope_bytes=2 * GIB, center_bytes_per_day=4 * GIB)
    link, _ = send(center, tmp_path, "lee@outside.example", "Survey data",
                   "<p>MARKER-ORIGINAL send me the raw survey, please</p>")
    big = tmp_path / "survey-raw.bin"
    expected = write_file(big, GIB)
    try:
        upload_and_check(center, page, tmp_path, link, big, expected)
    finally:
        big.unlink(missing_ok=True)


def upload_and_check(center, page, tmp_path, link, big, expected):
    """The reply with `big` from the Center, the cut, the resume, and the platform's copy."""
    first_contact(center, page, link, "lee@outside.example")
    page.click("text=Reply")
    page.wait_for_url("**/c/reply/**")
    assert page.is_visible("text=Attachments (up to 2.1 GB in all)"), "the script's larger limit"
    page.fill("#text", "MARKER-LARGE-REPLY the raw survey")
    page.set_input_files("#files", str(big))

    pieces = []  # the byte each piece was sent from, in order
    page.on("request", lambda r: r.method == "PUT" and pieces.append(int(r.url.split("at=")[1])))
    with page.expect_response("**/uploads") as begun:
        page.click("text=Send securely")
    reply_id = begun.value.json()["id"]

    # A quarter in, the connection drops: the page says so and keeps trying.
    wait_until("a quarter uploaded", lambda: int(page.get_attribute("#upload-progress", "value")) >= 250, 300)
    page.context.set_offline(True)
    page.wait_for_selector("text=The connection was lost", timeout=60_000)
    screenshot(page, "large-reply-interrupted")
    cut_at = max(pieces)
    page.context.set_offline(False)

    # It goes on from where the platform has it, not from the start, and sends the reply.
    page.wait_for_url("**/c/mail/sent", timeout=600_000)
    after = pieces[pieces.index(cut_at):]
    assert all(at > 0 for at in after), f"resumed, not restarted: {after[:5]}"
    assert after == sorted(after), "pieces in order"
    assert pieces.count(0) == 1, "the upload began once"
    assert page.is_visible("text=Re: Survey data")

    # The platform's copy, decrypted from what it stores, is the file byte for byte.
    exported = center.platform.export(reply_id, tmp_path)
    try:
        copies = [p for p in exported.rglob("*") if p.is_file() and p.stat().st_size == GIB]
        assert len(copies) == 1, sorted(str(p) for p in exported.rglob("*"))
        assert sha256_of(copies[0]) == expected
    finally:
        shutil.rmtree(exported)  # a gigabyte: pytest keeps its last runs' folders
