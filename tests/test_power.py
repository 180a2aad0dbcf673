"""Power: the confirm step, one action at a time, the API, restart-required reasons, and the
systemd backend against fake ``systemctl`` and ``shutdown`` executables (nothing real runs)."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import pytest

from webui import db
from webui.power import service

RECORDER = """#!/bin/sh
for arg in "$(basename "$0")" "$@"; do printf '%s\\n' "$arg"; done >> {log}
echo "<end of command>" >> {log}
"""
FAILING = """#!/bin/sh
echo "Failed to reboot system via logind: Access denied" >&2
exit 1
"""


@pytest.fixture
def fake_bin(app, tmp_path, monkeypatch):
    """Recording ``systemctl`` and ``shutdown`` first on PATH, and the systemd backend."""
    directory = tmp_path / "fake-bin"
    directory.mkdir()
    log = tmp_path / "commands.log"
    for name in ("systemctl", "shutdown"):
        path = directory / name
        path.write_text(RECORDER.format(log=log))
        path.chmod(0o755)
    monkeypatch.setenv("PATH", f"{directory}{os.pathsep}{os.environ['PATH']}")
    app.config["POWER_BACKEND"] = "systemd"
    return directory, log


def commands(log: Path) -> list[list[str]]:
    if not log.exists():
        return []
    found, current = [], []
    for line in log.read_text().splitlines():
        if line == "<end of command>":
            found.append(current)
            current = []
        else:
            current.append(line)
    return found


def stored(app) -> dict | None:
    with app.app_context():
        row = db.get_setting(db.get_db(), service.SETTING_KEY)
    return json.loads(row["value"]) if row else None


def audit_rows(app, prefix="power"):
    with app.app_context():
        return [tuple(r) for r in db.get_db().execute(
            "SELECT action, target, outcome FROM audit WHERE action LIKE ? ORDER BY id",
            (prefix + "%",))]


# --- dry-run: the whole flow in the UI ---------------------------------------------------

def test_confirm_page_names_the_device_and_says_it_is_simulated(client, auth):
    auth.sign_in()
    page = client.get("/power/confirm?action=restart&delay_minutes=5&message=New+disk")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Restart edge-test?" in text and "In 5 minutes" in text and "New disk" in text
    assert "will not restart" in text
    assert 'name="action" value="restart"' in text and 'name="delay_minutes" value="5"' in text
    assert ">Restart edge-test</button>" in text


def test_schedule_shows_everywhere_and_cancel_from_the_banner(app, client, auth):
    auth.sign_in()
    response = auth.post("/power/", {"action": "restart", "delay_minutes": "5",
                                     "message": "Disk swap"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/power/")

    other_page = client.get("/audit").get_data(as_text=True)
    assert "Restart scheduled." in other_page and "edge-test restarts at" in other_page
    assert "Disk swap" in other_page and "Cancel restart" in other_page
    assert "Power actions are simulated." in other_page
    overview = client.get("/").get_data(as_text=True)
    assert "scheduled for" in overview
    assert stored(app)["action"] == "restart" and stored(app)["requested_by"] == "admin"

    response = auth.post("/power/cancel")
    assert response.status_code == 303
    page = client.get("/power/").get_data(as_text=True)
    assert "Nothing is scheduled." in page and "was cancelled by admin" in page
    assert "Restart scheduled." not in page
    assert audit_rows(app) == [("power_request", "restart in 5 min", "success"),
                               ("power_cancel", audit_rows(app)[1][1], "success")]


def test_a_second_action_is_a_clear_conflict(app, client, auth):
    auth.sign_in()
    assert auth.api("POST", "/api/v1/power", {"action": "shutdown", "delay_minutes": 30}
                    ).status_code == 202
    api = auth.api("POST", "/api/v1/power", {"action": "restart"})
    assert api.status_code == 409
    assert "Shut down is already scheduled" in api.get_json()["detail"]
    page = auth.post("/power/", {"action": "restart", "delay_minutes": "0"})
    assert page.status_code == 409
    assert "already scheduled" in page.get_data(as_text=True)
    assert audit_rows(app)[-1][2] == "refused"


def test_restart_now_in_dry_run_explains_nothing_restarts(app, client, auth):
    auth.sign_in()
    response = auth.post("/power/", {"action": "restart", "delay_minutes": "0"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/power/restarting?action=restart")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Restart simulated" in page and "is not restarting" in page
    assert "power.js" not in page
    body = client.get("/api/v1/power").get_json()
    assert body["scheduled"] is None and body["last_request"]["state"] == "simulated"


def test_a_past_scheduled_time_shows_as_done_not_pending(app, client, auth):
    auth.sign_in()
    auth.api("POST", "/api/v1/power", {"action": "restart", "delay_minutes": 1})
    record = stored(app)
    record["at"] = record["requested_at"] - 1  # as if its minute has passed
    record["requested_at"] -= 61
    with app.app_context():
        db.put_setting(db.get_db(), service.SETTING_KEY, json.dumps(record), "admin")
    body = client.get("/api/v1/power").get_json()
    assert body["scheduled"] is None and body["last_request"]["state"] == "simulated"
    page = client.get("/power/").get_data(as_text=True)
    assert "Restart simulated at" in page and "Restart scheduled." not in page
    assert auth.api("POST", "/api/v1/power", {"action": "shutdown"}).status_code == 202


# --- API ------------------------------------------------------------------------------------

def test_api_shape(client, auth):
    auth.sign_in()
    response = auth.api("POST", "/api/v1/power",
                        {"action": "restart", "delay_minutes": 15, "message": "Patch day"})
    assert response.status_code == 202
    assert response.headers["Location"] == "/api/v1/power"
    body = response.get_json()
    scheduled = body["scheduled"]
    assert body["backend"] == "dry-run" and body["restart_required"] == []
    assert {k: scheduled[k] for k in ("action", "message", "requested_by", "state")} == {
        "action": "restart", "message": "Patch day", "requested_by": "admin",
        "state": "scheduled"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|\+00:00)", scheduled["at"])
    assert body["request"] == scheduled
    assert client.get("/api/v1/power").get_json()["scheduled"] == scheduled

    cancelled = auth.api("DELETE", "/api/v1/power")
    assert cancelled.status_code == 204 and cancelled.get_data() == b""
    assert "Content-Type" not in cancelled.headers
    state = client.get("/api/v1/power").get_json()
    assert state["scheduled"] is None and state["last_request"]["state"] == "cancelled"
    again = auth.api("DELETE", "/api/v1/power")
    assert again.status_code == 404 and again.mimetype == "application/problem+json"


@pytest.mark.parametrize(("body", "field"), [
    ({}, "action"),
    ({"action": "reboot"}, "action"),
    ({"action": ["restart"]}, "action"),
    ({"action": "restart", "delay_minutes": 7}, "delay_minutes"),
    ({"action": "restart", "delay_minutes": "5"}, "delay_minutes"),
    ({"action": "restart", "delay_minutes": True}, "delay_minutes"),
    ({"action": "restart", "delay_minutes": -1}, "delay_minutes"),
    ({"action": "restart", "message": "x" * 201}, "message"),
    ({"action": "restart", "message": "two\nlines"}, "message"),
    ({"action": "restart", "message": 42}, "message"),
    ({"action": "restart", "message": "zero\u200bwidth"}, "message"),
    ({"action": "restart", "message": "private \ue000 use"}, "message"),
    ({"action": "restart", "delay_minutes": 5.5}, "delay_minutes"),
    ({"action": "restart", "delay": 5}, "delay"),
])
def test_api_validation_names_the_field(client, auth, body, field):
    auth.sign_in()
    response = auth.api("POST", "/api/v1/power", body)
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == field


def test_api_takes_a_message_in_any_script(client, auth):
    auth.sign_in()
    message = "Redémarrage à 22 h — 再起動します 🎉"
    response = auth.api("POST", "/api/v1/power", {"action": "restart", "delay_minutes": 60,
                                                  "message": message})
    assert response.status_code == 202 and response.get_json()["request"]["message"] == message


def test_the_documented_message_pattern_allows_exactly_what_a_request_may_say(client, auth):
    auth.sign_in_viewer()
    document = client.get("/api/v1/openapi.json").get_json()
    message = document["components"]["schemas"]["PowerRequest"]["properties"]["message"]
    text = next(branch for branch in message["anyOf"]
                if branch.get("type") == "string")
    assert text["maxLength"] == service.MESSAGE_MAX
    pattern = re.compile(text["pattern"])
    wrong = [code for code in range(sys.maxunicode + 1)
             if (pattern.fullmatch(chr(code)) is None)
             == (service.message_problem(chr(code)) is None)]
    assert wrong == []


@pytest.mark.parametrize(("query", "message"), [
    ("action=restart&delay_minutes=7", "Not a valid choice"),
    ("action=hibernate&delay_minutes=0", "Not a valid choice"),
    ("action=restart&delay_minutes=0&message=" + "x" * 201, "at most 200 characters"),
])
def test_form_validation_is_shown_on_the_page(client, auth, query, message):
    auth.sign_in()
    response = client.get(f"/power/confirm?{query}")
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)


def test_viewers_see_the_state_but_every_change_is_403(app, client, auth):
    auth.sign_in()
    auth.api("POST", "/api/v1/power", {"action": "restart", "delay_minutes": 60})
    client.post("/sign-out", data={"csrf_token": auth.csrf()})
    auth.sign_in_viewer()
    page = client.get("/power/").get_data(as_text=True)
    assert "Only administrators can restart" in page and "Restart…" not in page
    assert "Cancel restart" not in client.get("/audit").get_data(as_text=True)
    assert client.get("/api/v1/power").get_json()["scheduled"]["action"] == "restart"
    assert client.get("/power/confirm?action=restart&delay_minutes=0").status_code == 403
    assert auth.post("/power/", {"action": "restart", "delay_minutes": "0"}).status_code == 403
    assert auth.post("/power/cancel").status_code == 403
    assert auth.api("POST", "/api/v1/power", {"action": "shutdown"}).status_code == 403
    assert auth.api("DELETE", "/api/v1/power").status_code == 403
    assert stored(app)["cancelled_at"] is None


# --- the systemd backend against fake executables ------------------------------------------

def test_systemd_restart_now(client, auth, fake_bin):
    _directory, log = fake_bin
    auth.sign_in()
    response = auth.post("/power/", {"action": "restart", "delay_minutes": "0"})
    assert response.status_code == 303
    assert commands(log) == [["systemctl", "reboot"]]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    boot_id = client.get("/healthz").get_json()["boot_id"]
    assert "Restarting edge-test" in page and f'data-boot-id="{boot_id}"' in page
    assert 'data-healthz="/healthz"' in page and "js/power.js" in page


def test_systemd_shutdown_now_says_the_device_is_going_off(client, auth, fake_bin):
    _directory, log = fake_bin
    auth.sign_in()
    response = auth.post("/power/", {"action": "shutdown", "delay_minutes": "0"})
    assert response.headers["Location"].endswith("/power/restarting?action=shutdown")
    assert commands(log) == [["systemctl", "poweroff"]]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Shutting down edge-test" in page and "power.js" not in page
    assert client.get("/power/restarting?action=hibernate").status_code == 404


def test_systemd_shutdown_now_with_a_message(client, auth, fake_bin):
    _directory, log = fake_bin
    auth.sign_in()
    response = auth.api("POST", "/api/v1/power", {"action": "shutdown", "message": "Moving"})
    assert response.status_code == 202
    assert commands(log) == [["systemctl", "poweroff", "--message=Moving"]]


def test_systemd_delayed_with_message_and_cancel(app, client, auth, fake_bin):
    _directory, log = fake_bin
    auth.sign_in()
    assert auth.api("POST", "/api/v1/power", {"action": "restart", "delay_minutes": 5,
                                              "message": "Back in ten minutes"}
                    ).status_code == 202
    assert auth.post("/power/cancel").status_code == 303
    assert auth.api("POST", "/api/v1/power", {"action": "shutdown", "delay_minutes": 60}
                    ).status_code == 202
    assert auth.api("DELETE", "/api/v1/power").status_code == 204
    assert commands(log) == [["shutdown", "-r", "+5", "--", "Back in ten minutes"],
                             ["shutdown", "-c"],
                             ["shutdown", "-h", "+60"],
                             ["shutdown", "-c"]]


def test_a_message_is_never_read_as_an_option(client, auth, fake_bin):
    _directory, log = fake_bin
    auth.sign_in()
    auth.api("POST", "/api/v1/power", {"action": "shutdown", "delay_minutes": 1, "message": "-c"})
    auth.api("DELETE", "/api/v1/power")
    auth.api("POST", "/api/v1/power", {"action": "restart", "message": "--force"})
    assert commands(log) == [["shutdown", "-h", "+1", "--", "-c"], ["shutdown", "-c"],
                             ["systemctl", "reboot", "--message=--force"]]


def test_a_failing_command_shows_its_error_and_schedules_nothing(app, client, auth, fake_bin):
    directory, _log = fake_bin
    (directory / "systemctl").write_text(FAILING)
    auth.sign_in()
    page = auth.post("/power/", {"action": "restart", "delay_minutes": "0"})
    assert page.status_code == 502
    text = page.get_data(as_text=True)
    assert "systemctl reboot failed (exit status 1)" in text
    assert "Access denied" in text
    api = auth.api("POST", "/api/v1/power", {"action": "restart"})
    assert api.status_code == 502 and "Access denied" in api.get_json()["detail"]
    assert stored(app) is None
    assert audit_rows(app)[-1] == ("power_request", "restart now", "failure")


def test_a_failing_cancel_keeps_the_action_scheduled(app, client, auth, fake_bin):
    directory, _log = fake_bin
    auth.sign_in()
    auth.api("POST", "/api/v1/power", {"action": "restart", "delay_minutes": 15})
    (directory / "shutdown").write_text(FAILING)
    response = auth.api("DELETE", "/api/v1/power")
    assert response.status_code == 502 and "shutdown -c failed" in response.get_json()["detail"]
    assert client.get("/api/v1/power").get_json()["scheduled"]["action"] == "restart"


def test_missing_systemctl_is_a_clear_error(app, client, auth, tmp_path, monkeypatch):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    app.config["POWER_BACKEND"] = "systemd"
    auth.sign_in()
    api = auth.api("POST", "/api/v1/power", {"action": "restart"})
    assert api.status_code == 502
    assert "needs the systemctl command, which is not installed" in api.get_json()["detail"]
    page = auth.post("/power/", {"action": "shutdown", "delay_minutes": "0"})
    assert page.status_code == 502 and "not installed" in page.get_data(as_text=True)


def test_the_systemd_backend_has_no_simulation_banner(client, auth, fake_bin):
    auth.sign_in()
    assert "Power actions are simulated." not in client.get("/").get_data(as_text=True)


# --- restart required ------------------------------------------------------------------------

def canned_root(tmp_path: Path, running: str, kernels: list[str], packages: list[str] | None):
    root = tmp_path / "host"
    (root / "proc/sys/kernel").mkdir(parents=True)
    (root / "proc/sys/kernel/osrelease").write_text(running + "\n")
    (root / "boot").mkdir()
    for version in kernels:
        (root / "boot" / f"vmlinuz-{version}").write_text("")
    (root / "run").mkdir()
    if packages is not None:
        (root / "run/reboot-required").write_text("*** System restart required ***\n")
        (root / "run/reboot-required.pkgs").write_text("".join(p + "\n" for p in packages))
    return root


def test_restart_required_reasons(tmp_path):
    root = canned_root(tmp_path, "6.1.0-9-amd64", ["6.1.0-9-amd64", "6.1.0-18-amd64"],
                       ["linux-image-6.1.0-18-amd64", "libc6"])
    reasons = service.restart_required(str(root))
    assert len(reasons) == 2
    assert "libc6" in reasons[0] and "linux-image-6.1.0-18-amd64" in reasons[0]
    assert "6.1.0-18-amd64" in reasons[1] and "6.1.0-9-amd64 is running" in reasons[1]


def test_no_restart_required_when_the_newest_kernel_runs(tmp_path):
    root = canned_root(tmp_path, "6.1.0-18-amd64", ["6.1.0-9-amd64", "6.1.0-18-amd64"], None)
    assert service.restart_required(str(root)) == []


def test_restart_required_on_the_page_the_overview_and_the_api(app, client, auth, tmp_path):
    root = canned_root(tmp_path, "6.1.0-9-amd64", ["6.1.0-18-amd64"], ["openssl"])
    app.config["POWER_HOST_ROOT"] = str(root)
    auth.sign_in()
    body = client.get("/api/v1/power").get_json()
    assert len(body["restart_required"]) == 2
    for path in ("/power/", "/"):
        page = client.get(path).get_data(as_text=True)
        assert "Restart required" in page and "openssl" in page, path
