"""Shared fixtures: an app on a temporary instance, a client, and sign-in helpers."""

from __future__ import annotations

import re

import pytest

from webui import create_app, db
from webui.auth import users

from e2e_support import browser, browser_page, live_server  # noqa: F401

ADMIN_PASSWORD = "correct horse battery staple 42"
VIEWER_PASSWORD = "viewer tangerine orbit lantern 7"
FAST_ARGON2 = {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}
CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|'
                     r'name="csrf_token" value="([^"]+)"')


def make_app(instance, **overrides):
    config = {"INSTANCE": str(instance), "TESTING": True, "TLS": "false",
              "DEVICE_NAME": "edge-test", "ARGON2_PARAMS": FAST_ARGON2,
              "COPYLOG_ROOTS": "", **overrides}
    return create_app(config)


@pytest.fixture
def app(tmp_path, monkeypatch):
    for name in list(__import__("os").environ):
        if name.startswith("WEBUI_"):
            monkeypatch.delenv(name)
    app = make_app(tmp_path / "instance")
    with app.app_context():
        conn = db.get_db()
        users.create(conn, "admin", ADMIN_PASSWORD, "administrator", must_change=False)
        users.create(conn, "viewer", VIEWER_PASSWORD, "viewer", must_change=False)
    yield app
    app.extensions["jobs"].shutdown()


@pytest.fixture
def client(app):
    return app.test_client()


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1) or match.group(2)


class AuthActions:
    def __init__(self, client):
        self.client = client

    def csrf(self) -> str:
        response = self.client.get("/account/password")
        if response.status_code != 200:
            response = self.client.get("/sign-in")
        return csrf_from(response.get_data(as_text=True))

    def sign_in(self, username="admin", password=ADMIN_PASSWORD, follow=False):
        token = csrf_from(self.client.get("/sign-in").get_data(as_text=True))
        return self.client.post("/sign-in", data={"username": username, "password": password,
                                                  "csrf_token": token},
                                follow_redirects=follow)

    def sign_in_viewer(self):
        return self.sign_in("viewer", VIEWER_PASSWORD)

    def post(self, path, data=None, **kwargs):
        data = dict(data or {})
        data.setdefault("csrf_token", self.csrf())
        return self.client.post(path, data=data, **kwargs)

    def api(self, method, path, json=None, **kwargs):
        headers = {"X-CSRFToken": self.csrf(), **kwargs.pop("headers", {})}
        return self.client.open(path, method=method, json=json, headers=headers, **kwargs)


@pytest.fixture
def auth(client):
    return AuthActions(client)

