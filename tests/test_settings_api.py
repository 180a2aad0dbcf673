"""``/api/v1/settings`` and the Settings page as an admin, a viewer and a script use them: each
value with its source, changes checked field by field, pinned settings refused, and a change in
force at once (the time_sync test asks the new NTP server)."""

from __future__ import annotations

import re

import pytest

from webui import config

from conftest import AuthActions, csrf_from, finished
from network_peers import SntpResponder

API = "/api/v1/settings"
PASSWORD = "proxy-secret-7f3a"


@pytest.fixture
def app(site_app):
    return site_app


@pytest.fixture
def admin(app):
    actions = AuthActions(app.test_client())
    actions.sign_in()
    return actions


@pytest.fixture
def viewer(app):
    actions = AuthActions(app.test_client())
    actions.sign_in_viewer()
    return actions


def test_get_answers_each_value_with_its_source_and_hides_the_password(app, viewer):
    body = viewer.client.get(API).get_json()
    assert body["ntp_servers"] == {"value": ["127.0.0.1:9"], "source": "config_file",
                                   "editable": True}
    assert body["location"] == {"value": "", "source": "default", "editable": True}
    assert body["proxy_password"]["value"] == {"set": False}
    assert set(body) == {"device_name", "description", "location", "time_zone", "ntp_servers",
                         "proxy_url", "proxy_user", "proxy_password", "no_proxy",
                         "cloud_endpoints", "support_upload_url", "support_upload_ca"}


def test_a_viewer_cannot_change_settings(app, viewer):
    assert viewer.api("PATCH", API, {"location": "Rack 4"}).status_code == 403
    assert app.config["LOCATION"] == ""


def test_patch_answers_the_new_values_and_never_the_password(app, admin):
    answer = admin.api("PATCH", API, {"location": "Rack 4", "proxy_url": "http://127.0.0.1:3128",
                                      "proxy_password": PASSWORD, "no_proxy": [".corp.example"]})
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["location"] == {"value": "Rack 4", "source": "ui", "editable": True}
    assert body["no_proxy"]["value"] == [".corp.example"]
    assert body["proxy_password"]["value"] == {"set": True}
    assert PASSWORD not in answer.get_data(as_text=True)
    assert PASSWORD not in admin.client.get(API).get_data(as_text=True)
    assert app.config["PROXY_URL"] == "http://127.0.0.1:3128"
    assert app.config["PROXY_PASSWORD"] == PASSWORD


@pytest.mark.parametrize(("body", "field", "rule"), [
    ({"device_name": "edge_01"}, "device_name", ""),
    ({"proxy_url": "https://proxy.example.net:3128"}, "proxy_url",
     "HTTPS proxy URLs are not supported"),
    ({"time_zone": "Mars/Olympus"}, "time_zone", ""),
    ({"ntp_servers": []}, "ntp_servers", ""),
    ({"ntp_servers": ["a.example", "b.example", "c.example"]}, "ntp_servers", ""),
    ({"location": None}, "location", ""),
    ({"hostname": "edge"}, "hostname", "not a field of this request"),
    ({"cloud_endpoints": "127.0.0.1:9"}, "cloud_endpoints", ""),
])
def test_invalid_changes_are_refused_naming_the_field(app, admin, body, field, rule):
    answer = admin.api("PATCH", API, body)
    assert answer.status_code == 422
    assert answer.mimetype == "application/problem+json"
    errors = answer.get_json()["errors"]
    assert [error["field"] for error in errors] == [field]
    assert rule in errors[0]["rule"]
    assert all(item["source"] != "ui" for item in admin.client.get(API).get_json().values())


@pytest.fixture
def location_in_the_environment(monkeypatch):
    monkeypatch.setenv("WEBUI_LOCATION", "Ship, deck 2")


def test_a_setting_the_environment_sets_is_pinned(location_in_the_environment, app, admin):
    assert admin.client.get(API).get_json()["location"] == {
        "value": "Ship, deck 2", "source": "environment", "editable": False}
    answer = admin.api("PATCH", API, {"location": "Rack 4", "description": "x"})
    assert answer.status_code == 409
    assert answer.get_json()["pinned"] == ["location"]
    assert "location" in answer.get_json()["detail"]
    assert app.config["DESCRIPTION"] == ""
    page = admin.client.get("/settings").get_data(as_text=True)
    assert "set by the environment, read-only here" in page
    location_input = re.search(r'<input[^>]*id="location"[^>]*>', page)[0]
    assert " disabled" in location_input and " readonly" in location_input


def test_the_time_sync_test_asks_the_new_ntp_server_at_once(app, admin):
    responder = SntpResponder()
    server = responder.address
    try:
        answer = admin.api("PATCH", API, {"ntp_servers": [server, "127.0.0.1:9"]})
        assert answer.status_code == 200, answer.get_json()
        started = admin.api("POST", "/api/v1/diagnostics/runs", {"tests": ["time_sync"]})
        assert started.status_code == 202, started.get_json()
        run = finished(admin.client, f"/api/v1/diagnostics/runs/{started.get_json()['id']}")
    finally:
        responder.stop()
    details = run["results"][0]["details"]
    assert details["ntp_server"] == server
    assert details["ntp_answer"]["stratum"] == 2
    assert responder.queries == 1


def test_the_time_sync_test_asks_the_secondary_ntp_server_too(app, admin):
    responder = SntpResponder()
    server = responder.address
    try:
        answer = admin.api("PATCH", API, {"ntp_servers": ["127.0.0.1:9", server]})
        assert answer.status_code == 200, answer.get_json()
        started = admin.api("POST", "/api/v1/diagnostics/runs", {"tests": ["time_sync"]})
        run = finished(admin.client, f"/api/v1/diagnostics/runs/{started.get_json()['id']}")
    finally:
        responder.stop()
    [result] = run["results"]
    primary, secondary = result["details"]["ntp_servers"]
    assert primary["server"] == "127.0.0.1:9" and "error" in primary
    assert secondary["server"] == server and secondary["answer"]["stratum"] == 2
    assert responder.queries == 1
    assert f"{server} answers" in result["summary"]


# The page


def test_an_admin_saves_a_section_and_sees_it_in_force(app, admin):
    page = admin.client.get("/settings").get_data(as_text=True)
    for heading in ("Device", "Time", "Web proxy", "Cloud and support endpoints"):
        assert f">{heading}</h2>" in page
    saved = admin.client.post("/settings/device", data={
        "csrf_token": csrf_from(page), "device_name": "edge-42", "description": "Line 3",
        "location": "Hall 2", "time_zone": "Europe/Berlin"}, follow_redirects=True)
    assert saved.status_code == 200
    assert "Device settings saved" in saved.get_data(as_text=True)
    assert (app.config["DEVICE_NAME"], app.config["TIME_ZONE"]) == ("edge-42", "Europe/Berlin")
    assert app.config[config.SOURCES]["LOCATION"] == config.UI


def test_a_bad_value_is_shown_next_to_its_field(app, admin):
    page = admin.client.get("/settings").get_data(as_text=True)
    refused = admin.client.post("/settings/proxy", data={
        "csrf_token": csrf_from(page), "proxy_url": "https://proxy.example.net:3128"})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert re.search(r'class="field-error" id="proxy_url-error">proxy_url: expected '
                     r'http://host:port: HTTPS proxy URLs are not supported', html)
    assert 'value="https://proxy.example.net:3128"' in html
    assert app.config["PROXY_URL"] == ""


def test_the_stored_password_is_kept_when_the_field_is_left_empty(app, admin):
    admin.api("PATCH", API, {"proxy_url": "http://127.0.0.1:3128", "proxy_password": PASSWORD})
    page = admin.client.get("/settings").get_data(as_text=True)
    assert PASSWORD not in page
    admin.client.post("/settings/proxy", data={
        "csrf_token": csrf_from(page), "proxy_url": "http://127.0.0.1:3129", "proxy_password": ""})
    assert (app.config["PROXY_URL"], app.config["PROXY_PASSWORD"]) == (
        "http://127.0.0.1:3129", PASSWORD)
    admin.client.post("/settings/proxy", data={
        "csrf_token": csrf_from(page), "proxy_url": "http://127.0.0.1:3129",
        "forget_password": "y"})
    assert app.config["PROXY_PASSWORD"] == ""


def test_a_viewer_reads_the_sections_without_forms(app, viewer):
    page = viewer.client.get("/settings").get_data(as_text=True)
    assert ">Time</h2>" in page and "127.0.0.1:9" in page
    assert 'action="/settings/' not in page
    refused = viewer.client.post("/settings/device", data={"device_name": "edge-9"})
    assert refused.status_code in (400, 403)
    assert app.config["DEVICE_NAME"] != "edge-9"
