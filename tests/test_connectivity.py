"""Connectivity mode: hooks in order with rollback, the atomic mode file, the F5 table enforced."""

from __future__ import annotations

import fcntl
import os
import stat
import textwrap
import time
from pathlib import Path

import pytest

from webui import db
from webui.auth import tokens
from webui.connectivity import hooks as connectivity_hooks
from webui.connectivity import policy, state
from webui.htmx import STOP_POLLING

from conftest import POLL_ATTEMPTS, POLL_INTERVAL, finished

MODES = policy.MODES
# The page asks before cutting off tokens and metrics; these posts answer its question.
CONFIRMED_DISCONNECT = {"mode": "fully_disconnected", "confirmed": "yes"}


def audit_rows(app, columns: str, where: str) -> list[tuple]:
    """The audit entries matching ``where``, oldest first, as tuples of ``columns``."""
    with app.app_context():
        return [tuple(row) for row in db.get_db().execute(
            f"SELECT {columns} FROM audit WHERE {where} ORDER BY id")]


def write_hook(directory: Path, name: str, body: str, executable: bool = True) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text("#!/bin/sh\n" + textwrap.dedent(body))
    if executable:
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.fixture
def hooks(app, tmp_path):
    """The app's ``connectivity.d`` and a log file its hooks append to."""
    app.config["HOOKS_DIR"] = str(tmp_path / "hooks")
    directory = tmp_path / "hooks" / "connectivity.d"
    directory.mkdir(parents=True)
    log = tmp_path / "hooks.log"
    log.touch()
    return directory, log


def log_line(log: Path) -> str:
    return f'echo "$(basename "$0") $WEBUI_CONNECTIVITY_MODE $WEBUI_PREVIOUS_MODE" >> {log}\n'


def lines(log: Path) -> list[str]:
    return log.read_text().splitlines()


def token_for(app, role="administrator") -> str:
    with app.app_context():
        return tokens.create(db.get_db(), "monitor", role, "test")[1]


def set_mode(app, mode: str) -> None:
    with app.app_context():
        state.store_mode(db.get_db(), mode, "test")


@pytest.mark.parametrize(("mode", "capability", "allowed", "warn"), [
    ("fully_connected", "cloud_transfer", True, False),
    ("fully_connected", "remote_management", True, False),
    ("fully_connected", "support_upload", True, False),
    ("fully_connected", "local_ui", True, False),
    ("partially_disconnected", "cloud_transfer", False, False),
    ("partially_disconnected", "remote_management", True, False),
    ("partially_disconnected", "support_upload", True, True),
    ("partially_disconnected", "local_ui", True, False),
    ("fully_disconnected", "cloud_transfer", False, False),
    ("fully_disconnected", "remote_management", False, False),
    ("fully_disconnected", "support_upload", False, False),
    ("fully_disconnected", "local_ui", True, False),
])
def test_the_f5_table(mode, capability, allowed, warn):
    answer = policy.allows(capability, mode)
    assert (answer.allowed, answer.warn, bool(answer)) == (allowed, warn, allowed)
    assert answer.reason


def test_allows_in_the_mode_in_force_and_refuses_unknown_capabilities(app):
    with app.app_context():
        conn = db.get_db()
        assert policy.allows("remote_management", state.current_mode(conn)).allowed
        db.put_setting(conn, state.SETTING_KEY, "fully_disconnected", "test")
        refused = policy.allows("remote_management", state.current_mode(conn))
        assert not refused and "fully disconnected" in refused.reason
        assert "USB" in policy.allows("support_upload", state.current_mode(conn)).reason
        with pytest.raises(ValueError, match="capability"):
            policy.allows("teleport", state.current_mode(conn))


def test_default_mode_and_the_mode_file_at_start(app, client, auth):
    assert (Path(app.config["INSTANCE"]) / "connectivity-mode").read_text() == "fully_connected\n"
    with app.app_context():
        assert state.current_mode(db.get_db()) == "fully_connected"
    auth.sign_in()
    body = client.get("/api/v1/connectivity").get_json()
    assert body == {"mode": "fully_connected", "changed_at": None, "changed_by": None}


def test_hooks_run_in_name_order_with_the_modes_and_a_minimal_environment(
        app, client, auth, hooks, tmp_path, monkeypatch):
    directory, log = hooks
    monkeypatch.setenv("SECRET_OF_THE_SERVICE", "do-not-leak")
    write_hook(directory, "20-second", log_line(log))
    write_hook(directory, "10-first", log_line(log) + f"env > {tmp_path / 'env.txt'}\n")
    write_hook(directory, "05-not-executable", log_line(log), executable=False)
    write_hook(directory, "30-backup~", log_line(log))
    write_hook(directory, "40-old.dpkg-old", log_line(log))
    auth.sign_in()

    response = auth.api("PUT", "/api/v1/connectivity", {"mode": "partially_disconnected"})

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["mode"] == "partially_disconnected" and body["changed_by"] == "admin"
    assert [h["name"] for h in body["hooks"]] == ["10-first", "20-second"]
    assert lines(log) == ["10-first partially_disconnected fully_connected",
                          "20-second partially_disconnected fully_connected"]
    env = dict(line.split("=", 1) for line in (tmp_path / "env.txt").read_text().splitlines()
               if "=" in line)
    assert env["PATH"] == connectivity_hooks.HOOK_PATH
    assert "SECRET_OF_THE_SERVICE" not in env and not any(k.startswith("WEBUI_INSTANCE")
                                                          for k in env)
    page = client.get("/connectivity/").get_data(as_text=True)
    assert "05-not-executable" in page and "Skipped" in page


def test_the_mode_file_is_replaced_atomically_before_the_hooks_run(app, auth, hooks, tmp_path):
    directory, log = hooks
    state_file = Path(app.config["INSTANCE"]) / "connectivity-mode"
    write_hook(directory, "10-read-mode", f"cat {state_file} >> {log}\n")
    before = state_file.stat().st_ino
    auth.sign_in()

    assert auth.api("PUT", "/api/v1/connectivity",
                    {"mode": "fully_disconnected"}).status_code == 200

    assert lines(log) == ["fully_disconnected"]
    assert state_file.read_text() == "fully_disconnected\n"
    assert state_file.stat().st_ino != before
    assert [p.name for p in state_file.parent.iterdir()
            if p.name.startswith(".connectivity-mode.")] == []


def test_a_failing_hook_restores_the_previous_mode_and_says_why(app, client, auth, hooks):
    directory, log = hooks
    write_hook(directory, "10-ok", log_line(log))
    write_hook(directory, "20-firewall", log_line(log) + textwrap.dedent("""\
        if [ "$WEBUI_CONNECTIVITY_MODE" = fully_disconnected ]; then
            echo "firewall: cannot load the offline rule set" >&2
            exit 3
        fi
        """))
    write_hook(directory, "30-never", log_line(log))
    auth.sign_in()

    response = auth.api("PUT", "/api/v1/connectivity", {"mode": "fully_disconnected"})

    assert response.status_code == 409
    body = response.get_json()
    assert body["failed_hook"] == "20-firewall" and body["mode"] == "fully_connected"
    assert "20-firewall" in body["detail"] and "exit status 3" in body["detail"]
    failed = body["hooks"][-1]
    assert failed["exit_status"] == 3
    assert "cannot load the offline rule set" in failed["output"]
    assert lines(log) == [
        "10-ok fully_disconnected fully_connected",
        "20-firewall fully_disconnected fully_connected",
        # The rollback: every hook again, for the mode that was in force.
        "10-ok fully_connected fully_disconnected",
        "20-firewall fully_connected fully_disconnected",
        "30-never fully_connected fully_disconnected",
    ]
    assert client.get("/api/v1/connectivity").get_json()["mode"] == "fully_connected"
    assert (Path(app.config["INSTANCE"]) / "connectivity-mode").read_text() == "fully_connected\n"
    assert audit_rows(app, "action, target, outcome", "action LIKE 'connectivity%'") == [
        ("connectivity_hook", "20-firewall", "failure"),
        ("connectivity_mode", "fully_disconnected", "failure")]


def test_the_page_shows_the_failing_hook_and_its_output(app, client, auth, hooks):
    directory, _log = hooks
    write_hook(directory, "50-vpn", 'echo "vpn: tunnel still up"; exit 1\n')
    auth.sign_in()

    response = auth.post("/connectivity/", {"mode": "partially_disconnected"})

    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "The mode was not changed" in page
    assert "50-vpn" in page and "exit status 1" in page and "vpn: tunnel still up" in page
    assert "Fully connected</strong>, was restored" in page


def test_a_hanging_hook_is_stopped_and_the_mode_rolled_back(app, client, auth, hooks):
    app.config["HOOK_TIMEOUT"] = 1
    directory, log = hooks
    write_hook(directory, "10-hangs", log_line(log) + textwrap.dedent("""\
        if [ "$WEBUI_CONNECTIVITY_MODE" = partially_disconnected ]; then
            sleep 60 &
            wait
        fi
        """))
    auth.sign_in()

    response = auth.api("PUT", "/api/v1/connectivity", {"mode": "partially_disconnected"})

    assert response.status_code == 409
    failed = response.get_json()["hooks"][0]
    assert failed["timed_out"] and failed["exit_status"] is None
    assert "timed out" in failed["outcome"]
    assert lines(log) == ["10-hangs partially_disconnected fully_connected",
                          "10-hangs fully_connected partially_disconnected"]
    assert client.get("/api/v1/connectivity").get_json()["mode"] == "fully_connected"


def test_a_change_while_another_runs_is_409(app, auth):
    lock = os.open(Path(app.config["INSTANCE"]) / state.LOCK_FILE, os.O_RDWR | os.O_CREAT)
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        auth.sign_in()
        response = auth.api("PUT", "/api/v1/connectivity", {"mode": "fully_disconnected"})
        page = auth.post("/connectivity/", CONFIRMED_DISCONNECT)
    finally:
        os.close(lock)
    assert response.status_code == 409 and "still running" in response.get_json()["detail"]
    assert page.status_code == 409 and "still running" in page.get_data(as_text=True)


@pytest.mark.parametrize("body", [{"mode": "offline"}, {"mode": 3}, {"mode": None}, {},
                                  {"mode": ["fully_connected"]}])
def test_unknown_mode_is_422_with_the_allowed_values(client, auth, body):
    auth.sign_in()
    response = auth.api("PUT", "/api/v1/connectivity", body)
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "mode"


def test_the_documented_modes_are_the_modes(client, auth):
    auth.sign_in_viewer()
    document = client.get("/api/v1/openapi.json").get_json()
    new_mode = document["components"]["schemas"]["NewMode"]
    assert new_mode["properties"]["mode"]["enum"] == list(MODES)
    assert new_mode["required"] == ["mode"]


def test_same_mode_runs_no_hooks(app, auth, hooks):
    directory, log = hooks
    write_hook(directory, "10-log", log_line(log))
    auth.sign_in()
    response = auth.api("PUT", "/api/v1/connectivity", {"mode": "fully_connected"})
    assert response.status_code == 200 and response.get_json()["hooks"] == []
    assert lines(log) == []


def test_viewers_see_the_mode_but_cannot_change_it(client, auth):
    auth.sign_in_viewer()
    assert client.get("/api/v1/connectivity").status_code == 200
    page = client.get("/connectivity/").get_data(as_text=True)
    assert "Only administrators can change" in page and 'name="mode"' not in page
    assert auth.api("PUT", "/api/v1/connectivity", {"mode": "fully_disconnected"}
                    ).status_code == 403
    assert auth.post("/connectivity/", CONFIRMED_DISCONNECT).status_code == 403


def test_change_from_the_page_is_audited_and_shown_in_the_banner(app, client, auth):
    auth.sign_in()
    response = auth.post("/connectivity/", CONFIRMED_DISCONNECT)
    assert response.status_code == 303
    page = client.get("/audit").get_data(as_text=True)
    assert "Connectivity: Fully disconnected." in page
    with app.app_context():
        row = db.get_db().execute(
            "SELECT * FROM audit WHERE action = 'connectivity_mode'").fetchone()
    assert row["outcome"] == "success" and row["actor"] == "admin"
    assert row["target"] == "fully_disconnected"


def test_bad_form_value_is_422(client, auth):
    auth.sign_in()
    response = auth.post("/connectivity/", {"mode": "airplane"})
    assert response.status_code == 422
    assert "Not a valid choice" in response.get_data(as_text=True)


@pytest.mark.parametrize(("mode", "token_status"), [("fully_connected", 200),
                                                    ("partially_disconnected", 200),
                                                    ("fully_disconnected", 403)])
def test_token_access_follows_the_mode_and_the_session_ui_always_works(
        app, client, auth, mode, token_status):
    token = token_for(app)
    set_mode(app, mode)
    bearer = {"Authorization": f"Bearer {token}"}

    for path in ("/api/v1/status", "/api/v1/connectivity", "/metrics"):
        answer = client.get(path, headers=bearer)
        assert answer.status_code == token_status, path
    refused = client.put("/api/v1/connectivity", json={"mode": "fully_connected"},
                         headers=bearer)
    if token_status == 403:
        assert refused.status_code == 403
        assert refused.mimetype == "application/problem+json"
        assert "fully disconnected" in refused.get_json()["detail"]

    auth.sign_in()
    for path in ("/", "/api/v1/status", "/connectivity/", "/metrics"):
        assert client.get(path).status_code == 200, path


def test_an_unknown_token_is_still_401_when_connected(client):
    answer = client.get("/api/v1/status", headers={"Authorization": "Bearer ewu_nope"})
    assert answer.status_code == 401


def test_overview_card_shows_the_mode(app, client, auth):
    set_mode(app, "partially_disconnected")
    auth.sign_in()
    page = client.get("/").get_data(as_text=True)
    assert "Partially disconnected" in page and "Allowed after a size warning" in page


def test_an_unwritable_mode_file_is_a_clear_error_and_nothing_changes(app, client, auth, hooks):
    directory, log = hooks
    write_hook(directory, "10-log", log_line(log))
    state_file = Path(app.config["INSTANCE"]) / "connectivity-mode"
    state_file.unlink()
    state_file.mkdir()  # a directory where the file should be: no rename can replace it
    auth.sign_in()

    response = auth.api("PUT", "/api/v1/connectivity", {"mode": "fully_disconnected"})

    assert response.status_code == 503
    assert "could not be written" in response.get_json()["detail"]
    assert lines(log) == []
    assert client.get("/api/v1/connectivity").get_json()["mode"] == "fully_connected"
    page = auth.post("/connectivity/", CONFIRMED_DISCONNECT)
    assert page.status_code == 503 and "could not be written" in page.get_data(as_text=True)


def slow_hook(directory: Path, log: Path, release: Path, extra: str = "") -> Path:
    """A hook that cannot finish before the test creates ``release``."""
    return write_hook(directory, "10-slow", textwrap.dedent(f"""\
        echo "start $WEBUI_CONNECTIVITY_MODE" >> {log}
        while [ ! -e {release} ]; do sleep 0.05; done
        echo "done $WEBUI_CONNECTIVITY_MODE" >> {log}
        """) + extra)


def last_fragment(client, url: str) -> str:
    """Poll ``url`` the way htmx does until it answers that polling stops; its last body."""
    for _ in range(POLL_ATTEMPTS):
        response = client.get(url, headers={"HX-Request": "true"})
        if response.status_code == STOP_POLLING:
            return response.get_data(as_text=True)
        assert response.status_code == 200
        time.sleep(POLL_INTERVAL)
    raise AssertionError(f"{url} never stopped polling")


def test_a_slow_hook_answers_202_and_the_change_shows_its_outcome(app, client, auth, hooks,
                                                                   tmp_path):
    directory, log = hooks
    release = tmp_path / "release"
    slow_hook(directory, log, release)
    auth.sign_in()

    response = auth.api("PUT", "/api/v1/connectivity", {"mode": "partially_disconnected"})

    # The hook waits for the release file, so it is still running: the request did not wait.
    assert response.status_code == 202
    assert "done partially_disconnected" not in lines(log)
    location = response.headers["Location"]
    running = response.get_json()
    assert location == f"/api/v1/connectivity/changes/{running['id']}"
    assert running["state"] in ("queued", "running")
    assert (running["mode"], running["hooks"]) == (None, [])
    assert client.get(location).get_json()["requested"] == "partially_disconnected"
    page = client.get("/connectivity/").get_data(as_text=True)
    assert "Changing the mode to Partially disconnected" in page and 'name="mode"' not in page
    again = auth.api("PUT", "/api/v1/connectivity", {"mode": "fully_disconnected"})
    assert again.status_code == 409 and "still running" in again.get_json()["detail"]
    assert client.get("/api/v1/connectivity").get_json()["mode"] == "fully_connected"

    release.touch()
    outcome = finished(client, location)

    assert outcome["state"] == "changed" and outcome["mode"] == "partially_disconnected"
    assert [h["name"] for h in outcome["hooks"]] == ["10-slow"] and outcome["hooks"][0]["ok"]
    assert outcome["requested_by"] == "admin" and outcome["detail"] is None
    assert lines(log)[-1] == "done partially_disconnected"
    assert client.get("/api/v1/connectivity").get_json()["mode"] == "partially_disconnected"
    assert audit_rows(app, "actor, target, outcome", "action = 'connectivity_mode'") == [
        ("admin", "fully_disconnected", "refused"), ("admin", "partially_disconnected", "success")]


def test_a_slow_failing_hook_shows_the_rollback_on_the_page_once_it_ends(app, client, auth,
                                                                         hooks, tmp_path):
    directory, log = hooks
    release = tmp_path / "release"
    slow_hook(directory, log, release, textwrap.dedent("""\
        if [ "$WEBUI_CONNECTIVITY_MODE" = fully_disconnected ]; then
            echo "vpn: tunnel still up"
            exit 1
        fi
        """))
    auth.sign_in()

    response = auth.post("/connectivity/", CONFIRMED_DISCONNECT)

    assert response.status_code == 303
    assert "done fully_disconnected" not in lines(log)
    change_page = response.headers["Location"]
    page = client.get(change_page).get_data(as_text=True)
    assert "Changing the mode to Fully disconnected" in page
    assert f'hx-get="{change_page}"' in page and 'hx-trigger="every 1s"' in page

    release.touch()
    fragment = last_fragment(client, change_page)

    assert "The mode was not changed" in fragment and "vpn: tunnel still up" in fragment
    assert "exit status 1" in fragment and "Fully connected</strong>, was restored" in fragment
    assert "hx-trigger" not in fragment and "Changing the mode to" not in fragment
    assert lines(log) == ["start fully_disconnected", "done fully_disconnected",
                          "start fully_connected", "done fully_connected"]
    job_id = change_page.rsplit("/", 1)[-1]
    outcome = client.get(f"/api/v1/connectivity/changes/{job_id}").get_json()
    assert outcome["state"] == "rolled_back" and outcome["failed_hook"] == "10-slow"
    assert "10-slow" in outcome["detail"] and outcome["mode"] == "fully_connected"
    assert (Path(app.config["INSTANCE"]) / "connectivity-mode").read_text() == "fully_connected\n"
    # Reloading the finished change shows its outcome on the whole page, with the form back.
    page = client.get(change_page).get_data(as_text=True)
    assert "The mode was not changed" in page and 'name="mode"' in page


def test_an_unknown_change_is_404(client, auth):
    auth.sign_in()
    api = client.get("/api/v1/connectivity/changes/0123456789abcdef")
    assert api.status_code == 404 and api.mimetype == "application/problem+json"
    assert client.get("/connectivity/changes/nope").status_code == 404


def test_only_the_newest_changes_are_kept(app, client, auth, monkeypatch):
    monkeypatch.setattr(state, "CHANGES_KEPT", 2)
    auth.sign_in()
    first = auth.post("/connectivity/", CONFIRMED_DISCONNECT)
    assert first.status_code == 303
    with app.app_context():
        first_id = state.latest_change(db.get_db()).id
    for mode in ("fully_connected", "partially_disconnected"):
        assert auth.post("/connectivity/", {"mode": mode}).status_code == 303
    assert client.get(f"/api/v1/connectivity/changes/{first_id}").status_code == 404
    with app.app_context():
        latest = state.latest_change(db.get_db())
    answer = client.get(f"/api/v1/connectivity/changes/{latest.id}").get_json()
    assert answer["state"] == "changed" and answer["mode"] == "partially_disconnected"
