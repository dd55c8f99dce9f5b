"""The Outlook task pane (outlook-addin/src/taskpane/) in Debian's Chromium, served by the real
platform binary at /outlook/taskpane.html under its own policy, with a scripted Office host
(outlook-addin/test/fake-office-host.js). What is checked is what a user sees: signing in (with a second factor, and
each way it can fail), the platform, the user, the transport and the platform key, signing
out (the token is revoked), this message's unlock code, a send's progress and failure, German,
and axe-core at a phone's and a desktop's width. Screenshots of each state go to
target/test-artifacts/outlook/."""

import time
import urllib.error

import pytest

from conftest import ALICE, DESKTOP, PASSWORD, PHONE
from harness import totp

DIRECT = "Direct: sealed in Outlook, sent to the platform"
DRAFT_ID = "AAMk-draft-1"  # outlook-addin/test/compose-item.js: the id a saved draft gets


def grouped(hex_digits: str) -> str:
    return " ".join(hex_digits[i:i + 4] for i in range(0, len(hex_digits), 4))


def api_status(platform, method: str, path: str, body=None, token=None) -> int:
    """The HTTP status the platform answers (urllib raises for 4xx; here that is the answer)."""
    try:
        platform.api(method, path, body, token)
        return 200
    except urllib.error.HTTPError as e:
        return e.code


def new_user(platform, email: str) -> str:
    platform.admin("create-user", "--tenant", "acme", "--email", email, stdin=PASSWORD)
    return email


def test_signing_in_shows_the_platform_the_user_the_transport_and_the_key(pane, platform):
    p = pane()
    page = p.open()
    assert page.is_visible("#sign-in-section") and not page.is_visible("#account-section")
    assert page.input_value("#email") == ALICE, "the mailbox's address is filled in"
    assert not page.is_visible("#totp"), "no code field until the platform asks for one"
    assert page.inner_text("#send-state") == "No message has been sent securely from this Outlook yet."
    p.screenshot("signin")

    p.sign_in()
    page.wait_for_selector("#account-section", state="visible")
    assert not page.is_visible("#sign-in-section")
    page.wait_for_function("document.querySelector('#platform-health').textContent === 'reachable'")
    assert page.inner_text("#platform-origin") == platform.base
    assert page.inner_text("#user") == ALICE
    assert page.inner_text("#transport") == DIRECT
    key_id = platform.api("GET", "/api/v1/keys/platform")["key_id"]
    page.wait_for_selector("#key-more", state="visible")
    assert page.inner_text("#key-short") == grouped(key_id[:16])
    assert not page.is_visible("#key-full")
    page.click("#key-more summary")
    assert page.inner_text("#key-full") == grouped(key_id)
    p.screenshot("signed-in")

    session = p.stored("sealpost.session")
    assert session["origin"] == platform.base and session["email"] == ALICE
    assert session["device"] == "Outlook on the web"
    me = platform.api("GET", "/api/v1/me", token=session["token"])
    assert me["email"] == ALICE and me["token_id"] == session["tokenId"], "the saved token is this sign-in's"
    devices = platform.api("GET", "/api/v1/tokens", token=session["token"])["tokens"]
    assert any(t["id"] == session["tokenId"] and t["label"] == "Outlook on the web" for t in devices), devices

    page.reload()
    page.wait_for_selector("#account-section", state="visible")
    assert not page.is_visible("#sign-in-section"), "the pane stays signed in"


def test_a_wrong_password_is_said_and_nothing_is_kept(pane):
    p = pane()
    page = p.open()
    p.sign_in(password="not the password")
    page.wait_for_selector("#sign-in-error:has-text('Wrong email address or password.')")
    assert page.is_visible("#sign-in-section") and not page.is_visible("#account-section")
    assert not page.is_visible("#totp")
    assert p.stored("sealpost.session") is None
    p.screenshot("signin-wrong-password")

    page.fill("#password", "")
    page.click("#sign-in-button")
    assert page.inner_text("#sign-in-error") == "Enter your email address and password."


def test_a_second_factor_is_asked_for_when_the_platform_wants_it(pane, platform):
    email = new_user(platform, "tara@acme.example")
    token = platform.sign_in(email)
    secret = platform.api("POST", "/api/v1/me/totp", token=token)["secret_base32"]
    # The previous step's code turns TOTP on; the sign-in below uses a later step's, since each
    # step is accepted once.
    platform.api("POST", "/api/v1/me/totp/confirm", {"code": totp(secret, time.time() - 30)}, token)

    p = pane()
    page = p.open()
    p.sign_in(email)
    page.wait_for_selector("#totp", state="visible")
    assert page.inner_text("#sign-in-error") == \
        "Enter the 6-digit code from your authenticator app, then sign in again."
    assert page.evaluate("document.activeElement.id") == "totp"
    assert p.stored("sealpost.session") is None
    p.screenshot("signin-second-factor")

    valid = {totp(secret, time.time() + d) for d in (-60, -30, 0, 30, 60)}
    page.fill("#totp", next(c for c in ("000000", "111111", "222222", "333333") if c not in valid))
    page.click("#sign-in-button")
    page.wait_for_selector("#sign-in-error:has-text('Wrong email address, password or code.')")
    assert page.is_visible("#totp"), "the code field stays for the next try"

    page.fill("#totp", totp(secret, time.time()))
    page.click("#sign-in-button")
    page.wait_for_selector("#account-section", state="visible")
    assert page.inner_text("#user") == email
    assert p.stored("sealpost.session")["email"] == email


def test_a_locked_account_says_when_to_try_again(pane, platform):
    email = new_user(platform, "lee@acme.example")
    answers = [api_status(platform, "POST", "/api/v1/auth/sign-in",
                          {"email": email, "password": "wrong", "device": "x"}) for _ in range(5)]
    assert answers[0] == 401 and answers[-1] == 429, f"five wrong passwords lock the account: {answers}"
    p = pane()
    page = p.open()
    p.sign_in(email)
    page.wait_for_selector("#sign-in-error:has-text('locked')")
    assert page.inner_text("#sign-in-error") == \
        "Too many failed sign-ins: this account is locked. Try again in 15 minutes."
    p.screenshot("signin-locked")


def test_an_unreachable_platform_is_said(pane, platform):
    p = pane()
    page = p.open()
    page.route("**/api/v1/auth/sign-in", lambda route: route.abort("connectionrefused"))
    p.sign_in()
    page.wait_for_selector("#sign-in-error:has-text('could not reach')")
    assert page.inner_text("#sign-in-error") == \
        f"Sealpost could not reach {platform.base}. Check your connection, then sign in again."
    p.screenshot("signin-unreachable")


def test_signing_out_revokes_the_token(pane, platform):
    token = platform.sign_in()
    p = pane()
    page = p.open(token)
    page.wait_for_selector("#account-section", state="visible")
    page.wait_for_function("document.querySelector('#user').textContent === 'alice@acme.example'")
    page.click("#sign-out")
    page.wait_for_selector("#sign-in-section", state="visible")
    assert page.inner_text("#sign-in-error") == "Signed out. This Outlook's sign-in was ended on the platform."
    assert not page.is_visible("#account-section") and not page.is_visible("#unlock-section")
    assert p.stored("sealpost.session") is None
    assert api_status(platform, "GET", "/api/v1/me", token=token) == 401, "the token is revoked"
    p.screenshot("signed-out")


def test_signing_out_without_the_platform_still_signs_out_here(pane, platform):
    token = platform.sign_in()
    p = pane()
    page = p.open(token)
    page.wait_for_selector("#account-section", state="visible")
    page.route("**/api/v1/tokens/current", lambda route: route.abort("connectionrefused"))
    page.click("#sign-out")
    page.wait_for_selector("#sign-in-section", state="visible")
    assert page.inner_text("#sign-in-error") == (
        f"Signed out in this Outlook, but {platform.base} did not confirm that the sign-in was ended "
        "there. If this computer is not yours, ask IT to revoke the device \"Outlook on the web\".")
    assert p.stored("sealpost.session") is None
    assert api_status(platform, "GET", "/api/v1/me", token=token) == 200, "as the message says"


def test_a_revoked_sign_in_asks_to_sign_in_again(pane, platform):
    token = platform.sign_in()
    platform.api("DELETE", "/api/v1/tokens/current", token=token)
    p = pane()
    page = p.open(token)
    page.wait_for_selector("#sign-in-section", state="visible")
    assert page.inner_text("#sign-in-error") == \
        "Your Sealpost sign-in has ended (it was revoked or has expired). Sign in again."
    assert p.stored("sealpost.session") is None


def test_the_unlock_code_is_kept_for_the_draft(pane, platform):
    p = pane()
    page = p.open(platform.sign_in())
    page.wait_for_selector("#unlock-state:not(:empty)")
    assert page.inner_text("#unlock-state") == "No unlock code is set for this message."
    assert page.inner_text("label[for=unlock-code]") == "Unlock code (6 to 64 characters)"

    page.fill("#unlock-code", "12345")
    page.click("#unlock-set")
    assert page.inner_text("#unlock-error") == "The unlock code must have 6 to 64 characters."
    assert page.get_attribute("#unlock-code", "aria-invalid") == "true"
    assert p.stored(f"sealpost.unlock.{DRAFT_ID}") is None
    assert "saveAsync" not in page.evaluate("__office.state.calls"), "a refused code does not even save the draft"
    p.screenshot("unlock-too-short")

    page.fill("#unlock-code", "  K7QM-4TZP-2XWA ")
    page.click("#unlock-set")
    page.wait_for_selector("#unlock-state:has-text('K7QM-4TZP-2XWA')")
    assert page.inner_text("#unlock-state") == \
        "Unlock code for this message: K7QM-4TZP-2XWA. It applies when you send this message."
    assert page.inner_text("#unlock-error") == ""
    assert page.evaluate("__office.state.calls")[-2:] == ["saveAsync", "getItemIdAsync"], "saved, then named"
    assert p.stored(f"sealpost.unlock.{DRAFT_ID}")["code"] == "K7QM-4TZP-2XWA"
    p.screenshot("unlock-set")

    page.reload()
    page.wait_for_selector("#unlock-state:has-text('K7QM-4TZP-2XWA')")
    assert "saveAsync" not in page.evaluate("__office.state.calls"), "opening the pane saves nothing"
    page.click("#unlock-remove")
    page.wait_for_selector("#unlock-state:has-text('removed')")
    assert p.stored(f"sealpost.unlock.{DRAFT_ID}") is None
    assert not page.is_visible("#unlock-remove")


def test_an_unlock_code_past_its_day_is_taken_off_the_disk_and_must_be_set_again(pane, platform):
    p = pane()
    page = p.open(platform.sign_in())
    day_ago = "Date.now() - 24 * 3600 * 1000 - 60000"
    # A draft saved a day ago with its code (fake-office-host.js keeps "saved" in sessionStorage).
    page.evaluate(f"k => localStorage.setItem(k, JSON.stringify({{code: 'K7QM-4TZP-2XWA', at: {day_ago}}}))",
                  f"sealpost.unlock.{DRAFT_ID}")
    page.evaluate("k => sessionStorage.setItem(k, '1')", f"fakeOffice.saved.{DRAFT_ID}")
    page.reload()
    page.wait_for_selector("#unlock-state:has-text('expired')")
    assert page.inner_text("#unlock-state").startswith("The unlock code set for this message has expired")
    stored = p.stored(f"sealpost.unlock.{DRAFT_ID}")
    assert stored["expired"] is True and "code" not in stored, "only a marker is left, no secret"
    assert page.is_visible("#unlock-remove")
    p.check_accessible("unlock-expired")
    page.fill("#unlock-code", "K7QM-4TZP-2XWA")
    page.click("#unlock-set")
    page.wait_for_selector("#unlock-state:has-text('K7QM-4TZP-2XWA')")
    assert p.stored(f"sealpost.unlock.{DRAFT_ID}")["code"] == "K7QM-4TZP-2XWA"


def test_an_outlook_that_cannot_name_the_draft_is_explained(pane, platform):
    p = pane(office={"mailbox": "1.7"})
    page = p.open(platform.sign_in())
    page.wait_for_selector("#unlock-state:not(:empty)")
    assert page.inner_text("#unlock-state").endswith("so no unlock code can be set here.")
    assert not page.is_visible("#unlock-form")
    p.screenshot("unlock-unsupported")

    p = pane(office={"fail": {"saveAsync": "The draft could not be saved."}})
    page = p.open(platform.sign_in())
    page.wait_for_selector("#unlock-state:not(:empty)")
    page.fill("#unlock-code", "K7QM-4TZP-2XWA")
    page.click("#unlock-set")
    page.wait_for_selector("#unlock-error:not(:empty)")
    assert page.inner_text("#unlock-error").startswith("Outlook did not let Sealpost save the draft")
    assert p.stored(f"sealpost.unlock.{DRAFT_ID}") is None


def test_a_send_shows_its_progress_and_a_failure_what_to_do(pane, platform):
    p = pane()
    page = p.open(platform.sign_in())
    p.set_status(phase="reading", transport="direct")
    page.wait_for_selector("#send-state:has-text('Reading the message')")
    assert not page.is_visible("#send-meter")

    p.set_status(phase="uploading", done=40, total=100, transport="direct")
    page.wait_for_selector("#send-percent:has-text('40%')")
    assert page.inner_text("#send-state") == "Uploading the encrypted message…"
    assert page.evaluate("document.querySelector('#send-progress').value") == 40
    assert page.is_visible("#send-progress")
    p.screenshot("send-uploading")

    # What send.js writes when the platform cannot be reached (i18n.js `platformUnreachable`).
    error = (f"Sealpost could not reach {platform.base}. The message was not sent; check your "
             "connection and press Send again.")
    p.set_status(phase="failed", error=error)
    page.wait_for_selector("#send-error", state="visible")
    assert page.inner_text("#send-error") == error
    assert page.inner_text("#send-state").startswith("The last message was not sent")
    assert page.inner_text("#send-advice") == \
        "The message is still open. Do what the message above says, then press Send again."
    assert not page.is_visible("#send-meter")
    p.screenshot("send-failed")

    p.set_status(phase="sent", messageId="8d5c0e4e-0000-4000-8000-000000000001", transport="direct")
    page.wait_for_selector("#send-state:has-text('sent securely')")
    assert not page.is_visible("#send-error") and not page.is_visible("#send-advice")


def test_the_pane_speaks_german_when_outlook_does(pane, platform):
    p = pane(office={"language": "de-DE", "platform": "PC"})
    page = p.open()
    assert page.get_attribute("html", "lang") == "de"
    assert page.inner_text("#sign-in-heading") == "Bei Sealpost anmelden"
    assert page.inner_text("label[for=password]") == "Passwort"
    p.sign_in(password="falsch")
    page.wait_for_selector("#sign-in-error:has-text('falsch')")
    assert page.inner_text("#sign-in-error") == "E-Mail-Adresse oder Passwort ist falsch."
    p.screenshot("de-signin-wrong-password")

    p.sign_in()
    page.wait_for_selector("#account-section", state="visible")
    assert p.stored("sealpost.session")["device"] == "Outlook für Windows"
    page.wait_for_function("document.querySelector('#platform-health').textContent === 'erreichbar'")
    assert page.inner_text("#transport") == "Direkt: in Outlook versiegelt, an die Plattform gesendet"
    assert page.inner_text("#unlock-heading") == "Freischaltcode dieser Nachricht"
    p.set_status(phase="uploading", done=2, total=5)
    page.wait_for_selector("#send-percent:has-text('40')")
    assert page.inner_text("#send-percent") == "40\u00a0%"
    assert page.inner_text("#send-state") == "Die verschlüsselte Nachricht wird hochgeladen …"
    p.screenshot("de-signed-in-uploading")


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["375", "1280"])
def test_each_state_passes_axe(pane, platform, viewport):
    width = viewport["width"]
    p = pane(viewport=viewport)
    page = p.open()
    p.check_accessible(f"axe-{width}-signin")
    p.sign_in(password="not the password")
    page.wait_for_selector("#sign-in-error:not(:empty)")
    p.check_accessible(f"axe-{width}-signin-error")

    p.sign_in()
    page.wait_for_selector("#key-more", state="visible")
    page.click("#key-more summary")
    page.fill("#unlock-code", "123")
    page.click("#unlock-set")
    p.set_status(phase="uploading", done=40, total=100)
    page.wait_for_selector("#send-percent:has-text('40%')")
    p.check_accessible(f"axe-{width}-signed-in-uploading")
    p.set_status(phase="failed", error="Sealpost could not send this message securely: a long reason "
                 "that has to wrap on a narrow screen. The message was not sent.")
    page.wait_for_selector("#send-error", state="visible")
    p.check_accessible(f"axe-{width}-send-failed")


def test_the_pane_fits_the_narrowest_phone(pane, platform):
    p = pane(viewport={"width": 320, "height": 640})
    page = p.open(platform.sign_in())
    page.wait_for_selector("#key-more", state="visible")
    page.click("#key-more summary")
    p.set_status(phase="failed", error="x" * 200)
    page.wait_for_selector("#send-error", state="visible")
    width, shown = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width <= shown, f"the pane scrolls sideways at 320 px ({width} > {shown})"
    p.screenshot("phone-320-signed-in")
