"""Alerts in Chromium on the served device, as an admin meets them: a diagnostic run finds the
cloud unreachable, the device raises a critical alert by itself, the top bar counts it on every
page, the admin acknowledges it with a note, the cloud comes back, the next run clears the
alert and it moves to the history."""

from __future__ import annotations

import re
import socket
import time

import pytest
from playwright.sync_api import expect

from e2e_support import (
    free_port,
    screenshot,
    serious_accessibility_violations,
    sign_in,
    start_server,
)

pytestmark = pytest.mark.e2e

# The watcher notices a finished run within seconds; this only bounds a broken build.
DEADLINE_SECONDS = 60
CRITICAL = re.compile(r"^1 critical")


@pytest.fixture(scope="module")
def cloud_port():
    return free_port()


@pytest.fixture(scope="module")
def device(tmp_path_factory, cloud_port):
    # The only cloud endpoint is a loopback port where nothing listens until the test opens it;
    # volume thresholds at 100 % keep a full build disk out of the counts.
    server = start_server(tmp_path_factory.mktemp("alerts-device"), env_extra={
        "WEBUI_CLOUD_ENDPOINTS": f"127.0.0.1:{cloud_port}", "WEBUI_POWER_BACKEND": "dry-run",
        "WEBUI_ALERT_VOLUME_WARNING_PERCENT": "100", "WEBUI_ALERT_VOLUME_CRITICAL_PERCENT": "100"})
    yield server
    server.stop()


def run_internet_test(page, url: str) -> None:
    page.goto(url + "/troubleshooting/diagnostics")
    page.get_by_label("Internet connectivity").check()
    page.get_by_role("button", name="Run selected tests").click()
    expect(page.get_by_text("Finished: 1 test run.")).to_be_visible(timeout=30000)


def top_bar(page):
    return page.get_by_role("navigation", name="Active alerts")


def reload_until(page, url: str, shown) -> None:
    """Open ``url`` again until ``shown(page)`` holds: the alert list changes by itself."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        page.goto(url)
        if shown(page):
            return
        assert time.monotonic() < deadline, f"{url} never showed the change"
        time.sleep(0.5)


def test_an_alert_is_raised_counted_acknowledged_and_cleared(device, browser, cloud_port):
    context = browser.new_context(ignore_https_errors=True, viewport={"width": 390,
                                                                       "height": 900})
    context.set_default_timeout(15000)
    page = context.new_page()
    try:
        sign_in(page, device)
        expect(top_bar(page).get_by_role("link", name=CRITICAL)).to_have_count(0)
        run_internet_test(page, device.url)

        # Raised by the device itself; the top bar of any page counts it.
        reload_until(page, device.url + "/settings",
                     lambda p: top_bar(p).get_by_role("link", name=CRITICAL).count() == 1)
        top_bar(page).get_by_role("link", name=CRITICAL).click()
        row = page.get_by_role("row").filter(has_text="Internet connectivity")
        expect(row).to_contain_text("Critical")
        expect(row).to_contain_text("Active")
        row.get_by_role("link").first.click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Internet connectivity")
        expect(page.get_by_text(f"127.0.0.1:{cloud_port}").first).to_be_visible()
        assert serious_accessibility_violations(page) == []

        page.get_by_label("Note").fill("Firewall ticket 4711 opened")
        page.get_by_role("button", name="Acknowledge").click()
        expect(page.get_by_text("Alert acknowledged")).to_be_visible()
        expect(page.get_by_text("Firewall ticket 4711 opened")).to_be_visible()
        alert_url = page.url
        # Seen by the admin: no longer counted as active, still listed as open.
        expect(top_bar(page).get_by_role("link", name=CRITICAL)).to_have_count(0)
        page.goto(device.url + "/alerts/")
        expect(page.get_by_role("row").filter(has_text="Internet connectivity")) \
            .to_contain_text("Acknowledged")

        # The cloud answers again: the next run clears the alert, which moves to the history.
        with socket.create_server(("127.0.0.1", cloud_port)):
            run_internet_test(page, device.url)
            reload_until(page, alert_url,
                         lambda p: p.get_by_text("This alert has cleared").count() == 1)
        page.goto(device.url + "/alerts/")
        expect(page.get_by_role("row").filter(has_text="Internet connectivity")).to_have_count(0)
        page.get_by_label("State").select_option(label="History (cleared)")
        page.get_by_role("button", name="Filter").click()
        cleared = page.get_by_role("row").filter(has_text="Internet connectivity")
        expect(cleared).to_contain_text("Cleared")
        screenshot(page, "alerts-history-phone")
    finally:
        context.close()
