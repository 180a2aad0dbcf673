import pytest

from webui import db
from webui.auth import users

from conftest import ADMIN_PASSWORD, AuthActions, csrf_from, make_app


def test_sign_in_lands_on_overview(client, auth):
    response = auth.sign_in()
    assert response.status_code == 303
    page = client.get("/").get_data(as_text=True)
    assert "Overview" in page and "edge-test" in page


def test_wrong_password_is_refused_and_audited(app, client, auth):
    response = auth.sign_in(password="wrong password entirely")
    assert response.status_code == 401
    assert "Wrong user name or password" in response.get_data(as_text=True)
    with app.app_context():
        row = db.get_db().execute("SELECT * FROM audit WHERE action = 'sign_in'").fetchone()
    assert row["outcome"] == "failure" and row["target"] == "admin"


def test_open_redirect_is_not_followed(client, auth):
    token = csrf_from(client.get("/sign-in").get_data(as_text=True))
    response = client.post("/sign-in?next=//evil.example/x",
                           data={"username": "admin", "password": ADMIN_PASSWORD,
                                 "csrf_token": token})
    assert response.status_code == 303
    assert response.headers["Location"] == "/"


def test_forced_password_change(app, client, auth):
    with app.app_context():
        conn = db.get_db()
        users.create(conn, "newbie", "one time passw0rd Xy", "viewer", must_change=True)
    auth.sign_in("newbie", "one time passw0rd Xy")
    response = client.get("/audit")
    assert response.status_code == 303 and "/account/password" in response.headers["Location"]
    api = client.get("/api/v1/status")
    assert api.status_code == 403
    response = auth.post("/account/password", {"current": "one time passw0rd Xy",
                                                "new": "orbit velvet canyon 88 thistle",
                                                "confirm": "orbit velvet canyon 88 thistle"})
    assert response.status_code == 303
    assert client.get("/audit").status_code == 200


@pytest.mark.parametrize(("password", "reason"), [
    ("short1!", "at least 12"),
    ("x" * 129, "at most 128"),
    ("password1234", "too weak"),
    ("qwertyuiop123", "too weak"),
    ("admin-is-my-password-2026", "user name"),
    ("edge-test-rocks-2026!", "device name"),
    ("aaaaaaaaaaaaaaaa", "too weak"),
])
def test_password_policy_table(client, auth, password, reason):
    auth.sign_in()
    response = auth.post("/account/password", {"current": ADMIN_PASSWORD, "new": password,
                                                "confirm": password})
    assert response.status_code == 422
    assert reason in response.get_data(as_text=True).lower()


def test_strong_password_accepted_and_other_sessions_end(app, client, auth):
    other = app.test_client()
    AuthActions(other).sign_in()
    assert other.get("/audit").status_code == 200
    auth.sign_in()
    new = "lantern gravel mosaic 42 quill"
    response = auth.post("/account/password", {"current": ADMIN_PASSWORD, "new": new,
                                                "confirm": new})
    assert response.status_code == 303
    assert client.get("/audit").status_code == 200
    assert other.get("/audit").status_code == 303


def test_sign_out_ends_every_session(app, client, auth):
    other = app.test_client()
    AuthActions(other).sign_in()
    auth.sign_in()
    response = auth.post("/sign-out")
    assert response.status_code == 303
    assert client.get("/").status_code == 303
    assert other.get("/").status_code == 303


def test_lockout_grows_and_survives_restart(tmp_path, app, client, auth):
    for _ in range(4):
        assert auth.sign_in(password="wrong one here").status_code == 401
    locked = auth.sign_in(password="wrong one here")
    assert locked.status_code == 429
    assert "Try again after" in locked.get_data(as_text=True)
    # Even the right password is refused while locked.
    assert auth.sign_in().status_code == 429
    restarted = make_app(app.config["INSTANCE"])
    again = AuthActions(restarted.test_client()).sign_in()
    assert again.status_code == 429
    with app.app_context():
        actions = [r["action"] for r in db.get_db().execute("SELECT action FROM audit")]
    assert "lockout" in actions


def test_lockout_by_client_address_covers_other_accounts(client, auth):
    for name in ("a1", "a2", "a3", "a4", "a5"):
        auth.sign_in(name, "whatever password")
    assert auth.sign_in().status_code == 429


def test_idle_session_expires(app, client, auth, monkeypatch):
    auth.sign_in()
    assert client.get("/audit").status_code == 200
    real_now = db.now
    monkeypatch.setattr(db, "now", lambda: real_now() + 16 * 60)
    response = client.get("/audit")
    assert response.status_code == 303 and "/sign-in" in response.headers["Location"]


def test_absolute_session_lifetime(app, client, auth, monkeypatch):
    auth.sign_in()
    real_now = db.now
    start = real_now()
    # Keep the session busy every 10 minutes for 12 h: it still ends.
    for step in range(1, 73):
        monkeypatch.setattr(db, "now", lambda step=step: start + step * 600)
        response = client.get("/audit")
    assert response.status_code == 303


def test_htmx_request_on_expired_session_gets_hx_redirect(client, auth, monkeypatch):
    auth.sign_in()
    real_now = db.now
    monkeypatch.setattr(db, "now", lambda: real_now() + 3600)
    response = client.get("/audit", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response.headers["HX-Redirect"].startswith("/sign-in")


def test_cookie_flags_over_tls(tmp_path):
    app = make_app(tmp_path / "tls-instance", TLS="true")
    with app.app_context():
        users.create(db.get_db(), "admin", ADMIN_PASSWORD, "administrator", must_change=False)
    client = app.test_client()
    page = client.get("/sign-in", base_url="https://localhost")
    token = csrf_from(page.get_data(as_text=True))
    response = client.post("/sign-in", base_url="https://localhost",
                           headers={"Referer": "https://localhost/sign-in"},
                           data={"username": "admin", "password": ADMIN_PASSWORD,
                                 "csrf_token": token})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=Strict" in cookie
    assert "Strict-Transport-Security" in response.headers
