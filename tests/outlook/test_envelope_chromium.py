"""The Outlook add-in's envelope writer (`outlook-addin/src/envelope.js`) in Debian's Chromium:
the same checks `node --test` runs (`outlook-addin/test/vector-checks.js`: the shared vectors
byte for byte, the spec's edge cases, round trips through the test kit's independent reader,
refusals), here on a real browser's WebCrypto, which is what the add-in runs on.

A local HTTP server serves the add-in's `src/` and `test/` folders and `envelope/tests/vectors/`;
http://127.0.0.1 is a secure context, so the page has WebCrypto as an https page would.
The browser is conftest.py's, shared with the task pane tests.
"""

import http.server
import posixpath
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/harness.py

from harness import ROOT  # noqa: E402

# URL prefix -> the folder it serves; nothing else of the repository is reachable.
ROUTES = {
    "/addin/src/": ROOT / "outlook-addin" / "src",
    "/addin/test/": ROOT / "outlook-addin" / "test",
    "/vectors/": ROOT / "envelope" / "tests" / "vectors",
}
PAGE = "/addin/test/browser.html"


class Handler(http.server.SimpleHTTPRequestHandler):
    """Serves ROUTES only; a path that climbs out of its folder is not found."""

    def translate_path(self, path):
        path = urllib.parse.unquote(urllib.parse.urlsplit(path).path)
        for prefix, folder in ROUTES.items():
            if path.startswith(prefix):
                relative = posixpath.normpath(path[len(prefix):])
                if not relative.startswith(("..", "/")):
                    return str(folder / relative)
        return str(ROOT / "target" / "not-served")

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def open_checks(page, url: str, timeout: float = 120):
    """Opens the check page and returns its results; fails at once on an error no check caught
    (say, a module that does not load) rather than waiting out the timeout."""
    uncaught = []
    page.on("pageerror", lambda e: uncaught.append(str(e)))
    page.goto(url)
    assert page.evaluate("() => window.isSecureContext && !!globalThis.crypto.subtle"), \
        "the page has no WebCrypto (not a secure context?)"
    deadline = time.monotonic() + timeout
    while not page.evaluate("() => window.envelopeResults !== undefined"):
        if uncaught:
            pytest.fail("the check page failed: " + "; ".join(uncaught))
        if time.monotonic() > deadline:
            pytest.fail(f"the check page did not finish in {timeout:.0f}s")
        page.wait_for_timeout(100)
    return page.evaluate("() => window.envelopeResults")


def test_envelope_checks_pass_in_chromium(server, browser):
    context = browser.new_context()
    try:
        results = open_checks(context.new_page(), server + PAGE)
    finally:
        context.close()

    failed = [f"{r['name']}: {r['error']}" for r in results if not r["ok"]]
    assert not failed, "failed in Chromium:\n" + "\n".join(failed)
    names = [r["name"] for r in results]
    for vector in ("multipart", "manifest-only"):
        assert f"{vector}: sealing with the vector's randomness gives its bytes" in names
        assert f"{vector}: buildManifest gives the vector's manifest bytes" in names
    assert "a 2048-bit key is refused" in names
