"""The pages where the administrator acts and reads results, in Chromium on the served device:
no page wider than a phone, copy buttons, "Select all" that says "Clear all", confirmations on
pages rather than browser dialogs, and a live countdown to a scheduled restart."""

from __future__ import annotations

import re
from contextlib import contextmanager

import pytest
from playwright.sync_api import expect

from e2e_support import screenshot, serious_accessibility_violations, sign_in

pytestmark = pytest.mark.e2e

WIDTHS = (320, 390, 768, 1366)
PAGES = {"diagnostics": "/troubleshooting/diagnostics", "support": "/troubleshooting/support/",
         "ticket-form": "/troubleshooting/support/ticket", "power": "/power/",
         "connectivity": "/connectivity/", "users": "/users/", "audit": "/audit"}
OVERFLOW = "document.documentElement.scrollWidth - window.innerWidth"


@pytest.fixture(scope="module")
def device(live_server, browser):
    """The served device with a diagnostic run, a support package, a token and a scheduled
    (dry-run) restart, so every page has its tables filled."""
    context = browser.new_context(ignore_https_errors=True)
    context.set_default_timeout(30000)
    page = context.new_page()
    sign_in(page, live_server)
    page.goto(live_server.url + PAGES["diagnostics"])
    page.get_by_label("Processors").check()
    page.get_by_label("Memory").check()
    page.get_by_role("button", name="Run selected tests").click()
    expect(page.get_by_text("Finished: 2 tests run.")).to_be_visible()
    page.goto(live_server.url + PAGES["support"])
    page.get_by_role("button", name="Clear all").click()
    page.get_by_label(re.compile("^Operating system, kernel")).check()
    page.get_by_role("button", name="Create support package").click()
    expect(page.get_by_role("link", name=re.compile("^Download"))).to_be_visible()
    page.goto(live_server.url + PAGES["power"])
    page.get_by_label("When").select_option(label="In 60 minutes")
    page.get_by_role("button", name="Restart…").click()
    page.get_by_role("button", name="Restart edge-e2e").click()
    page.wait_for_url(live_server.url + "/power/")
    context.close()
    created = live_server.cli("token", "create", "--name", "e2e-monitor", "--role", "viewer")
    assert created.returncode == 0, created.stderr
    return live_server


@contextmanager
def phone_or_laptop(browser, width: int, signed_in_at=None, clipboard: bool = True):
    """A page at ``width`` px, signed in as admin at ``signed_in_at`` (a served device) unless
    None; without ``clipboard`` it is a browser offering none, as on plain HTTP."""
    context = browser.new_context(ignore_https_errors=True,
                                  viewport={"width": width, "height": 900})
    context.set_default_timeout(15000)
    if not clipboard:
        context.add_init_script("Object.defineProperty(navigator, 'clipboard', "
                                "{value: undefined})")
    try:
        page = context.new_page()
        if signed_in_at is not None:
            sign_in(page, signed_in_at)
        yield page
    finally:
        context.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_no_action_page_is_wider_than_the_screen(device, browser, width):
    with phone_or_laptop(browser, width) as page:
        page.goto(device.url + "/sign-in")
        assert page.evaluate(OVERFLOW) <= 0, f"sign-in at {width} px"
        sign_in(page, device)
        page.goto(device.url + PAGES["diagnostics"])
        page.get_by_role("link", name="Open this run on its own page").click()
        pages = {**PAGES, "diagnostic-run": page.url.removeprefix(device.url)}
        for name, path in pages.items():
            page.goto(device.url + path)
            assert page.evaluate(OVERFLOW) <= 0, f"{name} at {width} px"
            if width in (390, 1366):
                assert serious_accessibility_violations(page) == [], f"{name} at {width} px"
            screenshot(page, f"actions-{name}-{width}")


def test_a_new_token_is_copied_with_its_button_and_gone_after_a_reload(device, browser):
    with phone_or_laptop(browser, 390, device) as page:
        page.context.grant_permissions(["clipboard-write"], origin=device.url)
        page.goto(device.url + PAGES["users"])
        page.get_by_label("Name", exact=True).fill("e2e-copy")
        page.get_by_role("button", name="Create token").click()
        page.wait_for_url(device.url + "/users/")
        token = page.locator("code.secret").inner_text()
        page.get_by_role("button", name="Copy the token").click()
        expect(page.locator("[data-copy-status]")).to_have_text("Copied.")
        screenshot(page, "actions-token-shown")
        page.reload()
        expect(page.locator("code.secret")).to_have_count(0)
        assert token not in page.content()


def test_without_a_clipboard_the_secret_is_selected_instead(device, browser):
    with phone_or_laptop(browser, 390, device, clipboard=False) as page:
        page.goto(device.url + PAGES["users"])
        page.get_by_label("User name").fill("e2e-operator")
        page.get_by_role("button", name="Add user").click()
        password = page.locator("code.secret").inner_text()
        page.get_by_role("button", name="Copy the one-time password").click()
        expect(page.locator("[data-copy-status]")).to_contain_text("Selected")
        assert page.evaluate("window.getSelection().toString()").strip() == password


def test_revoking_a_token_confirms_on_a_page_not_a_browser_dialog(device, browser):
    dialogs = []
    with phone_or_laptop(browser, 1366, device) as page:
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(device.url + PAGES["users"])
        page.get_by_role("link", name="Revoke… e2e-monitor").click()
        expect(page.get_by_role("heading", name="Revoke the token e2e-monitor?")).to_be_visible()
        page.get_by_role("button", name="Revoke token").click()
        page.wait_for_url(device.url + "/users/")
        expect(page.get_by_text("Token revoked.")).to_be_visible()
    assert dialogs == []


def test_select_all_turns_into_clear_all(device, browser):
    with phone_or_laptop(browser, 390, device) as page:
        page.goto(device.url + PAGES["diagnostics"])
        boxes = page.locator("#test-list input[type=checkbox]")
        page.get_by_role("button", name="Select all").click()
        expect(page.get_by_role("button", name="Clear all")).to_be_visible()
        assert all(boxes.nth(i).is_checked() for i in range(boxes.count()))
        page.get_by_role("button", name="Clear all").click()
        expect(page.get_by_role("button", name="Select all")).to_be_visible()
        assert not any(boxes.nth(i).is_checked() for i in range(boxes.count()))
        for i in range(boxes.count()):
            boxes.nth(i).check()
        expect(page.get_by_role("button", name="Clear all")).to_be_visible()


def test_the_scheduled_restart_counts_down(device, browser):
    with phone_or_laptop(browser, 390, device) as page:
        page.goto(device.url + PAGES["power"])
        counter = page.locator("[data-countdown]")
        first = counter.inner_text()
        assert re.fullmatch(r"in \d+ (min \d+ s|h \d+ min)", first), first
        expect(counter).not_to_have_text(first)
