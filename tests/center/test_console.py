"""The admin console in Debian's Chromium, as an organisation's administrator uses it: the
first sign-in sets up two-step sign-in with an authenticator app (a code computed as the app
would), members are added (the set-password link arrives by mail and works in the browser),
disabled and enabled, and the audit log is filtered, verified and exported. Every page is
checked with axe-core at a desktop's and a phone's width, for sideways scrolling on the
phone, and saved as a screenshot (target/test-artifacts/center/console-*.png).

It runs in the Center's suite: the same platform, mail sink and browser."""

import json
import re
import time
import zipfile

import pytest

from conftest import screenshot
from harness import DOMAIN, PASSWORD, SIGNATURE_LOGO, TENANT, totp, wait_until
from test_accessibility import AXE, PHONE, RULES

ROOT_ADMIN = f"root@{DOMAIN}"
DESKTOP = {"viewport": {"width": 1280, "height": 900}}


def check(page, name: str, phone: bool):
    """No axe violation (and, on a phone, no sideways scrolling) on `page`; a screenshot."""
    assert AXE.exists(), f"{AXE} is missing: ./scripts/test installs axe-core (ensure_node_package)"
    page.add_script_tag(path=str(AXE))
    found = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", RULES)
    problems = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in found["violations"]]
    assert not problems, f"{name}: {problems}"
    if phone:
        width, shown = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert width <= shown, f"{name} scrolls sideways on a phone ({width} > {shown})"
    screenshot(page, f"console-{'phone' if phone else 'desktop'}-{name}")


@pytest.fixture(scope="module")
def admin_secret(center):
    """The administrator, created with the command line; their authenticator's key, set up
    in the first browser test."""
    center.platform.admin("create-user", "--tenant", TENANT, "--email", ROOT_ADMIN, "--admin",
                          stdin=PASSWORD)
    return {"used": set()}


def fresh_code(secret: str, used: set) -> str:
    """The authenticator's current code, waiting for the next one if this one was used (a
    code is accepted once)."""
    def unused():
        code = totp(secret, time.time())
        return code if code not in used else None
    code = wait_until("a new authenticator code", unused, 35, every=0.5)
    used.add(code)
    return code


def sign_in(page, base: str, secret: str | None, used: set):
    page.goto(base + "/admin")
    page.wait_for_url("**/admin/signin")
    page.fill("#email", ROOT_ADMIN)
    page.fill("#password", PASSWORD)
    if secret:
        page.fill("#code", fresh_code(secret, used))
    page.click("button:has-text('Sign in')")


def test_the_first_sign_in_sets_up_two_step_sign_in_then_members_are_managed(center, browser, admin_secret):
    base = center.platform.base
    context = browser.new_context(ignore_https_errors=True, bypass_csp=True, **DESKTOP)
    page = context.new_page()
    page.set_default_timeout(20_000)
    used = admin_secret["used"]
    try:
        page.goto(base + "/admin")
        page.wait_for_url("**/admin/signin")
        check(page, "signin", phone=False)
        sign_in(page, base, None, used)
        page.wait_for_url("**/admin/enrol")
        check(page, "enrol", phone=False)
        secret = page.inner_text("#totp-secret").strip()
        admin_secret["secret"] = secret
        page.fill("#enrol-code", "000000")
        page.click("button:has-text('Turn on and continue')")
        assert "That code is not right" in page.inner_text("[role=alert]")
        assert page.inner_text("#totp-secret").strip() == secret, "a typo keeps the key"
        page.fill("#enrol-code", fresh_code(secret, used))
        page.click("button:has-text('Turn on and continue')")
        page.wait_for_url(base + "/admin")
        assert page.inner_text("h1") == TENANT
        check(page, "overview", phone=False)

        page.click("nav >> text=Members")
        page.wait_for_url("**/admin/members")
        page.fill("#new-email", f"newbie@{DOMAIN}")
        page.select_option("#new-role", "sender")
        page.click("button:has-text('Add the member')")
        assert f"newbie@{DOMAIN} was added" in page.inner_text("[role=status]")
        check(page, "members", phone=False)

        # A CSV file with a broken line: every line's plan or problem, nothing imported.
        page.set_input_files("#import-file", files=[{"name": "members.csv", "mimeType": "text/csv",
            "buffer": f"email,role\nbulk.one@{DOMAIN},sender\nbulk.two@{DOMAIN},overlord\n".encode()}])
        page.click("button:has-text('Import')")
        assert "nothing was changed" in page.inner_text("[role=alert]")
        assert "overlord" in page.inner_text("table") and "add as Sender" in page.inner_text("table")
        check(page, "import-problem", phone=False)
        page.goto(base + "/admin/members?q=bulk")
        assert "No member" in page.inner_text("main")

        # The link arrives by mail; the new member chooses a password in the browser.
        mail = wait_until("the set-password mail", lambda: next(
            (r for r in list(center.sink.messages) if f"newbie@{DOMAIN}" in r.rcpt_tos), None), 30)
        link = re.search(r"https://\S+/admin/password/\S+", mail.message.get_body(("plain",)).get_content()).group(0)
        newbie = context.new_page()
        newbie.goto(link)
        check(newbie, "choose-password", phone=False)
        newbie.fill("#password", "newbie's own long password")
        newbie.fill("#confirm", "newbie's own long password")
        newbie.click("button:has-text('Save the password')")
        assert "Your password is set" in newbie.inner_text("h1")
        center.platform.sign_in(f"newbie@{DOMAIN}", "newbie's own long password")
        newbie.close()

        page.goto(base + "/admin/members")
        page.click(f"a:has-text('newbie@{DOMAIN}')")
        check(page, "member", phone=False)
        page.click("button:has-text('Disable')")
        assert "Disabled" in page.inner_text("[role=status]")
        with pytest.raises(Exception, match="401"):
            center.platform.sign_in(f"newbie@{DOMAIN}", "newbie's own long password")
        page.click("button:has-text('Enable')")
        assert "Enabled again" in page.inner_text("[role=status]")
        center.platform.sign_in(f"newbie@{DOMAIN}", "newbie's own long password")
        check(page, "member-devices", phone=False)

        # The audit log: filtered, verified, exported.
        page.click("nav >> text=Audit log")
        page.fill("#action", "member.")
        page.click("button:has-text('Filter')")
        rows = page.inner_text("table")
        for action in ("member.added", "member.disabled", "member.enabled", "member.password_set"):
            assert action in rows, f"{action} is not in the log"
        check(page, "audit", phone=False)
        with page.expect_download() as download:
            page.click("text=Export as JSON Lines")
        lines = [json.loads(line) for line in open(download.value.path()).read().splitlines()]
        assert lines and all(e["action"].startswith("member.") for e in lines)
        page.click("button:has-text('Verify the chain')")
        assert "The audit log is intact" in page.inner_text("[role=status]")

        # Branding: saved, previewed, then the test mail below goes out in its name.
        page.click("nav >> text=Branding")
        page.fill("#brand-name", "Acme Corp")
        page.fill("#brand-colour", "#7a1f1f")
        page.set_input_files("#brand-logo", files=[{"name": "logo.png", "mimeType": "image/png",
                                                    "buffer": SIGNATURE_LOGO}])
        page.click("button:has-text('Save the branding')")
        assert "Saved" in page.inner_text("[role=status]")
        assert page.evaluate("document.querySelector('.preview-header img').naturalWidth") == 24
        assert "Sent by Acme Corp with Sealpost" in page.inner_text("pre.stub")
        check(page, "branding", phone=False)

        # Mail: a test mail through the platform's relay (the sink) shows in the queue.
        page.click("nav >> text=Mail")
        page.fill("#test-to", f"it-desk@{DOMAIN}")
        page.click("button:has-text('Send a test mail')")
        assert "A test mail is queued" in page.inner_text("[role=status]")
        test_mail = wait_until("the test mail", lambda: next(
            (r for r in list(center.sink.messages) if f"it-desk@{DOMAIN}" in r.rcpt_tos), None), 30)
        assert test_mail.message["From"].addresses[0].display_name == "Sealpost for Acme Corp"
        page.goto(base + "/admin/mail?state=sent")
        assert f"it-desk@{DOMAIN}" in page.inner_text("table")
        check(page, "mail", phone=False)

        # The policy: a DLP pattern tried on sample text, a broken one refused, then saved.
        page.click("nav >> text=Policy")
        page.fill("#dlp_patterns", "\\bIBAN\\s*DE\\d{2}\n(unclosed")
        page.fill("#sample", "Please pay to IBAN DE89 3704 0044 0532 0130 00")
        page.click("button:has-text('Try the patterns')")
        tried = page.inner_text("ul.tried")
        assert "matches" in tried and "is not valid: unclosed group" in tried, tried
        check(page, "policy-tried", phone=False)
        page.click("button:has-text('Save the policy')")
        assert "is not valid" in page.inner_text("[role=alert]")
        page.fill("#dlp_patterns", "\\bIBAN\\s*DE\\d{2}")
        page.click("button:has-text('Save the policy')")
        assert "Saved" in page.inner_text("[role=status]")
        policy = json.loads(center.platform.admin("show-policy", "--tenant", TENANT))
        assert policy["dlp_patterns"] == [r"\bIBAN\s*DE\d{2}"]

        # Keys and reports: the pages an administrator reads.
        page.click("nav >> text=Keys")
        check(page, "keys", phone=False)
        page.click("nav >> text=Reports")
        assert page.locator("section.chart svg").count() == 5
        check(page, "reports", phone=False)

        page.click("button:has-text('Sign out')")
        page.wait_for_url("**/admin/signin")
        page.goto(base + "/admin/members")
        page.wait_for_url("**/admin/signin")
    finally:
        context.close()


def test_the_console_fits_a_phone(center, browser, admin_secret):
    assert "secret" in admin_secret, "needs the sign-in test's administrator"
    base = center.platform.base
    # The administrator also runs the platform: the organisations page.
    assert "now one of the platform's operators" in center.platform.admin("operator", "--email", ROOT_ADMIN)
    context = browser.new_context(ignore_https_errors=True, bypass_csp=True, **PHONE)
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        sign_in(page, base, admin_secret["secret"], admin_secret["used"])
        page.wait_for_url(base + "/admin")
        check(page, "overview", phone=True)
        for path, name in (("/admin/audit", "audit"), ("/admin/policy", "policy"), ("/admin/mail", "mail"),
                           ("/admin/keys", "keys"), ("/admin/reports", "reports"),
                           ("/admin/messages", "messages"), ("/admin/operator", "organisations"),
                           ("/admin/members", "members")):
            page.goto(base + path)
            check(page, name, phone=True)
        page.click(f"a:has-text('newbie@{DOMAIN}')")
        check(page, "member", phone=True)
    finally:
        context.close()


def test_a_compliance_officer_opens_a_message_only_with_a_reason(center, browser, admin_secret, tmp_path):
    """The officer is made with the command line (`admin member … role compliance`, the
    console's own operation), sets up two-step sign-in, finds alice's message and opens it
    with a reason; the administrator sees the opening in the audit log."""
    from conftest import send
    base = center.platform.base
    officer = f"officer@{DOMAIN}"
    center.platform.admin("create-user", "--tenant", TENANT, "--email", officer, stdin=PASSWORD)
    out = center.platform.admin("member", "--tenant", TENANT, "--email", officer, "role", "compliance")
    assert "is now compliance" in out
    link, message_id = send(center, tmp_path, "partner@outside.example", "Quarterly audit file",
                            "<p>The figures: <b>MARKER-COMPLIANCE</b></p>", [("audit.csv", b"a,b\n1,2\n")])

    # The recipient's first page carries the organisation's branding (set in the first test).
    context = browser.new_context(ignore_https_errors=True, bypass_csp=True, **DESKTOP)
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        page.goto(link)
        page.wait_for_url("**/c/open/**")
        assert page.inner_text("header .brand") == "Acme Corp"
        assert page.evaluate("getComputedStyle(document.querySelector('body > header')).backgroundColor") == "rgb(122, 31, 31)"
        assert page.evaluate("document.querySelector('header img.logo').naturalWidth") == 24
        check(page, "center-branded", phone=False)
    finally:
        context.close()

    context = browser.new_context(ignore_https_errors=True, bypass_csp=True, **DESKTOP)
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        page.goto(base + "/admin/signin")
        page.fill("#email", officer)
        page.fill("#password", PASSWORD)
        page.click("button:has-text('Sign in')")
        page.wait_for_url("**/admin/enrol")
        secret = page.inner_text("#totp-secret").strip()
        page.fill("#enrol-code", fresh_code(secret, set()))
        page.click("button:has-text('Turn on and continue')")
        page.wait_for_url(base + "/admin")
        assert page.locator("nav >> text=Members").count() == 0, "officers do not manage members"

        page.click("nav >> text=Messages")
        page.fill("#subject", "quarterly")
        page.click("button:has-text('Search')")
        check(page, "messages", phone=False)
        page.click("text=Quarterly audit file")
        assert "partner@outside.example" in page.inner_text("table")
        check(page, "message-slip", phone=False)
        page.fill("#reason", "Annual audit, ticket AUD-2026-4")
        page.click("button:has-text('Open the message')")
        assert "MARKER-COMPLIANCE" in page.inner_text(".body")
        assert "audit.csv" in page.inner_text(".attachments")
        check(page, "compliance-review", phone=False)

        # The whole message as a ZIP, what `admin export-message` writes, with its own reason.
        page.goto(f"{base}/admin/messages/{message_id}")
        page.fill("#reason", "Copy for the auditors, ticket AUD-2026-5")
        with page.expect_download() as download:
            page.click("button:has-text('Download it all (ZIP)')")
        assert download.value.suggested_filename == f"message-{message_id}.zip"
        with zipfile.ZipFile(download.value.path()) as z:
            names = z.namelist()
            assert names[0] == "manifest.json" and names[-1] == "attachments/1-audit.csv", names
            assert "body.html" in names, names
            assert z.read("attachments/1-audit.csv") == b"a,b\n1,2\n"
            assert b"MARKER-COMPLIANCE" in z.read("body.html")
    finally:
        context.close()

    admin = browser.new_context(ignore_https_errors=True, **DESKTOP)
    page = admin.new_page()
    try:
        sign_in(page, base, admin_secret["secret"], admin_secret["used"])
        page.wait_for_url(base + "/admin")
        page.goto(base + "/admin/audit?action=compliance.")
        rows = page.inner_text("table")
        assert officer in rows and message_id in rows and "AUD-2026-4" in rows, rows
        assert "compliance.message_exported" in rows and "AUD-2026-5" in rows, rows
    finally:
        admin.close()
