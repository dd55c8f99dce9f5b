"""Conversations in the Message Center, in real Chromium: an unlock code passed on out of
band, a secure reply with an attachment that the sender is told about and reads, the
sender's delivery slip and recall, folders, sign-out and a forgotten password."""

import os
import time

from conftest import ALICE, PASSWORD, ask_for_code, code_for, first_contact, screenshot, send
from harness import totp, wait_until

NEW_PASSWORD = "another long and memorable passphrase"


def mails_to(center, to: str) -> list:
    return [r.message for r in list(center.sink.messages) if to in r.rcpt_tos]


def test_an_unlock_code_is_asked_after_the_mailed_code(center, page, tmp_path):
    link, message_id = send(center, tmp_path, "jill@outside.example", "Locked", "<p>MARKER-UNLOCK</p>")
    token = center.platform.sign_in()
    center.platform.api("PUT", f"/api/v1/messages/{message_id}/unlock-code",
                        {"code": "blue heron 42"}, token)
    ask_for_code(page, link, "jill@outside.example")
    page.fill("#code", code_for(center, "jill@outside.example", 1))
    page.click("text=Open the message")
    page.wait_for_url("**/c/password/**")
    page.fill("#password", PASSWORD)
    page.fill("#confirm", PASSWORD)
    page.click("text=Save the password and read the message")
    page.wait_for_url("**/c/unlock/**")
    screenshot(page, "unlock")
    assert not page.is_visible("text=MARKER-UNLOCK")
    page.fill("#unlock", "red heron 42")
    page.click("button:has-text('Unlock')")
    page.wait_for_selector(".problem")
    assert "/c/unlock/" in page.url and not page.is_visible("text=MARKER-UNLOCK")
    page.goto(link.replace("/m/", "/c/read/"))
    assert "/c/unlock/" in page.url, "the message stays locked without the code"
    page.fill("#unlock", "blue heron 42")
    page.click("button:has-text('Unlock')")
    page.wait_for_url("**/c/read/**")
    assert page.is_visible("text=MARKER-UNLOCK")


def test_a_reply_with_an_attachment_reaches_the_sender(center, browser, page, tmp_path):
    link, message_id = send(center, tmp_path, "kim@outside.example", "Contract draft",
                            "<p>MARKER-ORIGINAL please sign</p>")
    first_contact(center, page, link, "kim@outside.example")
    page.click("text=Reply")
    page.wait_for_url("**/c/reply/**")
    assert page.input_value("#subject") == "Re: Contract draft"
    signed = os.urandom(300_000)
    page.fill("#text", "MARKER-REPLY signed copy attached")
    page.set_input_files("#files", files=[
        {"name": "signed contract.pdf", "mimeType": "application/pdf", "buffer": signed}])
    screenshot(page, "reply")
    page.click("text=Send securely")
    page.wait_for_url("**/c/mail/sent")
    assert page.is_visible("text=Re: Contract draft")
    screenshot(page, "sent")

    # Alice is told by mail, with a link and nothing else: no content, no address.
    notice = wait_until("the reply notice to alice", lambda: mails_to(center, ALICE), 30)[0]
    text = notice.get_body(("plain",)).get_content()
    assert "MARKER-REPLY" not in text and "kim@outside.example" not in text
    assert "Contract" not in str(notice["Subject"])
    reply_link = next(w for w in text.split() if "/m/" in w)

    # Alice reads it in the Center (her mailbox proven like anyone's) and downloads.
    alice_context = browser.new_context(ignore_https_errors=True, accept_downloads=True)
    alice = alice_context.new_page()
    alice.set_default_timeout(20_000)
    first_contact(center, alice, reply_link, ALICE, codes_before=1)
    assert alice.is_visible("text=MARKER-REPLY signed copy attached")
    with alice.expect_download() as download:
        alice.click("text=signed contract.pdf")
    with open(download.value.path(), "rb") as f:
        assert f.read() == signed, "the attachment arrives byte for byte"
    screenshot(alice, "reply-read-by-sender")

    # Her sent message shows the delivery slip with the reply, and she recalls it.
    alice.goto(center.platform.base + "/c/mail/sent")
    alice.click("text=Contract draft")
    alice.wait_for_selector("#slip-heading")
    slip = alice.inner_text("section.slip")
    assert "kim@outside.example" in slip and "opened" in slip and "replied" in slip, slip
    screenshot(alice, "delivery-slip")
    alice.click("text=Recall this message")
    alice.wait_for_url("**/c/mail/sent")
    assert alice.is_visible("text=Recalled")
    alice_context.close()
    page.goto(link)
    page.wait_for_url("**/c/open/**")
    assert page.is_visible("text=This message was recalled")
    assert not page.is_visible("text=MARKER-ORIGINAL")
    events = center.platform.api("GET", f"/api/v1/messages/{message_id}", None,
                                 center.platform.sign_in())
    assert "recalled" in str(events)


def test_folders_sign_out_and_a_forgotten_password(center, page, tmp_path):
    link, _ = send(center, tmp_path, "lou@outside.example", "Folders", "<p>MARKER-FOLDERS</p>")
    first_contact(center, page, link, "lou@outside.example")
    page.goto(center.platform.base + "/c/mail/inbox")
    assert page.is_visible("text=Folders")
    screenshot(page, "inbox")
    page.click("text=Folders")
    page.click("button:has-text('Archive')")
    page.wait_for_url("**/c/mail/inbox")
    assert not page.is_visible("text=Folders")
    page.goto(center.platform.base + "/c/mail/archive")
    assert page.is_visible("text=Folders")

    page.click("button:has-text('Sign out')")
    page.wait_for_selector("text=You are signed out")
    page.goto(center.platform.base + "/c/mail/inbox")
    page.wait_for_url("**/c/signin")

    # Forgot the password: a code by mail, a new password, the old one no longer works.
    page.click("text=Forgot your password?")
    page.fill("#email", "lou@outside.example")
    page.click("text=Send me a code")
    page.wait_for_selector("#code")
    page.fill("#code", code_for(center, "lou@outside.example", 2))
    page.fill("#password", NEW_PASSWORD)
    page.fill("#confirm", NEW_PASSWORD)
    screenshot(page, "reset")
    page.click("text=Save the new password")
    page.wait_for_url("**/c/mail/inbox")
    page.click("button:has-text('Sign out')")
    for password, works in ((PASSWORD, False), (NEW_PASSWORD, True)):
        page.goto(center.platform.base + "/c/signin")
        page.fill("#signin-email", "lou@outside.example")
        page.fill("#signin-password", password)
        page.click("button:has-text('Sign in')")
        if works:
            page.wait_for_url("**/c/mail/inbox")
        else:
            page.wait_for_selector(".problem")
            assert "/c/signin" in page.url

    # Deleted: in no folder any more.
    page.goto(center.platform.base + "/c/mail/archive")
    page.click("text=Folders")
    page.click("button:has-text('Delete')")
    page.wait_for_url("**/c/mail/inbox")
    page.goto(center.platform.base + "/c/mail/archive")
    assert not page.is_visible("text=Folders")


def test_preferences_a_new_password_and_two_step_sign_in(center, page, tmp_path):
    link, _ = send(center, tmp_path, "mia@outside.example", "Two-step", "<p>MARKER-TOTP</p>")
    first_contact(center, page, link, "mia@outside.example")
    page.click("text=Preferences")
    page.fill("#current", "not my password at all")
    page.fill("#password", NEW_PASSWORD)
    page.fill("#confirm", NEW_PASSWORD)
    page.click("text=Save the password")
    assert page.is_visible("text=The current password is wrong")
    page.fill("#current", PASSWORD)
    page.fill("#password", NEW_PASSWORD)
    page.fill("#confirm", NEW_PASSWORD)
    page.click("text=Save the password")
    assert page.is_visible("text=Your new password is saved.")

    # Setting it up asks for the current password (a borrowed session cannot).
    page.fill("#totp-current", PASSWORD)
    page.click("text=Set up two-step sign-in")
    assert page.is_visible("text=The current password is wrong")
    page.fill("#totp-current", NEW_PASSWORD)
    page.click("text=Set up two-step sign-in")
    secret = page.inner_text("#totp-secret").strip()
    screenshot(page, "preferences-totp")
    page.fill("#confirm-code", "000000" if totp(secret, time.time()) != "000000" else "111111")
    page.click("text=Turn two-step sign-in on")
    assert page.is_visible("text=That code is not right")
    page.fill("#totp-current", NEW_PASSWORD)
    page.click("text=Set up two-step sign-in")
    secret = page.inner_text("#totp-secret").strip()
    page.fill("#confirm-code", totp(secret, time.time()))
    page.click("text=Turn two-step sign-in on")
    assert page.is_visible("text=Two-step sign-in is on.")

    # Signing in now takes the password and the app's code.
    page.click("button:has-text('Sign out')")
    for code, works in (("", False), (totp(secret, time.time() + 30), True)):
        page.goto(center.platform.base + "/c/signin")
        page.fill("#signin-email", "mia@outside.example")
        page.fill("#signin-password", NEW_PASSWORD)
        page.fill("#signin-totp", code)
        page.click("button:has-text('Sign in')")
        if works:
            page.wait_for_url("**/c/mail/inbox")
        else:
            page.wait_for_selector(".problem")
            assert "authenticator" in page.inner_text(".problem")
    assert page.is_visible("text=Two-step")


def test_a_draft_keeps_a_reply_until_it_is_sent(center, page, tmp_path):
    link, _ = send(center, tmp_path, "ned@outside.example", "Offer", "<p>MARKER-OFFER</p>")
    first_contact(center, page, link, "ned@outside.example")
    page.click("text=Reply")
    page.fill("#subject", "Re: Offer (counter)")
    page.fill("#text", "MARKER-DRAFT half written")
    page.click("button:has-text('Save draft')")
    page.wait_for_url("**/c/mail/drafts")
    assert page.is_visible("text=Re: Offer (counter)")
    screenshot(page, "drafts")
    stored = [f for f in center.platform.dir.rglob("*") if f.is_file()]
    assert stored and not [f for f in stored if b"MARKER-DRAFT" in f.read_bytes()], \
        "a draft is stored sealed: its text is in no file of the platform (database, WAL, blobs)"
    page.click("text=Re: Offer (counter)")
    page.wait_for_url("**/c/reply/**draft=**")
    assert page.input_value("#text") == "MARKER-DRAFT half written"
    page.fill("#text", "MARKER-DRAFT now complete")
    page.click("text=Send securely")
    page.wait_for_url("**/c/mail/sent")
    assert page.is_visible("text=Re: Offer (counter)")
    page.goto(center.platform.base + "/c/mail/drafts")
    assert page.is_visible("text=No messages here."), "a sent draft leaves the drafts"

    # A new message to the sender, not a reply.
    page.goto(link.replace("/m/", "/c/read/"))
    page.click("text=Write to the sender")
    assert page.input_value("#subject") == "" and page.is_visible("text=New secure message")
    page.fill("#subject", "Following up")
    page.fill("#text", "MARKER-NEW a separate question")
    page.click("text=Send securely")
    page.wait_for_url("**/c/mail/sent")
    assert page.is_visible("text=Following up")


def test_the_inbox_marks_unread_messages_and_attachments_say_their_kind(center, browser, page, tmp_path):
    # The sender's organisation gave her a display name: the inbox shows it beside her address.
    center.platform.admin("member", "--tenant", "acme", "--email", ALICE, "name", "Alice Example")
    first, _ = send(center, tmp_path, "uma@outside.example", "Opened first", "<p>MARKER-FIRST</p>",
                    [("terms.pdf", b"%PDF-1.4 terms")])
    send(center, tmp_path, "uma@outside.example", "Still unread", "<p>MARKER-SECOND</p>")
    first_contact(center, page, first, "uma@outside.example")
    assert "(PDF document, " in page.inner_text(".attachments")
    page.goto(center.platform.base + "/c/mail/inbox")
    unread = page.inner_text("tr.unread")
    assert "Still unread" in unread and "New" in unread
    assert "Opened first" not in unread
    assert f"Alice Example <{ALICE}>" in unread
    screenshot(page, "inbox-unread")
    # Dates as people say them; the time zone is the reader's choice.
    assert page.inner_text("tr.unread td[data-label=Date]") in ("just now", "1 minute ago")
    page.goto(center.platform.base + "/c/preferences")
    page.select_option("#zone", "Europe/Berlin")
    page.click("button:has-text('Save the time zone')")
    assert "your time zone" in page.inner_text("[role=status]")
    assert page.input_value("#zone") == "Europe/Berlin"
    # On a phone the inbox is a list: each message's parts one under the other.
    cookies = page.context.cookies()
    phone = browser.new_context(ignore_https_errors=True, viewport={"width": 390, "height": 844},
                                is_mobile=True)
    phone.add_cookies(cookies)
    small = phone.new_page()
    try:
        small.goto(center.platform.base + "/c/mail/inbox")
        assert small.evaluate("getComputedStyle(document.querySelector('table.mailbox tr')).display") == "block"
        width, shown = small.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert width <= shown
        screenshot(small, "phone-inbox-list")
    finally:
        phone.close()
