"""Diagnostic tests in Chromium on a served device: run them all, watch them finish, read a
result's details and download the run as JSON."""

import json
import re

import pytest
from playwright.sync_api import expect

from diagnostics.probes import PROBE_IDS

from e2e_support import screenshot, serious_accessibility_violations, sign_in

pytestmark = pytest.mark.e2e

STATUSES = {"healthy", "warning", "unhealthy", "not_applicable", "could_not_run"}


def test_run_every_test_watch_it_finish_and_download_it(live_server, browser_page):
    page = browser_page
    sign_in(page, live_server)
    navigation = page.get_by_role("navigation", name="Sections")
    navigation.get_by_role("link", name="Diagnostic tests").click()
    expect(page.get_by_role("heading", name="Diagnostic tests", level=1)).to_be_visible()
    assert serious_accessibility_violations(page) == []

    boxes = page.locator("#test-list input[type=checkbox]")
    assert boxes.count() == len(PROBE_IDS)
    page.get_by_role("button", name="Select all").click()
    for index in range(boxes.count()):
        expect(boxes.nth(index)).to_be_checked()
    screenshot(page, "diagnostics-page")
    page.get_by_role("button", name="Run selected tests").click()

    page.wait_for_url(re.compile(r"/troubleshooting/diagnostics/runs/[0-9a-f]{16}$"))
    run_id = page.url.rsplit("/", 1)[1]
    # The page polls itself until the run is over, then stops.
    expect(page.get_by_text(f"Finished: {len(PROBE_IDS)} tests run.")).to_be_visible(
        timeout=60_000)
    expect(page.locator("progress")).to_have_attribute("value", "100")
    rows = page.locator(f"#run-{run_id} tbody tr")
    assert rows.count() == len(PROBE_IDS)
    expect(page.locator(f"#run-{run_id}")).not_to_have_attribute("hx-trigger", re.compile("."))

    details = page.locator(f"#details-{run_id}-cpus")
    details.locator("summary").click()
    expect(details).to_have_attribute("open", "")
    expect(details.locator("dl.result-details")).to_be_visible()
    screenshot(page, "diagnostics-run")
    assert serious_accessibility_violations(page) == []

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download JSON").click()
    download = download_info.value
    assert re.fullmatch(r"diagnostics-edge-e2e-\d{8}T\d{6}Z\.json", download.suggested_filename)
    with open(download.path()) as f:
        run = json.load(f)
    assert run["id"] == run_id and run["state"] == "succeeded"
    assert [r["id"] for r in run["results"]] == list(PROBE_IDS)
    assert {r["status"] for r in run["results"]} <= STATUSES

    navigation.get_by_role("link", name="Overview").click()
    card = page.locator("section", has=page.get_by_role("heading", name="Diagnostics"))
    expect(card.get_by_role("link", name="View the latest run")).to_have_attribute(
        "href", f"/troubleshooting/diagnostics/runs/{run_id}")
