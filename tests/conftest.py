"""Shared fixtures: an app on a temporary instance, a client, sign-in helpers, job polling."""

from __future__ import annotations

import datetime as dt
import os
import re
import time

import pytest
from flask import current_app, request

from webui import create_app, db
from webui.auth import users

from e2e_support import (  # noqa: F401
    LOOPBACK_SETTINGS,
    browser,
    browser_page,
    live_server,
    loopback_apt_sources,
    without_webui_settings,
)

ADMIN_PASSWORD = "correct horse battery staple 42"
VIEWER_PASSWORD = "viewer tangerine orbit lantern 7"
FAST_ARGON2 = {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}
CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|'
                     r'name="csrf_token" value="([^"]+)"')


WAITING = ("queued", "running")
POLL_INTERVAL = 0.05
POLL_ATTEMPTS = 1200  # a minute at most: a job that never ends fails the test


# API answers of the current test whose status its operation does not document.
UNDOCUMENTED: list[str] = []


def make_app(instance, **overrides):
    """An app on ``instance`` whose diagnostic targets are all on loopback; every API answer
    it gives is checked against the statuses its operation documents."""
    config = {"INSTANCE": str(instance), "TESTING": True, "TLS": "false",
              "DEVICE_NAME": "edge-test", "ARGON2_PARAMS": FAST_ARGON2,
              "COPYLOG_ROOTS": "", **LOOPBACK_SETTINGS, **overrides}
    app = create_app(config)
    app.after_request(_note_undocumented_status)
    return app


# Network targets on loopback in the config file, so the settings made on site may change them.
LOOPBACK_CONFIG_FILE = 'ntp_servers = ["127.0.0.1:9"]\ncloud_endpoints = ["127.0.0.1:9"]\n'


def make_site_app(instance, **overrides):
    """An app on ``instance`` whose settings made on site no start-up option pins; its
    diagnostic targets are on loopback through its config file (written unless there is one)."""
    instance.mkdir(parents=True, exist_ok=True)
    if not (instance / "config.toml").exists():
        (instance / "config.toml").write_text(LOOPBACK_CONFIG_FILE)
    app = create_app({"INSTANCE": str(instance), "TESTING": True, "TLS": "false",
                      "ARGON2_PARAMS": FAST_ARGON2, "COPYLOG_ROOTS": "",
                      "MANAGEMENT_INTERFACE": "lo", "DIAGNOSTICS_SCHEDULE": "off", **overrides})
    app.after_request(_note_undocumented_status)
    return app


def stop_app(app) -> None:
    app.extensions["copylogs"].close()
    app.extensions["jobs"].shutdown()


def _note_undocumented_status(response):
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    declared = getattr(view, "operation", None)
    if declared is not None and response.status_code not in declared.statuses(
            request.method, getattr(view, "is_public", False)):
        UNDOCUMENTED.append(f"{request.method} {request.path} answered {response.status_code}")
    return response


@pytest.fixture(autouse=True)
def api_answers_only_documented_statuses():
    """A test fails when the API answered it with a status the OpenAPI document omits."""
    UNDOCUMENTED.clear()
    yield
    assert UNDOCUMENTED == [], "statuses missing from the OpenAPI document"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """Settings come only from each test's overrides, never from the environment."""
    for name in set(os.environ) - set(without_webui_settings()):
        monkeypatch.delenv(name)


def finished(client, path: str, field: str = "state", waiting=WAITING, until=None) -> dict:
    """Poll an API resource like a script would until it leaves ``waiting`` (or ``until`` holds);
    answers its last body."""
    done = until or (lambda body: body[field] not in waiting)
    for _ in range(POLL_ATTEMPTS):
        body = client.get(path).get_json()
        if done(body):
            return body
        time.sleep(POLL_INTERVAL)
    raise AssertionError(f"{path} never got there: {body}")


def job_rows(app, kind: str | None = None) -> list[dict]:
    """The rows of the jobs table (of one kind), oldest first, as the database holds them."""
    query = "SELECT * FROM jobs" + (" WHERE kind = ?" if kind else "") + " ORDER BY created_at"
    with app.app_context():
        return [dict(row) for row in db.get_db().execute(query, (kind,) if kind else ())]


@pytest.fixture(autouse=True, scope="session")
def apt_sources_on_loopback(tmp_path_factory):
    """The update-readiness test reads apt's sources through APT_CONFIG: a loopback mirror."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("APT_CONFIG", str(loopback_apt_sources(tmp_path_factory.mktemp("apt"))))
        yield


def add_admin_and_viewer(app) -> None:
    with app.app_context():
        conn = db.get_db()
        users.create(conn, "admin", ADMIN_PASSWORD, "administrator", must_change=False)
        users.create(conn, "viewer", VIEWER_PASSWORD, "viewer", must_change=False)


@pytest.fixture
def app(tmp_path):
    app = make_app(tmp_path / "instance")
    add_admin_and_viewer(app)
    yield app
    app.extensions["jobs"].shutdown()


@pytest.fixture
def site_app(tmp_path):
    """An app with an admin and a viewer whose settings made on site are all editable."""
    app = make_site_app(tmp_path / "instance")
    add_admin_and_viewer(app)
    yield app
    stop_app(app)


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


@pytest.fixture
def frozen_clock(monkeypatch):
    """Every package (and ticket bundle) is named in the same second: 2026-11-26 10:00:00Z."""
    from diagnostics.collect import package as package_module

    frozen = dt.datetime(2026, 11, 26, 10, 0, 0, tzinfo=dt.UTC)

    class FrozenClock(dt.datetime):
        @classmethod
        def now(cls, tz=None):
            return frozen

    monkeypatch.setattr(package_module.dt, "datetime", FrozenClock)
