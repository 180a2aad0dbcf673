"""Notifications in Chromium against the served device: an admin adds a syslog channel to a
listener on loopback, sends a test notification and sees its real outcome, delivered by the
server's own delivery thread."""

from __future__ import annotations

import socket

import pytest
from playwright.sync_api import expect

from e2e_support import screenshot, serious_accessibility_violations, sign_in

pytestmark = pytest.mark.e2e


def test_add_a_syslog_channel_and_send_a_test(live_server, browser_page):
    page, server = browser_page, live_server
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.settimeout(30)
        sign_in(page, server)
        page.get_by_role("navigation", name="Sections").get_by_role(
            "link", name="Notifications", exact=True).click()
        page.get_by_role("link", name="Add a syslog channel").click()
        page.get_by_label("Name").fill("Loopback syslog")
        page.get_by_label("Send to").select_option("udp")
        page.get_by_label("Syslog host (remote only)").fill("127.0.0.1")
        page.get_by_label("Port (remote only)").fill("")
        page.get_by_role("button", name="Add channel").click()
        expect(page.get_by_text("Enter the syslog port")).to_be_visible()
        assert serious_accessibility_violations(page) == []

        page.get_by_label("Port (remote only)").fill(str(listener.getsockname()[1]))
        page.get_by_role("button", name="Add channel").click()
        expect(page.get_by_text("Channel Loopback syslog added.")).to_be_visible()
        page.get_by_role("button", name="Send test notification over Loopback syslog").click()

        outcome = page.locator("#test-outcome")
        expect(outcome).to_contain_text("the destination accepted it", timeout=30000)
        assert b"Test notification from edge-e2e" in listener.recv(65535)
    assert serious_accessibility_violations(page) == []
    screenshot(page, "notifications")
