"""First sign-in to a served device in Chromium, users, roles and accessibility."""

import pytest

from e2e_support import screenshot, serious_accessibility_violations, sign_in, start_server

pytestmark = pytest.mark.e2e

NEW_ADMIN_PASSWORD = "harbor quartz violet 61 meadow"
VIEWER_PASSWORD = "copper willow autumn 27 falcon"


@pytest.fixture(scope="module")
def fresh_server(tmp_path_factory):
    server = start_server(tmp_path_factory.mktemp("fresh"), admin_password=None)
    yield server
    server.stop()


def test_first_sign_in_forced_change_users_and_viewer(fresh_server, browser_page):
    page, server = browser_page, fresh_server
    assert (server.instance / "initial-password").exists()

    sign_in(page, server, "admin", server.setup_password)
    assert "/account/password" in page.url
    page.get_by_label("Current password").fill(server.setup_password)
    page.get_by_label("New password", exact=True).fill(NEW_ADMIN_PASSWORD)
    page.get_by_label("Repeat the new password").fill(NEW_ADMIN_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    page.wait_for_url(server.url + "/")
    assert page.get_by_role("heading", name="Overview").is_visible()
    assert not (server.instance / "initial-password").exists()
    screenshot(page, "overview-signed-in")

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/sign-in**")
    sign_in(page, server, "admin", NEW_ADMIN_PASSWORD)
    assert page.get_by_role("heading", name="Overview").is_visible()

    page.get_by_role("link", name="Users and tokens").click()
    page.get_by_label("User name").fill("operator")
    page.get_by_label("Role", exact=True).select_option("viewer")
    page.get_by_role("button", name="Add user").click()
    one_time = page.locator("code.secret").inner_text()
    assert len(one_time) >= 12
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, server, "operator", one_time)
    page.get_by_label("Current password").fill(one_time)
    page.get_by_label("New password", exact=True).fill(VIEWER_PASSWORD)
    page.get_by_label("Repeat the new password").fill(VIEWER_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    page.wait_for_url(server.url + "/")
    assert page.get_by_role("link", name="Users and tokens").count() == 0
    response = page.goto(server.url + "/users/")
    assert response.status == 403
    assert "administrator role" in page.content()


def test_sign_in_page_and_overview_are_accessible(live_server, browser_page):
    page = browser_page
    page.goto(live_server.url + "/sign-in")
    assert serious_accessibility_violations(page) == []
    sign_in(page, live_server)
    assert page.get_by_role("heading", name="Overview").is_visible()
    assert serious_accessibility_violations(page) == []


def test_phone_width_menu(live_server, browser):
    context = browser.new_context(ignore_https_errors=True, viewport={"width": 390, "height": 800})
    page = context.new_page()
    try:
        sign_in(page, live_server)
        nav_link = page.get_by_role("link", name="Audit log")
        assert not nav_link.is_visible()
        page.get_by_role("button", name="Menu").click()
        assert nav_link.is_visible()
        nav_link.click()
        assert page.get_by_role("heading", name="Audit log").is_visible()
        screenshot(page, "phone-audit")
    finally:
        context.close()
