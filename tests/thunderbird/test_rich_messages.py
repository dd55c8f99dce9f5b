"""What a sender writes in Thunderbird is what the recipient reads in the Message Center: a
picture pasted into the message, a styled table and the identity's signature logo, and a
picture quoted from a received mail, secured by real Thunderbird and opened by the recipient
in Debian's Chromium."""

import base64
import email.message
import email.policy
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/reader.py

from harness import ALICE, SIGNATURE_LOGO, png, wait_until  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402
from reader import first_contact, launch_chromium  # noqa: E402
from test_send import compose_and_send, secured_stub, wait_for_button  # noqa: E402

READER = "erin@outside.example"


def stripes(x, y):
    """The pasted picture: 90×40 in vertical stripes of three colours and a dark band."""
    if y >= 30:
        return (20, 20, 20)
    return [(230, 80, 10), (10, 120, 220), (250, 250, 250)][(x // 10) % 3]


PASTED = png(90, 40, stripes)
# The logo's quarters, as harness.SIGNATURE_LOGO draws them.
LOGO_QUARTERS = [(200, 30, 30), (30, 160, 60), (30, 60, 200), (240, 200, 0)]

# Written above the signature as a user would: a pasted picture and a styled table.
BODY = f"""\
<p>MARKER-RICH Here is the screenshot: <img src="data:image/png;base64,{base64.b64encode(PASTED).decode()}" alt="pasted screenshot"></p>
<table style="border: 3px solid rgb(0, 128, 0); border-collapse: collapse; background-color: rgb(255, 250, 205)">
  <tr><td style="color: rgb(178, 34, 34); font-size: 20px; font-weight: bold; padding: 6px 12px; text-align: right; width: 260px">MARKER-CELL-ONE</td>
      <td style="font-family: monospace; font-style: italic; border-left: 1px dashed rgb(0, 0, 255); padding: 4px">MARKER-CELL-TWO</td></tr>
</table>
<p style="text-align: center; color: rgb(0, 0, 128); margin-left: 40px">MARKER-CENTRED</p>
"""

# The marked elements, and the computed styles (those the sender set) that must match
# between the sender's rendering and the Center's.
BORDER = ["borderTopWidth", "borderTopStyle", "borderTopColor"]
PADDING = ["paddingTop", "paddingRight", "paddingBottom", "paddingLeft"]
MARKED = {
    "cell one": ("//td[contains(., 'MARKER-CELL-ONE')]",
                 ["color", "fontSize", "fontWeight", "textAlign", "width", *PADDING]),
    "cell two": ("//td[contains(., 'MARKER-CELL-TWO')]",
                 ["fontFamily", "fontStyle", "borderLeftWidth", "borderLeftStyle", "borderLeftColor",
                  *PADDING]),
    "table": ("//table[.//td[contains(., 'MARKER-CELL-ONE')]]",
              ["backgroundColor", "borderCollapse", *BORDER]),
    "centred line": ("//p[contains(., 'MARKER-CENTRED')]", ["color", "textAlign", "marginLeft"]),
}

COMPUTED = """([xpath, styles]) => {
  const el = document.evaluate(xpath, document, null, XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue;
  if (!el) return null;
  const s = getComputedStyle(el);
  return Object.fromEntries(styles.map(k => [k, s[k]]));
}"""

# The decoded pixels of each image in the message area (RGB), drawn onto a canvas.
PIXELS = """() => [...document.querySelectorAll('article .body img')].map(img => {
  const c = document.createElement('canvas');
  c.width = img.naturalWidth; c.height = img.naturalHeight;
  const g = c.getContext('2d');
  g.drawImage(img, 0, 0);
  const d = c.width ? g.getImageData(0, 0, c.width, c.height).data : [];
  const rgb = [];
  for (let i = 0; i < d.length; i += 4) rgb.push(d[i], d[i + 1], d[i + 2]);
  return { alt: img.alt, width: c.width, height: c.height, rgb, src: img.getAttribute('src') };
})"""


def expected_rgb(width, height, pixel):
    return [v for y in range(height) for x in range(width) for v in pixel(x, y)]


def styles_of(page, scope_xpath=""):
    return {name: page.evaluate(COMPUTED, [scope_xpath + xpath, styles])
            for name, (xpath, styles) in MARKED.items()}


def test_a_pasted_picture_a_styled_table_and_the_signature_logo_reach_the_reader(world, tmp_path):
    before = world.sink.count()
    _, _, result = compose_and_send(
        world, to=[READER], subject="Pictures and a table", above_signature=BODY)
    assert result["sent"], result
    got, message_id = secured_stub(world, before + 1, [b"MARKER-RICH", b"MARKER-CELL-ONE"])
    assert not [p for p in got.message.walk() if p.get_content_maintype() == "image"], \
        "no image leaves in the stub"

    # The platform's copy: the HTML refers to its images by cid:, each a part of the envelope.
    export = world.platform.export(message_id, tmp_path)
    html = (export / "body.html").read_text()
    assert "data:image" not in html and html.count('src="cid:') == 2, html[:2000]
    parts = {p.name.split("-", 1)[1]: p.read_bytes() for p in (export / "attachments").iterdir()}
    assert parts.get("signature-logo.png") == SIGNATURE_LOGO, sorted(parts)
    assert PASTED in parts.values(), sorted(parts)

    stub = got.message.get_body(("plain",)).get_content()
    link = next(w.strip("<>") for w in stub.split() if "/m/" in w)
    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            # The sender's view: the composed HTML as its own document.
            sender = browser.new_page()
            sender.set_content(BODY)
            wanted = styles_of(sender)
            assert all(wanted.values()), wanted

            # The platform's certificate is its own, self-signed: trusted for this context only.
            page = browser.new_context(ignore_https_errors=True).new_page()
            page.set_default_timeout(20_000)
            first_contact(world, page, link, READER, codes_before=1)
            page.wait_for_function("[...document.querySelectorAll('article .body img')]"
                                   ".every(i => i.complete && i.naturalWidth > 0)")
            images = {i["alt"]: i for i in page.evaluate(PIXELS)}
            assert set(images) == {"pasted screenshot", "Acme logo"}, images.keys()
            assert all(i["src"].startswith("/c/read/") for i in images.values()), \
                "images come from the Center, nothing remote or embedded"
            shot = images["pasted screenshot"]
            assert (shot["width"], shot["height"]) == (90, 40)
            assert shot["rgb"] == expected_rgb(90, 40, stripes), "the pasted picture's pixels"
            logo = images["Acme logo"]
            assert (logo["width"], logo["height"]) == (24, 12)
            assert logo["rgb"] == expected_rgb(
                24, 12, lambda x, y: LOGO_QUARTERS[(x >= 12) + 2 * (y >= 6)]), "the logo's pixels"

            seen = styles_of(page, "//article//div[contains(@class, 'body')]")
            assert seen == wanted, "computed styles as the sender wrote them"
            listed = page.locator("ul.attachments li").all_inner_texts()
            assert not listed, f"inline images are not listed again as attachments: {listed}"
        finally:
            browser.close()


# A mail received with a picture of its own (multipart/related, the HTML refers to it by cid:).
QUOTED_SENDER = "frank@outside.example"


def checks(x, y):
    """The received picture: 48×32 in 8-pixel checks of two colours."""
    return (240, 120, 0) if (x // 8 + y // 8) % 2 else (0, 90, 160)


RECEIVED_PICTURE = png(48, 32, checks)


def received_mail() -> bytes:
    mail = email.message.EmailMessage()
    mail["From"] = f"Frank Outside <{QUOTED_SENDER}>"
    mail["To"] = ALICE
    mail["Subject"] = "The chart"
    mail["Date"] = "Mon, 01 Jun 2026 10:00:00 +0000"
    mail["Message-ID"] = "<chart-1@outside.example>"
    mail.set_content("MARKER-QUOTED the chart is inline")
    mail.add_alternative('<html><body><p>MARKER-QUOTED the chart: '
                         '<img src="cid:chart-1@outside.example" alt="the chart"></p></body></html>',
                         subtype="html")
    mail.get_payload()[1].add_related(RECEIVED_PICTURE, "image", "png",
                                      cid="<chart-1@outside.example>", filename="chart.png")
    return mail.as_bytes(policy=email.policy.SMTP)


def test_a_reply_quoting_a_received_inline_image_carries_it_to_the_reader(world, tmp_path):
    # Thunderbird quotes the received HTML with the picture as a URL of the original's part
    # (mailbox:…?part=1.2.2&filename=chart.png) and, as the compose window loads it, turns it
    # into a data: URL: by the time the user can send, the body embeds it like a pasted one.
    world.control.files["chart.eml"] = received_mail()
    opened = world.control.call("import_and_compose", eml="chart.eml", how="replyToSender")
    tab = opened["tab"]
    assert opened["relatedMessageId"] == opened["message"]
    body = wait_until(
        "Thunderbird to embed the quoted picture",
        lambda: (b := world.control.call("body", tab=tab)["body"])
        and "mailbox:" not in b and "data:image/png;filename=chart.png;" in b and b, 30)
    assert "MARKER-QUOTED" in body

    before = world.sink.count()
    button = wait_for_button(world.control, tab, False)
    assert button["label"] == "Secure: required", button
    result = world.control.call("send", timeout=300, tab=tab)
    assert result["sent"], result
    got, message_id = secured_stub(world, before + 1, [b"MARKER-QUOTED"])
    assert not [p for p in got.message.walk() if p.get_content_maintype() == "image"], \
        "no image leaves in the stub"

    export = world.platform.export(message_id, tmp_path)
    html = (export / "body.html").read_text()
    assert "data:image" not in html and "mailbox:" not in html, html[:2000]
    assert html.count('src="cid:') == 2, "the quoted picture and the signature logo"
    parts = {p.name.split("-", 1)[1]: p.read_bytes() for p in (export / "attachments").iterdir()}
    assert parts.get("chart.png") == RECEIVED_PICTURE, sorted(parts)

    stub = got.message.get_body(("plain",)).get_content()
    link = next(w.strip("<>") for w in stub.split() if "/m/" in w)
    with sync_playwright() as p:
        browser = launch_chromium(p)
        try:
            page = browser.new_context(ignore_https_errors=True).new_page()
            page.set_default_timeout(20_000)
            first_contact(world, page, link, QUOTED_SENDER, codes_before=1)  # the stub came first
            page.wait_for_function("[...document.querySelectorAll('article .body img')]"
                                   ".every(i => i.complete && i.naturalWidth > 0)")
            images = {i["alt"]: i for i in page.evaluate(PIXELS)}
            assert set(images) == {"the chart", "Acme logo"}, images.keys()
            chart = images["the chart"]
            assert chart["src"].startswith("/c/read/"), "served by the Center"
            assert (chart["width"], chart["height"]) == (48, 32)
            assert chart["rgb"] == expected_rgb(48, 32, checks), "the received picture's pixels"
            listed = page.locator("ul.attachments li").all_inner_texts()
            assert not listed, f"inline images are not listed again as attachments: {listed}"
        finally:
            browser.close()
