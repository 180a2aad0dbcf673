"""Every page of the navigation, as an administrator and as a viewer, at phone, tablet and laptop
widths: no page wider than the window, no text cut off by its card, no serious axe-core finding.

One server and one browser for the module; each role signs in once and its page is resized
from width to width. Screenshots are kept under ``test-output/layout/``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap

import pytest

from e2e_support import OUTPUT, REPO, serious_accessibility_violations, sign_in, start_server

pytestmark = pytest.mark.e2e

WIDTHS = (320, 390, 768, 1366)
VIEWER_PASSWORD = "quartz harbour willow 61 ember"
COPYLOGS = REPO / "tests" / "data" / "copylogs" / "root1"
SHOTS = OUTPUT / "layout"

# Made in the instance by the server's own Python: a viewer, 24 hours of usage history, and
# alerts of every severity (one with a long unbroken subject, one acknowledged with a note).
PREPARE = textwrap.dedent(f"""
    import math, time
    from webui import audit, create_app, db
    from webui.alerts import service
    from webui.alerts.rules import Finding, Rule
    from webui.auth import users
    from webui.dashboard import history, usage
    app = create_app()
    with app.app_context():
        conn = db.get_db()
        users.create(conn, "viewer", {VIEWER_PASSWORD!r}, "viewer", must_change=False)
        now = time.time()
        for n in range(1, history.MINUTES):
            wave = (1 + math.sin(n / 90)) / 2
            history.record(conn, usage.Sample(now - n * 60, 5 + 60 * wave, 40 + 10 * wave,
                                              wave * 4e6, wave * 1e6, wave * 2e5, wave * 5e4))
        rule = Rule(id="share_upload_errors", severity="warning",
                    title="Upload errors on share {{share}}",
                    message="{{count}} file(s) of share {{share}} could not be uploaded.",
                    action="Open the share's copy log and fix the files it names.",
                    raises="r", clears="c", check=lambda facts: [])
        long_name = "archive_" + "x" * 80
        service.apply(conn, {{rule: [
            Finding("media", {{"share": "media", "count": 12}}, severity="critical"),
            Finding("backups", {{"share": "backups", "count": 40}}, severity="critical"),
            Finding(long_name, {{"share": long_name, "count": 3}}),
            Finding("logs", {{"share": "logs", "count": 1}}, severity="informational")]}}, now)
        first = service.open_alert(conn, rule.id, "media")["id"]
        service.acknowledge(conn, first, audit.CONSOLE, "Replacement disk ordered " * 8)
""")
# Pages the navigation leads to that are not in it: one alert.
LINKED_PAGES = ("/alerts/1",)

# What the browser measures on a page: text outside its card, and what sticks out of the window.
MEASURE = """() => {
  const describe = (el) => {
    const name = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
      + (el.classList.length ? '.' + Array.from(el.classList).join('.') : '');
    return name + ' "' + el.textContent.trim().replace(/\\s+/g, ' ').slice(0, 40) + '"';
  };
  const clipped = [];
  for (const card of document.querySelectorAll('.card')) {
    const box = card.getBoundingClientRect();
    const walker = document.createTreeWalker(card, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (!node.textContent.trim() || node.parentElement.closest('.visually-hidden')) continue;
      const range = document.createRange();
      range.selectNodeContents(node);
      const r = range.getBoundingClientRect();
      if (r.width === 0 || r.height === 0) continue;  // not rendered: closed details, hidden
      if (r.left < box.left - 1 || r.right > box.right + 1) {
        const heading = card.querySelector('h2, h3');
        clipped.push(describe(node.parentElement) + ' in card "'
          + (heading ? heading.textContent.trim() : card.className) + '" spans '
          + Math.round(r.left) + '..' + Math.round(r.right) + ' px, the card '
          + Math.round(box.left) + '..' + Math.round(box.right));
      }
    }
  }
  const width = window.innerWidth;
  const wide = Array.from(document.querySelectorAll('body *'))
    .filter((el) => el.getBoundingClientRect().right > width + 1
      && !Array.from(el.children).some((c) => c.getBoundingClientRect().right > width + 1))
    .slice(0, 3).map((el) => describe(el) + ' reaches '
      + Math.round(el.getBoundingClientRect().right) + ' px');
  return {scrollWidth: document.documentElement.scrollWidth, innerWidth: width,
          clipped: clipped.slice(0, 5), wide: wide};
}"""


@pytest.fixture(scope="module")
def layout_server(tmp_path_factory):
    base = tmp_path_factory.mktemp("layout")
    shutil.copytree(COPYLOGS, base / "copylogs")
    server = start_server(base, env_extra={"WEBUI_COPYLOG_ROOTS": str(base / "copylogs")})
    prepared = subprocess.run([sys.executable, "-c", PREPARE], env=server.env, cwd=base,
                              capture_output=True, text=True, timeout=120)
    assert prepared.returncode == 0, prepared.stderr
    yield server
    server.stop()


@pytest.fixture(scope="module")
def signed_in(layout_server, browser):
    """A signed-in page for each role, made when first asked for."""
    contexts, pages = [], {}

    def page_for(role: str):
        if role not in pages:
            context = browser.new_context(ignore_https_errors=True,
                                          viewport={"width": 1366, "height": 900})
            context.set_default_timeout(15000)
            contexts.append(context)
            page = pages[role] = context.new_page()
            if role == "viewer":
                sign_in(page, layout_server, "viewer", VIEWER_PASSWORD)
            else:
                # A wrong password first: the overview then lists a failed sign-in.
                sign_in(page, layout_server, "admin", "not the password at all")
                sign_in(page, layout_server)
        return pages[role]
    yield page_for
    for context in contexts:
        context.close()


def navigation(page) -> list[str]:
    """The pages of the navigation and the ones they lead to."""
    return [*page.eval_on_selector_all("#sidenav a", "links => links.map(a => a.pathname)"),
            *LINKED_PAGES]


def settle(page) -> None:
    """Let a resize or an htmx swap lay the page out before it is measured."""
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


def layout_problems(page, label: str) -> list[str]:
    seen = page.evaluate(MEASURE)
    problems = [f"{label}: clipped {text}" for text in seen["clipped"]]
    if seen["scrollWidth"] > seen["innerWidth"]:
        problems.append(f"{label}: page is {seen['scrollWidth']} px wide in a "
                        f"{seen['innerWidth']} px window ({'; '.join(seen['wide'])})")
    return problems


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@pytest.mark.parametrize("role", ["admin", "viewer"])
def test_every_page_fits_every_width(layout_server, signed_in, role):
    page = signed_in(role)
    paths = navigation(page)
    assert "/" in paths and "/usage/history" in paths and len(paths) >= 8
    problems = []
    for path in paths:
        page.goto(layout_server.url + path)
        page.wait_for_load_state()
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            settle(page)
            label = f"{role} {path} at {width} px"
            problems += layout_problems(page, label)
            shot(page, f"{role}-{width}-{path.strip('/').replace('/', '-') or 'overview'}")
    page.set_viewport_size({"width": 1366, "height": 900})
    assert not problems, "\n".join(problems)


def test_the_sign_in_page_fits_every_width(layout_server, browser_page):
    page = browser_page
    page.goto(layout_server.url + "/sign-in")
    problems = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        settle(page)
        problems += layout_problems(page, f"/sign-in at {width} px")
        shot(page, f"signed-out-{width}-sign-in")
    assert not problems, "\n".join(problems)
    assert serious_accessibility_violations(page) == []


@pytest.mark.parametrize("role", ["admin", "viewer"])
def test_every_page_has_no_serious_accessibility_violation(layout_server, signed_in, role):
    page = signed_in(role)
    found = []
    for path in navigation(page):
        page.goto(layout_server.url + path)
        page.wait_for_load_state()
        found += [f"{role} {path}: {v}" for v in serious_accessibility_violations(page)]
    assert not found, "\n".join(found)


def test_phone_menu_closes_with_escape_and_the_navigation_stays_in_view(layout_server,
                                                                        signed_in):
    page = signed_in("viewer")
    page.set_viewport_size({"width": 390, "height": 700})
    page.goto(layout_server.url + "/hardware")
    menu = page.get_by_role("button", name="Menu")
    menu.click()
    assert page.locator("#sidenav").is_visible() and menu.get_attribute("aria-expanded") == "true"
    page.keyboard.press("Escape")
    assert not page.locator("#sidenav").is_visible()
    assert menu.get_attribute("aria-expanded") == "false"
    # On a laptop a long page scrolls under the navigation, which stays at the top.
    page.set_viewport_size({"width": 1366, "height": 400})
    page.goto(layout_server.url + "/usage/history")
    page.mouse.wheel(0, 5000)
    page.wait_for_function("() => window.scrollY > 300")
    assert page.locator("#sidenav").bounding_box()["y"] == 0
    assert page.get_by_role("link", name="Overview").is_visible()
    page.set_viewport_size({"width": 1366, "height": 900})


def test_the_dry_run_banner_is_dismissed_for_the_session(layout_server, signed_in):
    page = signed_in("viewer")
    page.goto(layout_server.url + "/")
    banner = page.locator(".banner", has_text="Power actions are simulated.")
    assert banner.count() == 1
    banner.get_by_text("Details").click()
    assert banner.get_by_text("never carries them out").is_visible()
    banner.get_by_role("button", name="Dismiss").click()
    banner.wait_for(state="detached")
    page.goto(layout_server.url + "/hardware")
    assert page.locator(".banner", has_text="Power actions are simulated.").count() == 0
    assert page.locator(".banner", has_text="Connectivity").count() == 1
