"""How faithfully the Secure Message Center shows real-world HTML mail: the share of pixels
that differ between a mail as the sender's mail client shows it and as the Center shows it.

Each mail of the corpus in bench/fidelity/ (HTML as Thunderbird, Outlook and newsletter tools
write it; its `cid:` images drawn here with Pillow) is rendered twice in Debian's Chromium:

- **as the sender's mail client would**: the HTML as its own document (quirks mode when it
  has no doctype, as in a mail view), images resolved from the message's parts as `data:`
  URLs, the default UA stylesheet, in a viewport as wide as the Center's message area plus
  the UA's 8 px body margin on each side;
- **as the Center shows it**: the mail built into an .eml (multipart/alternative, the HTML
  with its images in multipart/related), sent with the real helper to the real platform,
  and opened by its recipient through the mailed link (first contact: address, mailed code,
  password); the message area's content box (`.body`, less its border and padding).

Fairness: both views have the same content width (the sender's viewport is derived from the
Center's message area), the same default font (the Center's, given to the sender view in a
cascade layer, so any font the mail sets wins) and the same device scale (1). Blank white
rows above and below the content are trimmed from both (margins collapse differently at the
top of a document than inside the Center's padded area), the smaller image is padded with
white, and a pixel differs when any channel differs by more than 16/255 (anti-aliasing
stays under it). Prints per mail the share of differing pixels and both sizes, the median
and the maximum against the targets (median <= 2 %, none above 10 %), and as a diagnosis the
share when the sender view is given the Center's line height too; writes the images
side by side (sender | Center | differing pixels in red; NAME-same-line-height.png for
the diagnosis) and the .eml to
target/test-artifacts/fidelity/.

    scripts/with-keyring target/pyenv/bin/python bench/fidelity.py [--quick] [--only NAME ...]

Uses the release binaries (SEALPOST_BIN_DIR, default target/release); `--quick` measures two
mails, to check the benchmark still runs. The figures are reported, never judged: the exit
status is non-zero only when something failed to run.
"""

import argparse
import io
import os
import re
import shutil
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("SEALPOST_BIN_DIR", str(ROOT / "target" / "release"))
sys.path.insert(0, str(ROOT / "tests"))

from PIL import Image, ImageChops, ImageDraw  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402
from reader import Center, compose, first_contact, launch_chromium, send_eml  # noqa: E402

CORPUS = ROOT / "bench" / "fidelity"
ARTIFACTS = ROOT / "target" / "test-artifacts" / "fidelity"
QUICK = ("tb-signature-logo", "data-table")
# The Center's page width (a laptop's reading pane is wider; the message area stops at 48rem).
CENTER_VIEWPORT = 800
# The default UA stylesheet's body margin, around the sender view's content.
UA_MARGIN = 8
# A pixel differs when a channel differs by more than this (of 255).
TOLERANCE = 16
TARGET_MEDIAN, TARGET_MAX = 2.0, 10.0

# The content box of the Center's message area, in page coordinates, and its font.
MESSAGE_AREA_JS = """() => {
  const area = document.querySelector('article .body');
  const r = area.getBoundingClientRect(), s = getComputedStyle(area), px = v => parseFloat(v) || 0;
  const left = r.left + px(s.borderLeftWidth) + px(s.paddingLeft);
  const top = r.top + px(s.borderTopWidth) + px(s.paddingTop);
  return {x: left + scrollX, y: top + scrollY,
          width: r.right - px(s.borderRightWidth) - px(s.paddingRight) - left,
          height: r.bottom - px(s.borderBottomWidth) - px(s.paddingBottom) - top,
          font: s.fontFamily,
          // as a factor of the font size, as the Center's stylesheet gives it (1.5)
          lineHeight: s.lineHeight === 'normal' ? 'normal' : String(px(s.lineHeight) / px(s.fontSize))};
}"""
IMAGES_LOADED_JS = "() => [...document.images].every(i => i.complete)"


# ---- the corpus: HTML files, and the images their cid: references name ----------------------

def gradient(width: int, height: int, start: tuple, end: tuple, vertical: bool = False) -> Image.Image:
    """A linear gradient from `start` to `end` (RGB)."""
    steps = height if vertical else width
    line = Image.new("RGB", (1, steps) if vertical else (steps, 1))
    for i in range(steps):
        t = i / max(steps - 1, 1)
        colour = tuple(round(a + (b - a) * t) for a, b in zip(start, end))
        line.putpixel((0, i) if vertical else (i, 0), colour)
    return line.resize((width, height))


def logo() -> Image.Image:
    """A company logo: a navy-to-teal band with a white disc and three bars."""
    img = gradient(160, 48, (31, 78, 121), (0, 128, 128))
    d = ImageDraw.Draw(img)
    d.ellipse((8, 8, 40, 40), fill="white")
    for i, w in enumerate((90, 70, 50)):
        d.rectangle((52, 10 + i * 11, 52 + w, 16 + i * 11), fill=(230, 240, 245))
    return img


def badge() -> Image.Image:
    """An Outlook signature's square badge."""
    img = Image.new("RGB", (96, 96), (31, 78, 121))
    d = ImageDraw.Draw(img)
    d.ellipse((14, 14, 82, 82), fill=(94, 155, 212))
    d.rectangle((40, 30, 56, 66), fill="white")
    return img


def screen() -> Image.Image:
    """A pasted screenshot of a dashboard: title bar, sidebar, a bar chart, an empty panel."""
    img = Image.new("RGB", (640, 360), (246, 247, 249))
    d = ImageDraw.Draw(img)
    d.rectangle((0, 0, 639, 28), fill=(60, 64, 72))
    for i, c in enumerate(((237, 106, 94), (245, 191, 79), (98, 197, 84))):
        d.ellipse((10 + i * 18, 9, 20 + i * 18, 19), fill=c)
    d.rectangle((0, 29, 130, 359), fill=(228, 231, 236))
    for i in range(6):
        d.rectangle((14, 48 + i * 30, 110, 60 + i * 30), fill=(190, 196, 206))
    d.rectangle((146, 44, 624, 190), fill="white", outline=(210, 214, 220))
    for i, h in enumerate((40, 75, 60, 110, 95, 120, 80, 130)):
        d.rectangle((170 + i * 54, 180 - h, 204 + i * 54, 180), fill=(66, 133, 244))
    d.rectangle((146, 204, 624, 346), fill="white", outline=(210, 214, 220))
    return img


def banner() -> Image.Image:
    """A newsletter's header picture: a winter sky over a field, a low sun."""
    img = gradient(600, 180, (180, 205, 230), (235, 240, 248), vertical=True)
    d = ImageDraw.Draw(img)
    d.ellipse((430, 40, 500, 110), fill=(255, 236, 179))
    d.rectangle((0, 130, 599, 179), fill=(120, 150, 110))
    for x in range(20, 600, 70):
        d.polygon(((x, 130), (x + 22, 70), (x + 44, 130)), fill=(46, 94, 60))
    return img


IMAGES = {
    "logo@fidelity": logo,
    "badge@fidelity": badge,
    "part1.screen@fidelity": screen,
    "banner@fidelity": banner,
    "tile1@fidelity": lambda: gradient(264, 140, (193, 225, 193), (46, 125, 50)),
    "tile2@fidelity": lambda: gradient(264, 140, (255, 224, 178), (141, 110, 99), vertical=True),
}


def png_bytes(img: Image.Image) -> bytes:
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


@dataclass
class Mail:
    """One mail of the corpus: its HTML and the PNGs its `cid:` references name."""
    name: str
    html: str
    images: dict[str, bytes]

    @staticmethod
    def load(path: Path) -> "Mail":
        html = path.read_text()
        cids = sorted(set(re.findall(r'cid:([^"\'\s>]+)', html)))
        return Mail(path.stem, html, {cid: png_bytes(IMAGES[cid]()) for cid in cids})

    @property
    def recipient(self) -> str:
        return f"{self.name}@outside.example"

    def eml(self) -> bytes:
        """The message a mail client hands the helper: text and HTML alternatives, the HTML's
        images beside it in multipart/related."""
        inline = [(cid, "png", data) for cid, data in self.images.items()]
        return bytes(compose(self.recipient, f"Fidelity: {self.name}", self.html, inline=inline))

    def html_with_data_urls(self) -> str:
        """The HTML with each `cid:` image resolved, as a mail client resolves it."""
        import base64
        html = self.html
        for cid, data in self.images.items():
            html = html.replace(f"cid:{cid}", "data:image/png;base64," + base64.b64encode(data).decode())
        return html


def corpus(quick: bool, only: list[str]) -> list[Mail]:
    names = only or (QUICK if quick else sorted(p.stem for p in CORPUS.glob("*.html")))
    return [Mail.load(CORPUS / f"{name}.html") for name in names]


# ---- the two renderings ---------------------------------------------------------------------

def screenshot(page) -> Image.Image:
    return Image.open(io.BytesIO(page.screenshot(full_page=True))).convert("RGB")


def render_in_center(browser, center: Center, mail: Mail, workdir: Path) -> tuple[Image.Image, dict]:
    """The message area's content box as the recipient sees it, and its box and font."""
    path = workdir / f"{mail.name}.eml"
    path.write_bytes(mail.eml())
    link, _ = send_eml(center, path)
    context = browser.new_context(ignore_https_errors=True, device_scale_factor=1,
                                  viewport={"width": CENTER_VIEWPORT, "height": 600})
    try:
        page = context.new_page()
        page.set_default_timeout(20_000)
        first_contact(center, page, link, mail.recipient)
        page.wait_for_function(IMAGES_LOADED_JS)
        page.evaluate("document.fonts.ready.then(() => true)")
        area = page.evaluate(MESSAGE_AREA_JS)
        shot = screenshot(page)
    finally:
        context.close()
    box = tuple(round(v) for v in (area["x"], area["y"], area["x"] + area["width"], area["y"] + area["height"]))
    return shot.crop(box), area


def render_as_sender(browser, mail: Mail, width: int, defaults: str) -> Image.Image:
    """The mail as its own document, `width` wide inside the UA's body margin, with
    `defaults` (declarations for the root: the reader's default font) in a cascade layer,
    which loses to every rule the mail has."""
    context = browser.new_context(device_scale_factor=1,
                                  viewport={"width": width + 2 * UA_MARGIN, "height": 600})
    try:
        page = context.new_page()
        page.set_content(mail.html_with_data_urls(), wait_until="load")
        page.add_style_tag(content=f"@layer reader-defaults {{ :root {{ {defaults} }} }}")
        page.wait_for_function(IMAGES_LOADED_JS)
        page.evaluate("document.fonts.ready.then(() => true)")
        shot = screenshot(page)
    finally:
        context.close()
    return shot.crop((UA_MARGIN, 0, UA_MARGIN + width, shot.height))


# ---- the comparison -------------------------------------------------------------------------

def trim_blank_rows(img: Image.Image) -> Image.Image:
    """Without the plain white rows above and below the content (full width kept)."""
    box = ImageChops.difference(img, Image.new("RGB", img.size, "white")).getbbox()
    return img.crop((0, box[1], img.width, box[3])) if box else img


def pad(img: Image.Image, width: int, height: int) -> Image.Image:
    """`img` at the top left of a white canvas of this size."""
    canvas = Image.new("RGB", (width, height), "white")
    canvas.paste(img, (0, 0))
    return canvas


def differing(a: Image.Image, b: Image.Image) -> Image.Image:
    """A mask (L, 255 where they differ) of the pixels where any channel differs by more
    than TOLERANCE."""
    red, green, blue = ImageChops.difference(a, b).split()
    largest = ImageChops.lighter(ImageChops.lighter(red, green), blue)
    return largest.point(lambda v: 255 if v > TOLERANCE else 0)


def side_by_side(sender: Image.Image, center: Image.Image, mask: Image.Image, title: str) -> Image.Image:
    """sender | Center | the sender's view faded with the differing pixels in red."""
    gap, head = 12, 22
    faded = sender.convert("L").point(lambda v: 190 + v * 65 // 255).convert("RGB")
    diff = Image.composite(Image.new("RGB", sender.size, (220, 0, 0)), faded, mask)
    out = Image.new("RGB", (3 * sender.width + 2 * gap, sender.height + head), (120, 120, 120))
    d = ImageDraw.Draw(out)
    for i, (img, label) in enumerate(((sender, "as the sender's client shows it"),
                                      (center, "as the Center shows it"), (diff, title))):
        x = i * (sender.width + gap)
        out.paste(img, (x, head))
        d.text((x + 4, 5), label, fill="white")
    return out


@dataclass
class Result:
    name: str
    share: float  # of the compared area, 0..1
    sender_size: tuple[int, int]
    center_size: tuple[int, int]
    # The same, with the Center's line height given to the sender view too (a diagnosis:
    # how much of the difference is the Center's line spacing alone).
    share_same_line_height: float = 0.0


def compare(sender: Image.Image, center: Image.Image) -> tuple[float, Image.Image, Image.Image, Image.Image]:
    """The share of differing pixels over the larger of the two trimmed images, both images
    padded to that size, and the mask of the differing pixels."""
    sender, center = trim_blank_rows(sender), trim_blank_rows(center)
    width, height = max(sender.width, center.width), max(sender.height, center.height)
    a, b = pad(sender, width, height), pad(center, width, height)
    mask = differing(a, b)
    return mask.histogram()[255] / (width * height), a, b, mask


def measure(browser, center: Center, mail: Mail, workdir: Path) -> Result:
    """Both views of one mail compared; writes the side-by-side picture."""
    in_center, area = render_in_center(browser, center, mail, workdir)
    width, font = round(area["width"]), f"font-family: {area['font']};"
    as_sender = render_as_sender(browser, mail, width, font)
    share, a, b, mask = compare(as_sender, in_center)
    side_by_side(a, b, mask, f"{mail.name}: {share:.1%} differ").save(ARTIFACTS / f"{mail.name}.png")
    spaced = render_as_sender(browser, mail, width, f"{font} line-height: {area['lineHeight']};")
    spaced_share, a, b, mask = compare(spaced, in_center)
    side_by_side(a, b, mask, f"{mail.name}, same line height: {spaced_share:.1%} differ").save(
        ARTIFACTS / f"{mail.name}-same-line-height.png")
    return Result(mail.name, share, trim_blank_rows(as_sender).size, trim_blank_rows(in_center).size,
                  spaced_share)


# ---- the run --------------------------------------------------------------------------------

def report(results: list[Result]):
    """A Markdown table per mail, then the median and maximum against the targets."""
    print("\n| mail | pixels differ | sender view (w×h) | Center (w×h) | differ, same line height |")
    print("|---|---|---|---|---|")
    for r in results:
        print(f"| {r.name} | {r.share * 100:.1f} % | {r.sender_size[0]}×{r.sender_size[1]} "
              f"| {r.center_size[0]}×{r.center_size[1]} | {r.share_same_line_height * 100:.1f} % |")
    shares = [r.share * 100 for r in results]
    median, worst = statistics.median(shares), max(shares)
    print(f"\nmedian {median:.1f} % (target <= {TARGET_MEDIAN:.0f} %: {'met' if median <= TARGET_MEDIAN else 'not met'}); "
          f"max {worst:.1f} % (target <= {TARGET_MAX:.0f} %: {'met' if worst <= TARGET_MAX else 'not met'})")
    print(f"side by side: {ARTIFACTS.relative_to(ROOT)}/")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"only {' and '.join(QUICK)}")
    parser.add_argument("--only", nargs="+", default=[], metavar="NAME", help="these mails of bench/fidelity/")
    args = parser.parse_args()
    mails = corpus(args.quick, args.only)
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    workdir = Path(tempfile.mkdtemp(prefix="sealpost-fidelity-"))
    center = Center("fidelity")
    results = []
    try:
        with sync_playwright() as p:
            browser = launch_chromium(p)
            for mail in mails:
                results.append(measure(browser, center, mail, workdir))
                print(f"{mail.name}: {results[-1].share:.1%} of pixels differ", flush=True)
            browser.close()
    finally:
        center.stop()
        for eml in workdir.glob("*.eml"):
            shutil.copy(eml, ARTIFACTS)
        shutil.rmtree(workdir, ignore_errors=True)
    report(results)


if __name__ == "__main__":
    main()
