"""Copy logs in Chromium against a served device: list, one log, filter, page, export."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect

from copylog_fixtures import FIXTURES, big_log_rows, copy_log_bytes
from e2e_support import screenshot, serious_accessibility_violations, sign_in, start_server

pytestmark = pytest.mark.e2e

BIG = "big/ORD9_SER9_CopyLog_big.xml"


@pytest.fixture(scope="module")
def copylog_server(tmp_path_factory):
    base = tmp_path_factory.mktemp("copylogs")
    root = base / "root1"
    shutil.copytree(FIXTURES, root)
    (root / "big").mkdir()
    (root / BIG).write_bytes(copy_log_bytes(big_log_rows(400)))
    server = start_server(base, env_extra={"WEBUI_COPYLOG_ROOTS": str(root)})
    yield server
    server.stop()


def shown_paths(page) -> list[str]:
    return page.locator("table.copylog-entries tbody tr td:nth-child(2) code").all_inner_texts()


def test_list_log_filter_page_and_export(copylog_server, browser_page, tmp_path):
    page, server = browser_page, copylog_server
    sign_in(page, server)
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Copy logs").click()
    expect(page.get_by_role("heading", name="Copy logs")).to_be_visible()
    expect(page.get_by_role("cell", name="Copy-time validation").first).to_be_visible()
    assert serious_accessibility_violations(page) == []
    screenshot(page, "copylogs-list")

    page.get_by_role("link", name=BIG).click()
    expect(page.get_by_role("heading", name="Entries", exact=True)).to_be_visible()
    assert shown_paths(page)[0] == "big/00000.bin"
    assert serious_accessibility_violations(page) == []

    page.evaluate("window.copylogMarker = 'same document'")
    page.get_by_role("navigation", name="Pages of entries").get_by_role(
        "link", name="Next").click()
    page.wait_for_url("**page=2**")
    page.get_by_text("Entries 101–200 of 400").wait_for()
    assert shown_paths(page)[0] == "big/00100.bin"

    page.get_by_label("Error code", exact=True).fill("32")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**code=32**")
    page.get_by_text("Entries 1–100 of 134 (filtered)").wait_for()
    assert "page=2" not in page.url
    assert shown_paths(page)[:2] == ["big/00000.bin", "big/00003.bin"]
    page.get_by_role("navigation", name="Pages of entries").get_by_role(
        "link", name="Next").click()
    page.wait_for_url("**page=2**")
    page.get_by_text("Entries 101–134 of 134 (filtered)").wait_for()
    assert "code=32" in page.url and shown_paths(page)[0] == "big/00300.bin"
    assert page.evaluate("window.copylogMarker") == "same document"  # htmx swapped, no reload
    screenshot(page, "copylogs-log-filtered")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export these entries as CSV").click()
    download = download_info.value
    saved = Path(tmp_path) / download.suggested_filename
    download.save_as(saved)
    with saved.open(newline="", encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) == 134 and {row["code"] for row in rows} == {"32"}
    assert rows[-1]["path"] == "big/00399.bin"

    page.reload()
    expect(page.get_by_label("Error code", exact=True)).to_have_value("32")
    assert shown_paths(page)[0] == "big/00300.bin"
