"""Power and connectivity in Chromium against the served device (dry-run power backend), and the
restarting page against fake ``systemctl`` with a new boot id answered by ``/healthz``."""

from __future__ import annotations

import json
import os

import pytest
from playwright.sync_api import expect

from e2e_support import screenshot, serious_accessibility_violations, sign_in, start_server

pytestmark = pytest.mark.e2e


def go(page, name: str) -> None:
    """Follow a link of the left navigation and wait for its page."""
    link = page.get_by_role("navigation", name="Sections").get_by_role("link", name=name,
                                                                       exact=True)
    href = link.get_attribute("href")
    link.click()
    page.wait_for_url(f"**{href}")


def token_status(server, token: str) -> tuple[int, dict]:
    status, body = server.get("/api/v1/status", headers={"Authorization": f"Bearer {token}"})
    return status, json.loads(body)


def test_schedule_see_everywhere_and_cancel_a_restart(live_server, browser_page):
    page, server = browser_page, live_server
    sign_in(page, server)
    go(page, "Power")
    expect(page.get_by_text("Power actions are simulated.")).to_be_visible()
    assert serious_accessibility_violations(page) == []
    screenshot(page, "power")

    page.get_by_label("When").select_option(label="In 5 minutes")
    page.get_by_label("Message to signed-in users (optional)").fill("Replacing a disk")
    page.get_by_role("button", name="Restart…").click()
    page.wait_for_url("**/power/confirm?**")
    expect(page.get_by_role("heading", name="Restart edge-e2e?")).to_be_visible()
    expect(page.get_by_text("edge-e2e will not restart")).to_be_visible()
    screenshot(page, "power-confirm")
    page.get_by_role("button", name="Restart edge-e2e").click()
    page.wait_for_url(server.url + "/power/")
    expect(page.get_by_text("Restart scheduled for").first).to_be_visible()

    go(page, "Audit log")
    banner = page.locator(".banner", has_text="Restart scheduled.")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("edge-e2e restarts at")
    expect(banner).to_contain_text("Replacing a disk")
    screenshot(page, "power-scheduled-banner")
    banner.get_by_role("button", name="Cancel restart").click()
    page.wait_for_url(server.url + "/power/")
    expect(page.get_by_text("The scheduled restart is cancelled.")).to_be_visible()
    expect(page.locator(".banner", has_text="Restart scheduled.")).to_have_count(0)
    expect(page.get_by_text("Nothing is scheduled.")).to_be_visible()


def test_fully_disconnected_refuses_tokens_and_switching_back_allows_them(
        live_server, browser_page):
    page, server = browser_page, live_server
    created = server.cli("token", "create", "--name", "e2e-monitor", "--role", "viewer")
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert token_status(server, token)[0] == 200

    sign_in(page, server)
    go(page, "Connectivity")
    assert serious_accessibility_violations(page) == []
    screenshot(page, "connectivity")
    page.get_by_label("Fully disconnected").check()
    page.get_by_role("button", name="Change mode").click()
    expect(page.get_by_text("Remote management (API tokens, metrics scraping)")).to_be_visible()
    page.get_by_role("button", name="Switch to fully disconnected").click()
    page.wait_for_url(server.url + "/connectivity/")
    expect(page.get_by_text("Connectivity mode: Fully disconnected.")).to_be_visible()

    go(page, "Overview")
    banner = page.locator(".banner", has_text="Connectivity: Fully disconnected.")
    expect(banner).to_be_visible()
    screenshot(page, "connectivity-fully-disconnected")
    assert (server.instance / "connectivity-mode").read_text() == "fully_disconnected\n"

    status, problem = token_status(server, token)
    assert status == 403 and "fully disconnected" in problem["detail"]

    banner.get_by_role("link", name="Connectivity settings").click()
    page.wait_for_url(server.url + "/connectivity/")
    page.get_by_label("Fully connected").check()
    page.get_by_role("button", name="Change mode").click()
    page.wait_for_url(server.url + "/connectivity/")
    expect(page.locator(".banner", has_text="Connectivity: Fully connected.")).to_be_visible()
    assert token_status(server, token)[0] == 200


FAKE_SYSTEMCTL = """#!/bin/sh
echo "$0 $*" >> {log}
"""


@pytest.fixture(scope="module")
def systemd_server(tmp_path_factory):
    """A served device with the systemd backend whose ``systemctl`` only records its call."""
    base = tmp_path_factory.mktemp("systemd")
    fake_bin = base / "fake-bin"
    fake_bin.mkdir()
    for name in ("systemctl", "shutdown"):
        program = fake_bin / name
        program.write_text(FAKE_SYSTEMCTL.format(log=base / "commands.log"))
        program.chmod(0o755)
    server = start_server(base, env_extra={
        "WEBUI_POWER_BACKEND": "systemd",
        "PATH": f"{fake_bin}{os.pathsep}{os.environ['PATH']}"})
    server.extra["commands"] = base / "commands.log"
    yield server
    server.stop()


def test_restarting_page_returns_to_sign_in_on_a_new_boot_id(systemd_server, browser_page):
    page, server = browser_page, systemd_server
    sign_in(page, server)
    page.goto(server.url + "/power/")
    page.get_by_role("button", name="Restart…").click()
    page.get_by_role("button", name="Restart edge-e2e").click()
    page.wait_for_url("**/power/restarting?action=restart")
    expect(page.get_by_role("heading", name="Restarting edge-e2e")).to_be_visible()
    assert server.extra["commands"].read_text().split()[1:] == ["reboot"]

    # The device "comes back": /healthz answers with another boot id.
    with page.expect_request(lambda request: "/sign-in" in request.url):
        page.route("**/healthz", lambda route: route.fulfill(
            status=200, content_type="application/json",
            body=json.dumps({"status": "ok", "boot_id": "00000000-new-boot"})))
