"""Sign-in throttling in Chromium against the real server: the laptop that signed in before
still gets in while others locked the account, and the refusal counts down."""

from e2e_support import sign_in

WRONG = "not the password at all"


def fail_five_times(page, server):
    page.goto(server.url + "/sign-in")
    for _ in range(5):
        page.get_by_label("User name").fill("admin")
        page.get_by_label("Password", exact=True).fill(WRONG)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()


def test_known_laptop_signs_in_while_an_unknown_browser_locked_admin(browser, live_server):
    laptop = browser.new_context(ignore_https_errors=True)
    intruder = browser.new_context(ignore_https_errors=True)
    try:
        page = laptop.new_page()
        sign_in(page, live_server)
        page.get_by_role("button", name="Sign out").click()
        page.wait_for_load_state()

        other = intruder.new_page()
        fail_five_times(other, live_server)
        refusal = other.get_by_role("alert")
        assert "Too many failed sign-ins" in refusal.inner_text()
        counter = other.locator("[data-countdown]")
        first = counter.inner_text()
        assert first.startswith("in ")
        # The script counts down: the text changes without a reload.
        other.wait_for_function("text => document.querySelector('[data-countdown]')"
                                ".textContent !== text", arg=first)

        sign_in(page, live_server)
        assert page.url.rstrip("/") == live_server.url
        assert page.get_by_role("heading", name="Overview").is_visible()
    finally:
        laptop.close()
        intruder.close()
