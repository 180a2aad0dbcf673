"""The README's screenshots: the overview on a laptop (1366 px) and on a phone (390 px).

``make screenshots`` runs it: a fresh server in a temporary folder, one failed sign-in so the
overview has one to list, a few seconds of live usage, then ``docs/overview-*.png``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from e2e_support import CHROMIUM, CHROMIUM_ARGS, REPO, sign_in, start_server

SHOTS = {"overview-laptop.png": 1366, "overview-phone.png": 390}
# Samples every 2 s: this many draw a line worth looking at.
SAMPLES = 8


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="edge-webui-screenshots-") as base:
        server = start_server(Path(base))
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                     args=CHROMIUM_ARGS)
                page = browser.new_context(ignore_https_errors=True).new_page()
                sign_in(page, server, "admin", "a mistyped password")
                sign_in(page, server)
                page.wait_for_function(
                    f"() => (document.querySelector('.sparkline polyline')?.getAttribute("
                    f"'points') || '').split(' ').length >= {SAMPLES}", timeout=60000)
                for name, width in SHOTS.items():
                    page.set_viewport_size({"width": width, "height": 900})
                    page.reload()
                    page.wait_for_load_state()
                    path = REPO / "docs" / name
                    path.parent.mkdir(exist_ok=True)
                    page.screenshot(path=str(path), full_page=True)
                    print(path.relative_to(REPO))
                browser.close()
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
