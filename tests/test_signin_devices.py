"""Sign-in throttling with device cookies (OWASP): unknown clients cannot lock out a browser
that signed in before, and every refusal says how long to wait."""

import re

from webui import db
from webui.auth import devices

from conftest import ADMIN_PASSWORD, VIEWER_PASSWORD, AuthActions, make_app

WRONG = "not the password at all"


def device_cookie(client, username="admin"):
    return client.get_cookie(devices.cookie_name(username))


def known_browser(app, username="admin", password=ADMIN_PASSWORD):
    """A browser that signed in once and signed out again: it keeps its device cookie."""
    client = app.test_client()
    auth = AuthActions(client)
    assert auth.sign_in(username, password).status_code == 303
    assert auth.post("/sign-out").status_code == 303
    return client, auth


def lock_out(auth, username="admin"):
    for _ in range(5):
        response = auth.sign_in(username, WRONG)
    assert response.status_code == 429
    return response


def test_a_good_sign_in_gives_a_long_lived_strict_device_cookie(app, client, auth):
    response = auth.sign_in()
    cookie = next(c for c in response.headers.getlist("Set-Cookie")
                  if c.startswith(devices.COOKIE_PREFIX))
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    assert f"Max-Age={365 * 24 * 3600}" in cookie
    assert "admin" not in cookie.split(";")[0].split("=", 1)[0]


def test_device_cookie_is_secure_over_tls(tmp_path):
    from webui.auth import users

    app = make_app(tmp_path / "tls-instance", TLS="true")
    with app.app_context():
        users.create(db.get_db(), "admin", ADMIN_PASSWORD, "administrator", must_change=False)
    client = app.test_client()
    page = client.get("/sign-in", base_url="https://localhost").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post("/sign-in", base_url="https://localhost",
                           headers={"Referer": "https://localhost/sign-in"},
                           data={"username": "admin", "password": ADMIN_PASSWORD,
                                 "csrf_token": token})
    cookie = next(c for c in response.headers.getlist("Set-Cookie")
                  if c.startswith(devices.COOKIE_PREFIX))
    assert "Secure" in cookie


def test_known_browser_signs_in_while_unknown_clients_locked_the_account(app, client, auth):
    laptop, laptop_auth = known_browser(app)
    lock_out(auth)
    assert auth.sign_in().status_code == 429  # an unknown client stays locked out
    assert laptop_auth.sign_in().status_code == 303
    assert laptop.get("/audit").status_code == 200


def test_known_browser_is_not_locked_by_failures_on_other_accounts_from_its_address(app):
    laptop, laptop_auth = known_browser(app)
    for name in ("a1", "a2", "a3", "a4", "a5"):
        laptop_auth.sign_in(name, WRONG)
    assert laptop_auth.sign_in("viewer", VIEWER_PASSWORD).status_code == 429
    assert laptop_auth.sign_in().status_code == 303


def test_known_browser_is_throttled_on_its_own(app, client, auth):
    laptop, laptop_auth = known_browser(app)
    other, other_auth = known_browser(app)
    lock_out(laptop_auth)
    assert laptop_auth.sign_in().status_code == 429
    # Neither another known browser nor an unknown client pays for the laptop's failures.
    assert other_auth.sign_in().status_code == 303
    assert auth.sign_in().status_code == 303


def test_device_lockout_survives_a_restart_and_is_audited(app):
    laptop, laptop_auth = known_browser(app)
    lock_out(laptop_auth)
    restarted = make_app(app.config["INSTANCE"])
    again = restarted.test_client()
    again.set_cookie(devices.cookie_name("admin"), device_cookie(laptop).value)
    assert AuthActions(again).sign_in().status_code == 429
    with app.app_context():
        rows = db.get_db().execute("SELECT * FROM audit WHERE action = 'lockout'").fetchall()
    assert [r["target"] for r in rows] == ["admin"]
    assert "known device" in rows[0]["detail"]


def test_a_forged_or_foreign_device_cookie_counts_as_an_unknown_client(app, client, auth):
    laptop, _ = known_browser(app, "viewer", VIEWER_PASSWORD)
    lock_out(auth)
    forged = app.test_client()
    forged.set_cookie(devices.cookie_name("admin"), device_cookie(laptop, "viewer").value)
    assert AuthActions(forged).sign_in().status_code == 429
    tampered = app.test_client()
    tampered.set_cookie(devices.cookie_name("admin"), "eyJ1c2VyIjoiYWRtaW4ifQ.x.y")
    assert AuthActions(tampered).sign_in().status_code == 429


def test_refusal_page_says_when_and_carries_retry_after(client, auth):
    locked = lock_out(auth)
    seconds = int(locked.headers["Retry-After"])
    assert 1 <= seconds <= 30
    page = locked.get_data(as_text=True)
    assert "Try again after" in page and f"in {seconds} s" in page
    assert re.search(r'<script src="/static/js/countdown\.js', page)
    assert f'data-countdown="{seconds}"' in page
    with client.get("/static/js/countdown.js") as script:
        assert script.status_code == 200


def test_refusal_for_a_script_is_a_problem_document_with_retry_after(client, auth):
    lock_out(auth)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"',
                      client.get("/sign-in").get_data(as_text=True)).group(1)
    response = client.post("/sign-in", headers={"Accept": "application/json"},
                           data={"username": "admin", "password": WRONG, "csrf_token": token})
    assert response.status_code == 429
    assert response.mimetype == "application/problem+json"
    assert response.json["retry_after"] == int(response.headers["Retry-After"]) >= 1


def test_sign_out_keeps_the_device_cookie(app, client, auth):
    auth.sign_in()
    response = auth.post("/sign-out")
    assert response.headers["Clear-Site-Data"] == '"cache", "storage"'
    assert device_cookie(client) is not None
