"""The Notifications page: admins add, edit, disable, test and remove channels (CSRF, field
rules named); viewers neither see nor reach it; secrets are never shown back nor audited."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from urllib.parse import quote

import pytest

from webui import db
from webui.notifications import channels, delivery

from conftest import csrf_from

PASSWORD = "mail pass 5d1e"
SECRET = "hook secret 0b9c"
EMAIL = {"name": "Ops mail", "min_severity": "warning", "enabled": "y", "host": "127.0.0.1",
         "port": "587", "security": "starttls", "username": "alerts", "password": PASSWORD,
         "sender": "edge@example.test", "recipients": "ops@example.test\noncall@example.test",
         "ca_file": ""}


@pytest.fixture
def admin(auth):
    auth.sign_in()
    return auth


@pytest.fixture
def listener():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5)
    yield sock
    sock.close()


def page(client, path="/notifications/"):
    return client.get(path).get_data(as_text=True)


def _instance(app):
    return Path(app.config["INSTANCE"])


def stored(app):
    with app.app_context():
        return channels.all_channels(db.get_db())


def audit_rows(app):
    with app.app_context():
        return [dict(row) for row in db.get_db().execute(
            "SELECT action, target, detail FROM audit WHERE action LIKE 'notification%' "
            "ORDER BY id")]


def add_syslog(admin, port, name="Local syslog", transport="udp"):
    return admin.post("/notifications/new/syslog", {
        "name": name, "min_severity": "informational", "enabled": "y",
        "transport": transport, "host": "127.0.0.1", "port": str(port), "facility": "local3"})


def test_a_viewer_neither_sees_nor_reaches_the_page(client, auth):
    auth.sign_in_viewer()
    assert 'href="/notifications/"' not in page(client, "/")
    assert client.get("/notifications/").status_code == 403
    assert client.get("/notifications/new/email").status_code == 403
    assert auth.post("/notifications/new/email", EMAIL).status_code == 403


def test_an_admin_finds_it_under_configuration(client, admin):
    assert 'href="/notifications/"' in page(client, "/")
    assert "No channels yet" in page(client)


def test_an_admin_adds_an_email_channel_and_its_password_is_never_shown(app, client, admin):
    answer = admin.post("/notifications/new/email", EMAIL)
    assert answer.status_code == 303
    [channel] = stored(app)
    assert (channel.name, channel.kind, channel.min_severity, channel.enabled) == (
        "Ops mail", "email", "warning", True)
    assert channel.settings["recipients"] == ["ops@example.test", "oncall@example.test"]
    listing = page(client)
    assert "Ops mail" in listing and "ops@example.test" in listing
    edit = page(client, f"/notifications/{channel.id}/edit")
    assert PASSWORD not in edit and PASSWORD not in listing
    assert "leave empty to keep it" in edit
    [entry] = audit_rows(app)
    assert (entry["action"], entry["target"]) == ("notification_channel_add", "Ops mail")
    assert PASSWORD not in entry["detail"]
    assert json.loads(entry["detail"])["password"] == channels.MASK


def test_editing_with_the_password_empty_keeps_it(app, client, admin):
    admin.post("/notifications/new/email", EMAIL)
    [channel] = stored(app)
    changed = {**EMAIL, "name": "Ops mail 2", "password": "", "min_severity": "critical"}
    assert admin.post(f"/notifications/{channel.id}/edit", changed).status_code == 303
    [channel] = stored(app)
    assert (channel.name, channel.min_severity) == ("Ops mail 2", "critical")
    assert channel.secret(_instance(app)) == PASSWORD
    admin.post(f"/notifications/{channel.id}/edit", {**changed, "password": "new pass 3"})
    assert stored(app)[0].secret(_instance(app)) == "new pass 3"
    admin.post(f"/notifications/{channel.id}/edit", {**changed, "forget_password": "y",
                                                      "username": ""})
    assert not stored(app)[0].has_secret
    details = " ".join(row["detail"] for row in audit_rows(app))
    assert PASSWORD not in details and "new pass 3" not in details
    assert [json.loads(row["detail"])["password_change"] for row in audit_rows(app)] == [
        "set", "unchanged", "set", "removed"]


@pytest.mark.parametrize(("kind", "values", "message"), [
    ("webhook", {"url": "http://hooks.example.test/x"}, "Only https:// URLs"),
    ("webhook", {"url": "https://user:pw@hooks.example.test/"}, "no credentials in the URL"),
    ("webhook", {"url": "https://hooks.example.test/", "ca_file": "relative.pem"},
     "absolute path"),
    ("email", {**EMAIL, "host": ""}, "Enter the SMTP server"),
    ("email", {**EMAIL, "port": "70000"}, "The port must be from 1 to 65535."),
    ("email", {**EMAIL, "security": "none"}, "only sent over an encrypted connection"),
    ("email", {**EMAIL, "recipients": "ops@example.test, not-an-address"},
     "Not an e-mail address: not-an-address."),
    ("email", {**EMAIL, "host": "bad host!"}, "Use a host name"),
    ("syslog", {"transport": "udp", "host": "", "port": "514", "facility": "daemon"},
     "Enter the syslog host"),
    ("syslog", {"transport": "tcp", "host": "10.0.0.1", "port": "", "facility": "daemon"},
     "Enter the syslog port"),
    ("syslog", {"transport": "udp", "host": "10.0.0.1", "port": "514", "facility": "kern"},
     "Not a valid choice"),
])
def test_a_bad_value_is_refused_naming_the_rule(app, client, admin, kind, values, message):
    answer = admin.post(f"/notifications/new/{kind}",
                        {"name": "x", "min_severity": "warning", **values})
    assert answer.status_code == 422
    assert message in answer.get_data(as_text=True)
    assert stored(app) == []


def test_a_name_is_unique(app, admin):
    admin.post("/notifications/new/email", EMAIL)
    answer = admin.post("/notifications/new/email", {**EMAIL, "name": "OPS MAIL"})
    assert answer.status_code == 422
    assert "A channel named OPS MAIL already exists." in answer.get_data(as_text=True)


def test_changes_need_the_csrf_token(app, client, admin):
    assert client.post("/notifications/new/email", data=EMAIL).status_code == 400
    assert stored(app) == []


@pytest.mark.parametrize("asked", ["99999999999999999999", "-1", "x", "1e3", "7" * 5000])
def test_a_test_outcome_asked_for_that_is_no_row_is_ignored(client, admin, asked):
    answer = client.get(f"/notifications/?test={asked}")
    assert answer.status_code == 200
    assert "test-outcome" not in answer.get_data(as_text=True)


def test_an_unknown_kind_or_channel_is_404(client, admin):
    assert client.get("/notifications/new/pigeon").status_code == 404
    assert client.get("/notifications/99/edit").status_code == 404
    assert admin.post("/notifications/99/delete").status_code == 404
    assert admin.post("/notifications/99/test").status_code == 404


def test_an_admin_disables_enables_and_removes_a_channel(app, client, admin, listener):
    add_syslog(admin, listener.getsockname()[1])
    [channel] = stored(app)
    admin.post(f"/notifications/{channel.id}/disable")
    assert not stored(app)[0].enabled
    admin.post(f"/notifications/{channel.id}/enable")
    assert stored(app)[0].enabled
    confirm = page(client, f"/notifications/{channel.id}/delete/confirm")
    assert "Remove the channel Local syslog?" in confirm
    assert admin.post(f"/notifications/{channel.id}/delete",
                      {"csrf_token": csrf_from(confirm)}).status_code == 303
    assert stored(app) == []
    assert [row["action"] for row in audit_rows(app)] == [
        "notification_channel_add", "notification_channel_disable",
        "notification_channel_enable", "notification_channel_delete"]


def _send_test(admin, channel_id):
    answer = admin.post(f"/notifications/{channel_id}/test")
    assert answer.status_code == 303
    return answer.headers["Location"]


def test_the_test_button_reports_a_real_sent(app, client, admin, listener):
    add_syslog(admin, listener.getsockname()[1])
    [channel] = stored(app)
    outcome = _send_test(admin, channel.id)
    waiting = page(client, outcome)
    assert "being sent" in waiting and "hx-trigger" in waiting  # the request did not wait

    delivery.deliverer(app).tick()

    assert b"Test notification from edge-test" in listener.recv(65535)
    shown = page(client, outcome)
    assert "Sent</span>" in shown and "the destination accepted it" in shown
    [test_id] = [row["detail"] for row in audit_rows(app) if row["action"] == "notification_test"]
    poll = client.get(f"/notifications/tests/{json.loads(test_id)['delivery']}")
    assert poll.status_code == 286  # htmx stops polling


def test_the_test_button_reports_a_failure_with_its_reason(app, client, admin):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    add_syslog(admin, port, transport="tcp")
    [channel] = stored(app)
    outcome = _send_test(admin, channel.id)
    delivery.deliverer(app).tick()
    shown = page(client, outcome)
    assert "Failed</span>" in shown and f"127.0.0.1:{port}: Connection refused" in shown


def test_the_test_button_reports_suppression_by_the_mode(app, client, admin, listener):
    add_syslog(admin, listener.getsockname()[1])
    [channel] = stored(app)
    with app.app_context():
        db.put_setting(db.get_db(), "connectivity_mode", "fully_disconnected", "test")
    outcome = _send_test(admin, channel.id)
    delivery.deliverer(app).tick()
    shown = page(client, outcome)
    assert "Suppressed</span>" in shown and "the device is fully disconnected" in shown


# Raw form values, already percent-encoded: wrong types, too long, control characters, bytes
# that are not UTF-8, integers beyond 64 bits.
HOSTILE = ["", quote('{"a": [1]}'), "x" * 100_000, quote("\x00\x07\x1b[31m\r\n\u202e"),
           "%ED%A0%80", "%FF%FE%C0%AF", "99999999999999999999", "-1e309"]
VALID = {"email": EMAIL,
         "webhook": {"name": "hook", "min_severity": "warning", "enabled": "y",
                     "url": "https://hooks.example.test/x", "secret": SECRET, "ca_file": ""},
         "syslog": {"name": "log", "min_severity": "critical", "enabled": "y",
                    "transport": "udp", "host": "127.0.0.1", "port": "514",
                    "facility": "daemon"}}


@pytest.mark.parametrize("kind", sorted(VALID))
def test_hostile_values_in_every_field_answer_no_server_error(app, client, admin, kind, caplog):
    admin.post(f"/notifications/new/{kind}", {**VALID[kind], "name": "kept"})
    [channel] = stored(app)
    token = admin.csrf()
    for path in (f"/notifications/new/{kind}", f"/notifications/{channel.id}/edit"):
        for field in VALID[kind]:
            for hostile in HOSTILE:
                values = {**VALID[kind], "name": "other", "csrf_token": token}
                body = "&".join(f"{name}={hostile if name == field else quote(value)}"
                                for name, value in values.items())
                answer = client.post(path, data=body,
                                     content_type="application/x-www-form-urlencoded")
                assert answer.status_code in (303, 422), (path, field, hostile[:20])
                assert "Traceback" not in answer.get_data(as_text=True)
    assert [r for r in caplog.records if r.levelname == "ERROR"] == []
    names = {c.name for c in stored(app)}
    assert all(not any(ord(ch) < 32 for ch in name) for name in names)
