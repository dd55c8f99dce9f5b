"""Draws the add-in's ribbon and catalogue icons (a sealed envelope) at the sizes the manifest
names. Run once when the design changes; the PNGs are committed, so building the add-in needs
no Python: `target/pyenv/bin/python outlook-addin/assets/make-icons.py`."""
from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).parent
BLUE, WHITE, GOLD = (23, 78, 166, 255), (255, 255, 255, 255), (232, 170, 20, 255)

for size in (16, 32, 64, 80, 128):
    big = size * 8  # drawn large, then scaled down for smooth edges
    img = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    m = big // 10
    d.rounded_rectangle([m, 2 * m, big - m, big - 2 * m], radius=m, fill=BLUE)
    d.line([(m, 2 * m), (big // 2, big // 2), (big - m, 2 * m)], fill=WHITE, width=max(big // 16, 1))
    r = big // 6
    c = (big - 2 * m, big - 2 * m - r // 2)
    d.ellipse([c[0] - r, c[1] - r, c[0] + r, c[1] + r], fill=GOLD)
    img.resize((size, size), Image.LANCZOS).save(HERE / f"icon-{size}.png", optimize=True)
