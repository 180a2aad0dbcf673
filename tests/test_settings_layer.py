"""Settings made on site as a layer: one set of rules with the config file, stored in the
instance database above the config file and below the environment, audited with secrets
masked, the proxy password sealed, kept across a restart."""

from __future__ import annotations

import json

import pytest

from webui import config, db
from webui.audit import Actor
from webui.device_settings import service

from conftest import LOOPBACK_CONFIG_FILE, make_site_app, stop_app

ADMIN = Actor("admin", "127.0.0.1")
PASSWORD = "proxy-secret-7f3a"


@pytest.fixture
def app(site_app):
    return site_app


def change(app, **changes):
    with app.app_context():
        return service.change(db.get_db(), app.config, ADMIN, changes)


VALID = [
    ("device_name", "edge-01", "edge-01"),
    ("device_name", "a", "a"),
    ("device_name", "x" * 63, "x" * 63),
    ("description", "  Ingest box, line 3  ", "Ingest box, line 3"),
    ("location", "Hamburg — Halle 2", "Hamburg — Halle 2"),
    ("location", "", ""),
    ("time_zone", "Europe/Berlin", "Europe/Berlin"),
    ("ntp_servers", ["ntp1.example.net"], ["ntp1.example.net"]),
    ("ntp_servers", ["192.0.2.1", "[2001:db8::1]:123"], ["192.0.2.1", "[2001:db8::1]:123"]),
    ("proxy_url", "http://proxy.example.net:3128", "http://proxy.example.net:3128"),
    ("proxy_url", "", ""),
    ("proxy_user", "edge", "edge"),
    ("proxy_password", "pässword with spaces", "pässword with spaces"),
    ("no_proxy", [".corp.example.net", "10.0.0.0/8", "192.0.2.7"],
     [".corp.example.net", "10.0.0.0/8", "192.0.2.7"]),
    ("cloud_endpoints", ["management.azure.com:443"], ["management.azure.com:443"]),
    ("cloud_endpoints", [], []),
    ("support_upload_url", "https://support.example.net/tickets",
     "https://support.example.net/tickets"),
    ("support_upload_ca", "/etc/ssl/support-ca.pem", "/etc/ssl/support-ca.pem"),
]


@pytest.mark.parametrize(("name", "value", "kept"), VALID)
def test_valid_values_are_taken_as_the_config_file_takes_them(name, value, kept):
    assert service.parse({name: value}) == {name: kept}


INVALID = [
    ("device_name", "", "RFC 1123"),
    ("device_name", "-edge", "RFC 1123"),
    ("device_name", "edge-", "RFC 1123"),
    ("device_name", "edge_01", "RFC 1123"),
    ("device_name", "edge.example", "RFC 1123"),
    ("device_name", "x" * 64, "RFC 1123"),
    ("description", "x" * 201, "200 characters"),
    ("location", "line\nbreak", "control characters"),
    ("time_zone", "Mars/Olympus", "IANA"),
    ("ntp_servers", [], "primary"),
    ("ntp_servers", ["a.example", "b.example", "c.example"], "at most 2"),
    ("ntp_servers", ["ntp.example:99999"], "host name"),
    ("ntp_servers", ["bad host"], "host name"),
    ("proxy_url", "https://proxy.example.net:3128", "HTTPS proxy URLs are not supported"),
    ("proxy_url", "http://proxy.example.net", "http://host:port"),
    ("proxy_url", "socks5://proxy.example.net:1080", "http://host:port"),
    ("proxy_user", "user:name", "':'"),
    ("proxy_password", "x" * 129, "128 characters"),
    ("no_proxy", ["not a host"], "host name"),
    ("cloud_endpoints", ["cloud.example.net:https"], "host:port"),
    ("support_upload_url", "http://support.example.net/tickets", "https://"),
    ("support_upload_ca", "relative/ca.pem", "absolute path"),
]


@pytest.mark.parametrize(("name", "value", "rule"), INVALID)
def test_invalid_values_are_refused_naming_the_field_and_the_rule(name, value, rule):
    with pytest.raises(service.Invalid) as refused:
        service.parse({name: value})
    assert [error["field"] for error in refused.value.errors] == [name]
    assert rule in refused.value.errors[0]["rule"]


@pytest.mark.parametrize(("name", "value", "rule"), INVALID[:1] + INVALID[13:14])
def test_the_config_file_refuses_what_the_ui_refuses(tmp_path, name, value, rule):
    (tmp_path / "config.toml").write_text(f"{name} = {json.dumps(value)}\n")
    with pytest.raises(config.ConfigError, match=f"WEBUI_{name.upper()}"):
        config.load(environ={"WEBUI_INSTANCE": str(tmp_path)})


def test_a_change_is_in_force_at_once_and_audited_with_old_and_new_value(app):
    change(app, device_name="edge-07", ntp_servers=["127.0.0.1:9", "127.0.0.2:9"])
    assert app.config["DEVICE_NAME"] == "edge-07"
    assert app.config["NTP_SERVERS"] == ["127.0.0.1:9", "127.0.0.2:9"]
    assert app.config["NTP_SERVER"] == "127.0.0.1:9"
    assert app.config[config.SOURCES]["DEVICE_NAME"] == config.UI
    with app.app_context():
        row = db.get_db().execute(
            "SELECT * FROM audit WHERE action = 'settings_change'").fetchone()
    assert row["actor"] == "admin" and row["outcome"] == "success"
    detail = json.loads(row["detail"])
    assert detail["device_name"]["new"] == "edge-07"
    assert detail["device_name"]["old"] == config.BY_NAME["DEVICE_NAME"].default
    assert detail["ntp_servers"] == {"old": ["127.0.0.1:9"],
                                     "new": ["127.0.0.1:9", "127.0.0.2:9"]}


def test_the_proxy_password_is_sealed_masked_in_the_audit_and_never_shown(app):
    change(app, proxy_url="http://127.0.0.1:3128", proxy_password=PASSWORD)
    assert app.config["PROXY_PASSWORD"] == PASSWORD
    with app.app_context():
        conn = db.get_db()
        stored = db.get_setting(conn, "setting.proxy_password")["value"]
        audit_rows = [row["detail"] for row in conn.execute("SELECT detail FROM audit")]
    assert PASSWORD not in stored
    assert all(PASSWORD not in detail for detail in audit_rows)
    assert json.loads(audit_rows[-1])["proxy_password"] == {"old": "", "new": service.MASK}
    assert service.current(app.config)["proxy_password"].value == {"set": True}


def test_an_invalid_change_changes_nothing(app):
    with pytest.raises(service.Invalid):
        change(app, device_name="edge-08", proxy_url="https://127.0.0.1:3128")
    assert app.config["DEVICE_NAME"] != "edge-08"
    with app.app_context():
        assert db.get_setting(db.get_db(), "setting.device_name") is None


def test_a_restart_keeps_the_settings_made_in_the_ui_above_the_config_file(tmp_path):
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "config.toml").write_text(LOOPBACK_CONFIG_FILE + 'location = "from the file"\n'
                                          'description = "from the file"\n')
    first = make_site_app(instance)
    change(first, location="Rack 4", proxy_password=PASSWORD)
    stop_app(first)
    values = config.load(environ={"WEBUI_INSTANCE": str(instance)})
    assert (values["LOCATION"], values[config.SOURCES]["LOCATION"]) == ("Rack 4", config.UI)
    assert values["DESCRIPTION"] == "from the file"
    assert values[config.SOURCES]["DESCRIPTION"] == config.CONFIG_FILE
    assert values["PROXY_PASSWORD"] == PASSWORD


def test_the_environment_pins_a_setting_over_the_ui(tmp_path, monkeypatch):
    instance = tmp_path / "instance"
    first = make_site_app(instance)
    change(first, location="Rack 4")
    stop_app(first)
    monkeypatch.setenv("WEBUI_LOCATION", "Ship, deck 2")
    app = make_site_app(instance)
    try:
        assert app.config["LOCATION"] == "Ship, deck 2"
        assert not service.current(app.config)["location"].editable
        with pytest.raises(service.Pinned) as pinned:
            change(app, location="Rack 5", description="fine")
        assert pinned.value.names == ["location"]
        assert app.config["DESCRIPTION"] == ""
    finally:
        stop_app(app)


def test_ntp_server_in_the_environment_pins_the_ntp_servers(tmp_path):
    values = config.load(environ={"WEBUI_INSTANCE": str(tmp_path),
                                  "WEBUI_NTP_SERVER": "127.0.0.1:9"})
    assert values["NTP_SERVERS"] == ["127.0.0.1:9"]
    assert values[config.SOURCES]["NTP_SERVERS"] == config.ENVIRONMENT


def test_ntp_servers_in_the_config_file_name_the_primary(tmp_path):
    (tmp_path / "config.toml").write_text('ntp_servers = ["127.0.0.1:9", "127.0.0.2:9"]\n')
    values = config.load(environ={"WEBUI_INSTANCE": str(tmp_path)})
    assert values["NTP_SERVER"] == "127.0.0.1:9"
    assert values[config.SOURCES]["NTP_SERVERS"] == config.CONFIG_FILE
