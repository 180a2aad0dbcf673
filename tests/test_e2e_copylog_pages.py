"""The copy-log pages, the settings page and the overview's copy-log card in Chromium, on a
laptop and on phones: nothing wider than the screen, summaries readable, counts that fill in."""

from __future__ import annotations

import shutil

import pytest
from playwright.sync_api import expect

from copylog_fixtures import FIXTURES, UPLOAD, VALIDATION, big_log_rows, copy_log_bytes
from e2e_support import OUTPUT, screenshot, sign_in, start_server

pytestmark = pytest.mark.e2e

WIDTHS = (320, 390, 768, 1366)
BIG = "big/ORD9_SER9_CopyLog_big.xml"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A served device whose copy logs are the fixtures and a log of three pages of entries."""
    base = tmp_path_factory.mktemp("copylog-pages")
    shutil.copytree(FIXTURES, base / "root1")
    big = base / "root1" / BIG
    big.parent.mkdir()
    big.write_bytes(copy_log_bytes(big_log_rows(300)))
    served = start_server(base, env_extra={"WEBUI_COPYLOG_ROOTS": str(big.parents[1])})
    yield served
    served.stop()


def log_url(page, server, path: str) -> str:
    page.goto(server.url + "/copy-logs/")
    return server.url + page.get_by_role("link", name=path, exact=True).get_attribute("href")


def screenshot_path(name: str):
    OUTPUT.mkdir(exist_ok=True)
    return OUTPUT / f"{name}.png"


def page_width(page) -> tuple[int, int]:
    return page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")


def narrowest_cell(page, label: str) -> float:
    """The width in px of the narrowest summary cell labelled ``label``."""
    widths = page.evaluate("""label => [...document.querySelectorAll(
        'table.copylog-summary td[data-label="' + label + '"]')].map(
        cell => cell.getBoundingClientRect().width)""", label)
    assert widths, f"no summary cell labelled {label}"
    return min(widths)


def tables_scrolled_sideways(page) -> int:
    """How many tables are wider than their box: part of them is out of sight."""
    return page.evaluate("""[...document.querySelectorAll('.table-wrap')].filter(
        wrap => wrap.scrollWidth > wrap.clientWidth).length""")


def test_pages_fit_the_screen_and_summaries_stay_readable(server, browser_page):
    page = browser_page
    sign_in(page, server)
    pages = {"copylogs-list": server.url + "/copy-logs/",
             "copylogs-upload": log_url(page, server, UPLOAD),
             "copylogs-validation": log_url(page, server, VALIDATION),
             "copylogs-big": log_url(page, server, BIG),
             "settings": server.url + "/settings"}
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        for name, url in pages.items():
            page.goto(url)
            scroll_width, inner_width = page_width(page)
            assert scroll_width <= inner_width, (name, width, scroll_width)
            assert tables_scrolled_sideways(page) == 0, (name, width)
            if name in ("copylogs-upload", "copylogs-validation"):
                # A meaning laid out one word per line is a column a few letters wide.
                assert narrowest_cell(page, "Meaning") >= min(240, width * 0.5), (name, width)
            screenshot(page, f"{name}-{width}")
        page.goto(server.url + "/")
        card = page.locator("section.card", has=page.get_by_role("heading",
                                                                  name="Upload errors (24 h)"))
        assert card.evaluate("card => card.scrollWidth <= card.clientWidth"), width
        card.screenshot(path=str(screenshot_path(f"overview-copylogs-card-{width}")))


def test_list_fills_in_its_counts_without_a_reload(server, browser_page):
    page = browser_page
    big = server.instance.parent / "root1" / "big" / "ORD9_SER9_CopyLog_more.xml"
    big.write_bytes(copy_log_bytes(big_log_rows(300)))  # new: not counted yet
    sign_in(page, server)
    page.goto(server.url + "/copy-logs/")
    page.evaluate("window.copylogMarker = 'same document'")
    row = page.get_by_role("row").filter(has=page.get_by_role(
        "link", name="big/ORD9_SER9_CopyLog_more.xml", exact=True))
    expect(row.get_by_role("cell").nth(6)).to_have_text("300", timeout=30000)
    expect(page.get_by_text("counting…")).to_have_count(0)
    assert page.evaluate("window.copylogMarker") == "same document"


def test_settings_read_as_an_admin_writes_them(server, browser_page):
    page = browser_page
    sign_in(page, server)
    page.goto(server.url + "/settings")
    bind = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name="WEBUI_BIND"))
    expect(bind.get_by_role("cell").first).to_have_text(server.url.removeprefix("https://"))
    expect(bind.get_by_role("cell").nth(1)).to_have_text("environment")
    endpoints = page.get_by_role("row").filter(
        has=page.get_by_role("rowheader", name="WEBUI_CLOUD_ENDPOINTS"))
    expect(endpoints.get_by_role("listitem")).to_have_count(1)
    assert "`" not in page.locator("main").inner_text()
