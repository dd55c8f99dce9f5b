"""The Message Center in the reader's language, in real Chromium: a browser set to German gets
German pages (`<html lang="de">`, German dates and kinds of file) from the first page on, the
switch on every page turns them English without any script and keeps them so, and the German
pages pass axe-core (WCAG 2.0/2.1 A and AA) at a phone's and at a desktop's width.
Screenshots as artifacts (`de-*`)."""

from conftest import PASSWORD, code_for, screenshot, send
from test_accessibility import PHONE, check

DESKTOP = {"viewport": {"width": 1280, "height": 900}}
GERMAN = {"locale": "de-DE", "extra_http_headers": {"Accept-Language": "de-DE,de;q=0.9"}}


def german_first_contact(center, page, link: str, to: str):
    """From the link to the message, through the German pages: address, mailed code, password."""
    page.goto(link)
    page.wait_for_url("**/c/open/**")
    page.fill("#email", to)
    page.click("button:has-text('Code zusenden')")
    page.wait_for_selector("#code")
    page.fill("#code", code_for(center, to, 1))
    page.click("text=Nachricht öffnen")
    page.wait_for_url("**/c/password/**")
    page.fill("#password", PASSWORD)
    page.fill("#confirm", PASSWORD)
    page.click("text=Passwort speichern und Nachricht lesen")
    page.wait_for_url("**/c/read/**")


def axe(page, name: str):
    """A German page: no axe violation and no sideways scrolling; saved as NAME.png."""
    assert page.get_attribute("html", "lang") == "de", f"{name} is not German"
    check(page, name, shot=name)


def test_a_german_browser_reads_german_and_switches_to_english(center, browser, tmp_path):
    to = "greta@outside.example"
    link, _ = send(center, tmp_path, to, "Quartalszahlen", "<p>MARKER-DE</p>",
                   [("Zahlen.pdf", b"%PDF-1.4 de")])
    context = browser.new_context(ignore_https_errors=True, **GERMAN)
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        page.goto(link)
        page.wait_for_url("**/c/open/**")
        assert page.get_attribute("html", "lang") == "de"
        assert page.inner_text("h1") == "Sie haben eine sichere Nachricht erhalten"
        screenshot(page, "de-identify")
        german_first_contact(center, page, link, to)
        assert page.is_visible("text=MARKER-DE")
        assert "Antworten" in page.inner_text(".actions")
        assert "PDF-Dokument" in page.inner_text(".attachments")
        meta = page.inner_text("dl.meta")
        assert "Datum" in meta and ("gerade eben" in meta or "vor " in meta or "heute" in meta), meta
        screenshot(page, "de-read")
        page.goto(center.platform.base + "/c/mail/inbox")
        assert page.inner_text("h1") == "Posteingang"
        assert "Quartalszahlen" in page.inner_text("table.mailbox")

        # The switch: a plain link (no script runs in the Center), back to the same page.
        page.click("nav.languages >> text=English")
        page.wait_for_url("**/c/mail/inbox")
        assert page.get_attribute("html", "lang") == "en"
        assert page.inner_text("h1") == "Inbox"
        screenshot(page, "en-after-switch")
        # The choice holds on every page, whatever the browser's languages say.
        page.goto(link.replace("/m/", "/c/read/"))
        assert page.get_attribute("html", "lang") == "en"
        assert "Reply" in page.inner_text(".actions")
        assert "PDF document" in page.inner_text(".attachments")
        # And back to German.
        page.click("nav.languages >> text=Deutsch")
        page.wait_for_url("**/c/read/**")
        assert page.get_attribute("html", "lang") == "de"
    finally:
        context.close()


def test_german_pages_pass_axe_on_a_phone_and_a_desktop(center, browser, tmp_path):
    to = "hanna@outside.example"
    link, _ = send(center, tmp_path, to, "Ein langer Betreff, der auf einem schmalen Bildschirm umbrechen muss",
                   "<p>MARKER-AXE</p>", [("Vertragsentwurf mit einem recht langen Namen.pdf", b"%PDF-1.4 axe")])
    for name, size in (("phone", PHONE), ("desktop", DESKTOP)):
        context = browser.new_context(ignore_https_errors=True, bypass_csp=True, **GERMAN, **size)
        page = context.new_page()
        page.set_default_timeout(20_000)
        try:
            if name == "phone":
                page.goto(link)
                page.wait_for_url("**/c/open/**")
                axe(page, f"de-{name}-identify")
                german_first_contact(center, page, link, to)
            else:
                page.goto(center.platform.base + "/c/signin")
                axe(page, f"de-{name}-signin")
                page.fill("#signin-email", to)
                page.fill("#signin-password", PASSWORD)
                page.click("button:has-text('Anmelden')")
                page.wait_for_url("**/c/mail/inbox")
                page.goto(link.replace("/m/", "/c/read/"))
            axe(page, f"de-{name}-read")
            for path, page_name in (("/c/mail/inbox", "inbox"), ("/c/preferences", "preferences"),
                                    ("/c/reset", "reset")):
                page.goto(center.platform.base + path)
                axe(page, f"de-{name}-{page_name}")
            page.goto(link.replace("/m/", "/c/reply/"))
            axe(page, f"de-{name}-reply")
        finally:
            context.close()
