"""Configuration > Host: what the host says, changes confirmed first and carried out by the
backend (dry-run by default; systemd against fake tools on PATH), administrators only, CSRF,
audit and hostile values. The host root is a temporary tree; nothing real runs."""

from __future__ import annotations

import html
import re
from pathlib import Path
from urllib.parse import quote

import pytest

from webui import db

import fake_tools
from fake_tools import commands as recorded

FAILING = fake_tools.failing("Failed to set time zone: Access denied", 1)
ACTION_RE = re.compile(r'<form method="post" action="(/host/[^"]+)"')


@pytest.fixture
def root(app, tmp_path):
    """A host tree with systemd-timesyncd, a name and a zone, as the Host page's host."""
    host = tmp_path / "host"
    (host / "etc/systemd").mkdir(parents=True)
    (host / "etc/systemd/timesyncd.conf").write_text("[Time]\nNTP=old.example.net\n")
    (host / "etc/hostname").write_text("build-box\n")
    (host / "etc/timezone").write_text("Europe/Lisbon\n")
    app.config["SYSTEM_HOST_ROOT"] = str(host)
    return host


@pytest.fixture
def fake_bin(app, tmp_path, monkeypatch):
    """Recording tools as the only thing on PATH, and the systemd backend."""
    directory, log = tmp_path / "fake-bin", tmp_path / "commands.log"
    fake_tools.install(directory, log, ("hostnamectl", "timedatectl", "systemctl", "chronyc"))
    monkeypatch.setenv("PATH", str(directory))
    app.config["SYSTEM_BACKEND"] = "systemd"
    return directory, log


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def host_audit(app) -> list[tuple]:
    with app.app_context():
        return [tuple(r) for r in db.get_db().execute(
            "SELECT actor, action, target, outcome FROM audit WHERE action LIKE 'host_%' "
            "ORDER BY id")]


def confirm_and_apply(client, auth, path: str):
    """Open the confirmation page at ``path`` and press its button."""
    page = client.get(path)
    assert page.status_code == 200, page.get_data(as_text=True)
    action = html.unescape(ACTION_RE.search(page.get_data(as_text=True)).group(1))
    return page, auth.post(action)


def test_page_shows_the_host_as_it_is_and_prefills_the_forms(app, client, auth, root):
    # The forms offer the device's own settings to the host, which reads otherwise.
    app.config["TIME_ZONE"] = "America/Chicago"
    auth.sign_in()
    text = client.get("/host/").get_data(as_text=True)
    assert "build-box" in text and "Europe/Lisbon" in text and "old.example.net" in text
    assert "systemd-timesyncd" in text and "<code>dry-run</code>" in text
    assert 'name="host_name" type="text" value="edge-test"' in text
    assert 'name="time_zone" type="text" value="America/Chicago"' in text
    assert 'name="primary" type="text" value="127.0.0.1"' in text
    assert 'href="/host/"' in text


def test_a_host_without_these_files_reads_as_unknown(app, client, auth, tmp_path):
    app.config["SYSTEM_HOST_ROOT"] = str(tmp_path / "nothing")
    auth.sign_in()
    text = client.get("/host/").get_data(as_text=True)
    assert "unknown (no /etc/hostname)" in text
    assert "unknown (neither systemd-timesyncd nor chrony found)" in text


def test_configured_time_zone_and_ntp_servers_prefill_the_forms(app, client, auth, root):
    app.config.update(TIME_ZONE="Asia/Tokyo", NTP_SERVERS=["ntp1.example", "ntp2.example"])
    auth.sign_in()
    text = client.get("/host/").get_data(as_text=True)
    assert 'value="Asia/Tokyo"' in text
    assert 'value="ntp1.example"' in text and 'value="ntp2.example"' in text


def test_dry_run_host_name_is_confirmed_recorded_shown_and_changes_nothing(app, client, auth,
                                                                           root):
    before = snapshot(root)
    auth.sign_in()
    page, applied = confirm_and_apply(client, auth, "/host/hostname/confirm?host_name=edge-07")
    text = page.get_data(as_text=True)
    assert "Set the host name to edge-07?" in text and "dry-run backend changes nothing" in text
    assert "hostnamectl set-hostname edge-07" in text
    assert applied.status_code == 303 and applied.headers["Location"].endswith("/host/")
    shown = client.get("/host/").get_data(as_text=True)
    assert "Dry run: the host name was not changed" in shown
    assert "Would run:" in shown and "hostnamectl set-hostname edge-07" in shown
    assert snapshot(root) == before
    assert host_audit(app) == [("admin", "host_name", "edge-07", "success")]


def test_dry_run_ntp_shows_the_drop_in_it_would_write(app, client, auth, root):
    before = snapshot(root)
    auth.sign_in()
    _page, applied = confirm_and_apply(
        client, auth, "/host/ntp/confirm?primary=ntp1.example.net&secondary=192.0.2.5")
    assert applied.status_code == 303
    shown = html.unescape(client.get("/host/").get_data(as_text=True))
    assert "Would write /etc/systemd/timesyncd.conf.d/50-edge-webui.conf" in \
        re.sub(r"<[^>]+>", "", shown)
    assert "NTP=ntp1.example.net 192.0.2.5" in shown
    assert "systemctl restart systemd-timesyncd" in shown
    assert snapshot(root) == before


def test_systemd_backend_runs_the_commands_and_writes_the_drop_in(app, client, auth, root,
                                                                  fake_bin):
    _directory, log = fake_bin
    auth.sign_in()
    confirm_and_apply(client, auth, "/host/hostname/confirm?host_name=edge-07")
    confirm_and_apply(client, auth, "/host/timezone/confirm?time_zone=America/Chicago")
    confirm_and_apply(client, auth, "/host/ntp/confirm?primary=ntp1.example.net&secondary=")
    assert recorded(log) == [["hostnamectl", "set-hostname", "edge-07"],
                             ["timedatectl", "set-timezone", "America/Chicago"],
                             ["systemctl", "restart", "systemd-timesyncd"]]
    drop_in = root / "etc/systemd/timesyncd.conf.d/50-edge-webui.conf"
    assert drop_in.read_text().endswith("[Time]\nNTP=ntp1.example.net\n")
    text = client.get("/host/").get_data(as_text=True)
    assert "Changed the host&#39;s NTP servers to ntp1.example.net." in text
    assert "ntp1.example.net" in text and "Ran:" in text
    assert [row[3] for row in host_audit(app)] == ["success"] * 3


def test_a_failing_command_is_shown_and_audited_never_a_500(app, client, auth, root, fake_bin):
    directory, _log = fake_bin
    (directory / "timedatectl").write_text(FAILING)
    auth.sign_in()
    _page, applied = confirm_and_apply(client, auth,
                                       "/host/timezone/confirm?time_zone=America/Chicago")
    assert applied.status_code == 303
    text = client.get("/host/").get_data(as_text=True)
    assert "The time zone was not changed: timedatectl set-timezone America/Chicago failed " \
           "(exit status 1): Failed to set time zone: Access denied" in text
    assert host_audit(app) == [("admin", "host_time_zone", "America/Chicago", "failure")]


@pytest.mark.parametrize("path, rule", [
    ("/host/hostname/confirm?host_name=edge_07", "RFC 1123"),
    ("/host/timezone/confirm?time_zone=Mars/Olympus", "IANA time zone"),
    ("/host/ntp/confirm?primary=pool.ntp.org:123", "host names or IP addresses"),
    ("/host/ntp/confirm?primary=&secondary=a.example", "primary NTP server is required")])
def test_a_bad_value_is_refused_before_confirming_with_the_rule(client, auth, root, path, rule):
    auth.sign_in()
    answer = client.get(path)
    assert answer.status_code == 422 and rule in answer.get_data(as_text=True)


def test_a_bad_value_posted_directly_is_refused_and_audited(app, client, auth, root, fake_bin):
    _directory, log = fake_bin
    auth.sign_in()
    answer = auth.post("/host/hostname?host_name=" + quote("edge;reboot"))
    assert answer.status_code == 422 and "RFC 1123" in answer.get_data(as_text=True)
    assert recorded(log) == []
    assert host_audit(app) == [("admin", "host_name", None, "refused")]


@pytest.mark.parametrize("value", ["", "x" * 100_000, "%00%01%1b%0a", "%ED%A0%80", "%FF%FE",
                                   "--help", "a%20b"])
@pytest.mark.parametrize("path, name", [("/host/hostname", "host_name"),
                                        ("/host/timezone", "time_zone"), ("/host/ntp", "primary")])
def test_hostile_values_never_reach_a_command(client, auth, root, fake_bin, path, name, value):
    _directory, log = fake_bin
    auth.sign_in()
    for url in (f"{path}/confirm?{name}={value}", f"{path}?{name}={value}"):
        answer = client.get(url) if "confirm" in url else auth.post(url)
        assert answer.status_code == 422
        assert "Traceback" not in answer.get_data(as_text=True)
    assert recorded(log) == []


def test_without_the_security_token_nothing_happens(app, client, auth, root, fake_bin):
    _directory, log = fake_bin
    auth.sign_in()
    answer = client.post("/host/hostname?host_name=edge-07")
    assert answer.status_code == 400
    assert recorded(log) == [] and host_audit(app) == []


def test_viewers_neither_see_nor_use_the_host_page(app, client, auth, root, fake_bin):
    _directory, log = fake_bin
    auth.sign_in_viewer()
    assert 'href="/host/"' not in client.get("/").get_data(as_text=True)
    assert client.get("/host/").status_code == 403
    assert client.get("/host/hostname/confirm?host_name=edge-07").status_code == 403
    assert auth.post("/host/hostname?host_name=edge-07").status_code == 403
    assert recorded(log) == [] and host_audit(app) == []


# --- API ------------------------------------------------------------------------------------

def test_api_dry_run_answers_what_would_be_done(app, client, auth, root):
    before = snapshot(root)
    auth.sign_in()
    answer = auth.api("POST", "/api/v1/system/ntp", {"servers": ["ntp1.example.net"]})
    assert answer.status_code == 200
    assert answer.get_json() == {
        "operation": "ntp", "value": "ntp1.example.net", "backend": "dry-run",
        "simulated": True, "error": None,
        "commands": [["systemctl", "restart", "systemd-timesyncd"]],
        "files": [{"path": "/etc/systemd/timesyncd.conf.d/50-edge-webui.conf",
                   "content": answer.get_json()["files"][0]["content"]}]}
    assert answer.get_json()["files"][0]["content"].endswith("[Time]\nNTP=ntp1.example.net\n")
    assert snapshot(root) == before
    assert host_audit(app) == [("admin", "host_ntp", "ntp1.example.net", "success")]


def test_api_systemd_runs_and_a_failure_is_a_502_with_the_reason(app, client, auth, root,
                                                                 fake_bin):
    directory, log = fake_bin
    auth.sign_in()
    done = auth.api("POST", "/api/v1/system/hostname", {"host_name": "edge-07"})
    assert done.status_code == 200 and done.get_json()["simulated"] is False
    assert recorded(log) == [["hostnamectl", "set-hostname", "edge-07"]]
    (directory / "timedatectl").write_text(FAILING)
    failed = auth.api("POST", "/api/v1/system/timezone", {"time_zone": "UTC"})
    assert failed.status_code == 502 and failed.mimetype == "application/problem+json"
    assert failed.get_json()["detail"] == ("timedatectl set-timezone UTC failed (exit status 1): "
                                           "Failed to set time zone: Access denied")


@pytest.mark.parametrize("path, body, field", [
    ("/api/v1/system/hostname", {"host_name": "edge;reboot"}, "host_name"),
    ("/api/v1/system/hostname", {"host_name": "a" * 65}, "host_name"),
    ("/api/v1/system/timezone", {"time_zone": "Mars/Olympus"}, "time_zone"),
    ("/api/v1/system/ntp", {"servers": []}, "servers"),
    ("/api/v1/system/ntp", {"servers": ["fe80::1%x\nserver evil.example"]}, "servers"),
    ("/api/v1/system/ntp", {"servers": ["a.example", "a.example"]}, "servers")])
def test_api_refuses_bad_values_naming_the_field(client, auth, root, fake_bin, path, body,
                                                 field):
    _directory, log = fake_bin
    auth.sign_in()
    answer = auth.api("POST", path, body)
    assert answer.status_code == 422
    assert field in [error["field"].split(".")[0] for error in answer.get_json()["errors"]]
    assert recorded(log) == []


def test_api_is_for_administrators(client, auth, root):
    auth.sign_in_viewer()
    assert auth.api("POST", "/api/v1/system/hostname", {"host_name": "edge-07"}
                    ).status_code == 403
