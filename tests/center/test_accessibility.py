"""The Message Center on a phone: each main page checked in real Chromium with axe-core
(the WCAG 2.0/2.1 A and AA rules: labels, contrast, names, structure) and for sideways
scrolling at a phone's width; screenshots as artifacts. axe is injected for the check only
(this browser context bypasses the page's CSP, which otherwise lets no script run)."""

from conftest import ROOT, first_contact, screenshot, send

AXE = ROOT / "target" / "node-tools" / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2,
         "is_mobile": True, "has_touch": True}
RULES = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def check(page, name: str, shot: str | None = None):
    """No axe violation and no sideways scrolling on `page`, saved as `shot` (phone-NAME by
    default).png."""
    assert AXE.exists(), f"{AXE} is missing: ./scripts/test installs axe-core (ensure_node_package)"
    page.add_script_tag(path=str(AXE))
    found = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", RULES)
    problems = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in found["violations"]]
    assert not problems, f"{name}: {problems}"
    width, shown = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width <= shown, f"{name} scrolls sideways on a phone ({width} > {shown})"
    screenshot(page, shot or f"phone-{name}")


def test_the_main_pages_fit_a_phone_and_pass_axe(center, browser, tmp_path):
    context = browser.new_context(ignore_https_errors=True, bypass_csp=True, **PHONE)
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        link, _ = send(center, tmp_path, "ola@outside.example", "A long subject line that has to wrap on a narrow phone screen",
                       "<p>MARKER-PHONE</p><table><tr><td>a wide table cell with quite some text</td></tr></table>",
                       [("a rather long attachment name for a small screen.pdf", b"%PDF-1.4 phone"),
                        # 255 characters, and one whose bidi override would show "invoiceexe.pdf".
                        ("n" * 251 + ".pdf", b"%PDF-1.4 long"), ("invoice\u202efdp.exe", b"MZ")])
        page.goto(link)
        page.wait_for_url("**/c/open/**")
        check(page, "identify")
        first_contact(center, page, link, "ola@outside.example")
        check(page, "read")
        names = page.inner_text(".attachments")
        assert "invoicefdp.exe" in names and "\u202e" not in names, "no reordering control is shown"
        assert "…" in names and "nnnn.pdf" in names, "a long name is shortened, its end kept"
        for path, name in (("/c/mail/inbox", "inbox"), ("/c/preferences", "preferences"),
                           ("/c/signin", "signin"), ("/c/reset", "reset")):
            page.goto(center.platform.base + path)
            check(page, name)
        page.goto(link.replace("/m/", "/c/reply/"))
        check(page, "reply")
        # The upload's progress, as the script shows it for large attachments.
        page.evaluate("""() => {
            document.getElementById('upload').hidden = false;
            document.getElementById('upload-status').textContent = 'Uploading: 412.0 MB of 1.1 GB (38%)';
            document.getElementById('upload-progress').value = 380;
            document.getElementById('upload-resume').hidden = false;
        }""")
        check(page, "reply-uploading")
    finally:
        context.close()
