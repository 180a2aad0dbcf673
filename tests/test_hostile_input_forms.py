"""Hostile values in every HTML form: each field of each POST form found on the pages gets
wrong types, 100 kB of text, control characters, a lone surrogate (%ED%A0%80) and integers far
beyond 64 bits. No answer may be a 500 or show a traceback, and no error may be logged.

Power and host changes stay on their dry-run backends, the connectivity hooks directory is
empty, and a diagnostic run that slipped through would be caught before it probes the network.
"""

from __future__ import annotations

import logging
from html.parser import HTMLParser
from urllib.parse import quote, urlsplit

import pytest
from flask import url_for

from webui import audit, db
from webui.alerts import service as alerts
from webui.alerts.rules import Finding, Rule
from webui.auth import users
from webui.notifications import channels
from webui.support.forms import UploadForm, UsbForm
from webui.troubleshooting import service as diagnostics

from conftest import ADMIN_PASSWORD, VIEWER_PASSWORD, AuthActions, make_app
from support_helpers import file_ticket, make_package

# Raw ``application/x-www-form-urlencoded`` values, already percent-encoded.
HOSTILE = {
    "empty": "",
    "wrong type": quote('{"a": [1, 2]}'),
    "over-long": "x" * 100_000,
    "control characters": quote("\x00\x01\x07\x1b[31m\r\n\t\x7f\u202e"),
    "lone surrogate": "%ED%A0%80",
    "lone surrogate in text": "name%ED%B2%80end",
    "invalid UTF-8": "%FF%FE%C0%AF",
    "huge integer": "99999999999999999999",
    "negative huge integer": "-99999999999999999999",
    "float overflow": "1e309",
}
SIGNED_OUT = {"auth.sign_in"}
# Valid values for the other fields, so one hostile field is not hidden behind empty ones.
TICKET = {"summary": "Uploads stall every night", "problem_type": "data_transfer",
          "severity": "B", "started_at": "2026-11-20T22:15",
          "description": "Share uploads stop at 02:00.", "contact_name": "Ada Field",
          "email": "ada@example.com", "contact_method": "email"}
# Forms a page shows only with an upload endpoint, a USB drive or a package being made: their
# fields come from the form classes.
UNSHOWN = {"support.upload_ticket": UploadForm, "support.copy_ticket_to_usb": UsbForm,
           "support.cancel_package": None}
FORM_ENDPOINTS = [
    "alerts.acknowledge", "auth.change_password", "auth.sign_in", "auth.sign_out",
    "certificates.generate", "certificates.upload", "connectivity.change_mode",
    "dashboard.dismiss_banner", "notifications.add", "notifications.change",
    "notifications.delete", "notifications.disable", "notifications.enable",
    "notifications.send_test", "power.cancel", "power.submit", "settings.save",
    "support.cancel_package", "support.copy_ticket_to_usb",
    "support.create_package", "support.create_ticket", "support.delete_package",
    "support.upload_ticket", "system.set_host_name", "system.set_ntp_servers",
    "system.set_time_zone", "troubleshooting.start_run", "users.add", "users.create_token",
    "users.delete", "users.reset_password", "users.revoke_token", "users.set_role",
]


class Forms(HTMLParser):
    """POST forms of a page: action and the fields' names with the values the page gives."""

    def __init__(self, page_url: str):
        super().__init__()
        self.page_url, self.forms, self._form, self._select = page_url, [], None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and (attrs.get("method") or "").lower() == "post":
            self._form = {"action": attrs.get("action") or self.page_url, "fields": {}}
            self.forms.append(self._form)
        elif tag == "option" and self._select and ("selected" in attrs
                                                   or not self._form["fields"][self._select]):
            self._form["fields"][self._select] = attrs.get("value", "")
        elif self._form is None or not attrs.get("name"):
            return
        elif tag == "input" and attrs.get("type") not in ("submit", "button"):
            checked = attrs.get("type") not in ("checkbox", "radio") or "checked" in attrs
            fields = self._form["fields"]
            if checked or attrs["name"] not in fields:
                fields[attrs["name"]] = attrs.get("value", "") if checked else ""
        elif tag in ("textarea", "select"):
            self._form["fields"].setdefault(attrs["name"], "")
            self._select = attrs["name"] if tag == "select" else None

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


@pytest.fixture(scope="module")
def device(tmp_path_factory):
    """One app with a second user, a token, a ready package and ticket, a scheduled dry-run
    restart, an open alert and two notification channels (one disabled) that lead nowhere,
    so every form the UI has is on some page."""
    base = tmp_path_factory.mktemp("forms")
    (base / "hooks").mkdir()
    with pytest.MonkeyPatch.context() as patch:
        for name in [n for n in __import__("os").environ if n.startswith("WEBUI_")]:
            patch.delenv(name)
        patch.setattr(diagnostics, "_execute", _no_probes)
        app = make_app(base / "instance", POWER_BACKEND="dry-run", SYSTEM_BACKEND="dry-run",
                       HOOKS_DIR=str(base / "hooks"))
        with app.app_context():
            users.create(db.get_db(), "admin", ADMIN_PASSWORD, "administrator", must_change=False)
            users.create(db.get_db(), "viewer", VIEWER_PASSWORD, "viewer", must_change=False)
        auth = AuthActions(app.test_client())
        auth.sign_in()
        token = auth.api("POST", "/api/v1/tokens", {"name": "monitor"})
        assert token.status_code == 201
        with app.app_context():
            viewer_id = users.by_name(db.get_db(), "viewer")["id"]
            [raised] = alerts.apply(db.get_db(), {Rule(
                id="share_errors", severity="warning", title="Upload errors", message="m",
                action="a", raises="r", clears="c", check=lambda facts: []): [Finding()]}, 0)
            syslog = {"transport": "udp", "host": "127.0.0.1", "port": 9, "facility": "daemon"}
            made = [channels.add(db.get_db(), base / "instance", audit.CONSOLE, name=name,
                                 kind="syslog", min_severity="warning", enabled=enabled,
                                 settings=syslog)
                    for name, enabled in (("On", True), ("Off", False))]
        package = make_package(auth)
        ticket = file_ticket(auth)
        assert auth.api("POST", "/api/v1/power", {"action": "restart", "delay_minutes": 60}
                        ).status_code == 202
        pages = [rule.rule for rule in app.url_map.iter_rules()
                 if "GET" in (rule.methods or ()) and not rule.arguments
                 and not rule.rule.startswith(("/api/", "/static", "/metrics", "/healthz"))
                 and not rule.rule.endswith(".csv")]
        pages += [f"/troubleshooting/support/tickets/{ticket['id']}",
                  f"/alerts/{raised.alert_id}",
                  "/notifications/new/email", "/notifications/new/webhook",
                  "/notifications/new/syslog", f"/notifications/{made[0].id}/edit",
                  f"/notifications/{made[0].id}/delete/confirm",
                  "/power/confirm?action=restart&delay_minutes=0&message=",
                  "/power/confirm?action=shutdown&delay_minutes=60&message=bye",
                  "/host/hostname/confirm?host_name=edge-07",
                  "/host/timezone/confirm?time_zone=UTC",
                  "/host/ntp/confirm?primary=127.0.0.1&secondary=",
                  f"/users/{viewer_id}/reset/confirm", f"/users/{viewer_id}/delete/confirm",
                  f"/users/tokens/{token.get_json()['id']}/revoke/confirm"]
        forms = discover(app, auth.client, pages)
        forms.update(discover(app, app.test_client(), ["/sign-in"]))
        with app.test_request_context():
            forms.update(unshown_forms(ticket["id"], package["id"]))
        forms["support.create_ticket"]["fields"].update(TICKET, package=package["id"])
        yield app, forms
        app.extensions["jobs"].shutdown()


def _no_probes(*args, **kwargs):
    raise AssertionError("a hostile form value started a diagnostic run")


def discover(app, client, pages: list[str]) -> dict[str, dict]:
    """{endpoint: {"path", "page", "fields"}} of every POST form on the pages."""
    adapter = app.url_map.bind("localhost")
    found = {}
    for page in pages:
        response = client.get(page)
        if response.mimetype != "text/html":
            continue
        parser = Forms(page)
        parser.feed(response.get_data(as_text=True))
        for form in parser.forms:
            path = urlsplit(form["action"]).path
            endpoint, _ = adapter.match(path, method="POST")
            found.setdefault(endpoint, {"path": path, "page": page, "fields": form["fields"]})
    return found


def unshown_forms(ticket_id: str, package_id: str) -> dict[str, dict]:
    ids = {"ticket_id": ticket_id, "package_id": package_id}
    found = {}
    for endpoint, form_class in UNSHOWN.items():
        names = list(form_class(meta={"csrf": False})._fields) if form_class else []
        path = url_for(endpoint, **{k: v for k, v in ids.items() if k[:-3] in endpoint})
        found[endpoint] = {"path": path, "page": None, "fields": dict.fromkeys(names, "")}
    return found


def encode(fields: dict[str, str], hostile_field: str, hostile: str) -> bytes:
    parts = [f"{quote(name)}={hostile if name == hostile_field else quote(value)}"
             for name, value in fields.items()]
    return "&".join(parts).encode()


def bodies(fields: dict[str, str]):
    """(what, body): each field hostile in turn, then the security token itself."""
    for hostile_field in [name for name in fields if name != "csrf_token"] + ["csrf_token"]:
        for kind, hostile in HOSTILE.items():
            yield f"{hostile_field} = {kind}", encode(fields, hostile_field, hostile)


def session_for(app, endpoint: str):
    client = app.test_client()
    if endpoint not in SIGNED_OUT:
        AuthActions(client).sign_in()
    return client


def test_every_post_form_route_is_found_on_a_page(device):
    app, forms = device
    routes = {rule.endpoint for rule in app.url_map.iter_rules()
              if "POST" in (rule.methods or ()) and not rule.rule.startswith("/api/")}
    assert routes == set(FORM_ENDPOINTS)
    assert sorted(forms) == FORM_ENDPOINTS
    shown = sorted(endpoint for endpoint, form in forms.items() if form["page"])
    assert shown == sorted(set(FORM_ENDPOINTS) - set(UNSHOWN))


@pytest.mark.parametrize("endpoint", FORM_ENDPOINTS)
def test_hostile_form_values_answer_no_server_error(device, endpoint, caplog):
    app, forms = device
    form = forms[endpoint]
    client = session_for(app, endpoint)
    token = AuthActions(client).csrf()
    fields = {**form["fields"], "csrf_token": token}
    answers = {}
    for what, body in bodies(fields):
        response = client.post(form["path"], data=body,
                               content_type="application/x-www-form-urlencoded")
        text = response.get_data(as_text=True)
        if response.status_code >= 500 or "Traceback" in text:
            answers[what] = response.status_code
        if endpoint == "auth.sign_out" and response.status_code < 400:
            client = session_for(app, endpoint)
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert (answers, errors) == ({}, [])
