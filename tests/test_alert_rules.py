"""The device's alert rules on canned host trees, copy logs and database rows: each raises with
its values in the message, updates while its cause holds, clears when it goes and is raised
anew when it returns; secrets never reach an alert."""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections import namedtuple
from pathlib import Path

import pytest

import diagnostics
from webui import audit, db, instance, jobs
from webui.alerts import checks, service
from webui.alerts.rules import SEVERITIES, by_id, catalogue
from webui.auth import lockout
from webui.auth import service as auth
from webui.connectivity import state as connectivity
from webui.power import service as power
from webui.power.backends import DryRunBackend

from conftest import make_app
from copylog_fixtures import FIXTURES, copylog_app

DAY = 86400.0
ADMIN = audit.Actor("admin", "127.0.0.1")
Usage = namedtuple("Usage", "total used free")


def evaluate(app, rule_id: str, now: float | None = None) -> list[str]:
    """Evaluate one rule now (or at ``now``); answers the events."""
    with app.app_context():
        changes = service.evaluate(db.get_db(), app,
                                   time.time() if now is None else now, [by_id()[rule_id]])
    return [change.event for change in changes]


def alerts(app, rule_id: str, state: str | None = None) -> list[dict]:
    with app.app_context():
        _total, rows = service.query(db.get_db(), rule=rule_id, state=state)
        return [service.to_dict(row) for row in rows]


def open_by_subject(app, rule_id: str) -> dict[str, dict]:
    return {alert["subject"]: alert for alert in alerts(app, rule_id, "open")}


def sql(app, statement: str, args=()) -> None:
    with app.app_context():
        db.get_db().execute(statement, args)


def assert_returns(app, rule_id: str, cause, now: float | None = None) -> None:
    """With its cause back, the rule raises a new alert and keeps the cleared one."""
    cause()
    assert evaluate(app, rule_id, now) == ["raised"]
    assert [alert["state"] for alert in alerts(app, rule_id)] == ["active", "cleared"]


def test_every_rule_has_a_unique_id_a_severity_and_words():
    rules = catalogue()
    assert len({rule.id for rule in rules}) == len(rules)
    assert {f"test_{test.id}" for test in diagnostics.catalogue()} <= set(by_id())
    for rule in rules:
        assert rule.severity in SEVERITIES
        assert rule.title and rule.message and rule.action and rule.raises and rule.clears


def test_the_readme_lists_every_rule():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    section = readme.split("### Alert rules", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"^\| `([a-z0-9_]+)` \|", section, re.MULTILINE))
    assert listed == {rule.id for rule in catalogue()}


# volumes


@pytest.fixture
def volumes(monkeypatch):
    """Disk usage by path, as the test sets it (percent used of 1000 GiB)."""
    used: dict[str, int] = {}

    def disk_usage(path):
        total = 1000 * 2**30
        taken = total * used.get(str(path), 10) // 100
        return Usage(total, taken, total - taken)

    monkeypatch.setattr(checks.shutil, "disk_usage", disk_usage)
    return used


def test_the_instance_volume_filling_warns_then_is_critical_then_clears(app, volumes):
    path = app.config["INSTANCE"]
    volumes[path] = 90
    assert evaluate(app, "volume_filling") == ["raised"]
    [alert] = alerts(app, "volume_filling")
    assert (alert["subject"], alert["severity"]) == ("instance", "warning")
    assert alert["message"] == (f"The data volume on the device is 90% full: 100 GiB free of "
                                f"1000 GiB on the instance volume ({path}).")
    assert alert["values"]["percent"] == 90
    volumes[path] = 96
    assert evaluate(app, "volume_filling") == ["raised"]  # worse: raised again, same alert
    [alert] = alerts(app, "volume_filling")
    assert (alert["severity"], alert["count"]) == ("critical", 2)
    volumes[path] = 96
    assert evaluate(app, "volume_filling") == ["updated"]
    volumes[path] = 50
    assert evaluate(app, "volume_filling") == ["cleared"]
    assert_returns(app, "volume_filling", lambda: volumes.update({path: 85}))


def test_thresholds_come_from_the_settings(tmp_path, volumes):
    app = make_app(tmp_path / "instance", ALERT_VOLUME_WARNING_PERCENT="50",
                   ALERT_VOLUME_CRITICAL_PERCENT="60")
    try:
        volumes[app.config["INSTANCE"]] = 61
        evaluate(app, "volume_filling")
        assert alerts(app, "volume_filling")[0]["severity"] == "critical"
    finally:
        app.extensions["jobs"].shutdown()


def test_a_copy_log_root_on_a_volume_of_its_own_is_watched_too(tmp_path, volumes, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    app = make_app(tmp_path / "instance", COPYLOG_ROOTS=f"{data},{tmp_path / 'instance'}")
    real = checks.volume_of
    monkeypatch.setattr(checks, "volume_of",
                        lambda path: -1 if path == str(data) else real(path))
    try:
        volumes[str(data)] = 97
        assert evaluate(app, "volume_filling") == ["raised"]
        [alert] = alerts(app, "volume_filling")
        assert (alert["subject"], alert["severity"]) == (str(data), "critical")
        assert f"on the copy-log volume of {data}" in alert["message"]
    finally:
        app.extensions["jobs"].shutdown()


# the certificate


@pytest.fixture
def tls_app(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    instance.make_certificate(cert, key, "edge-test")
    app = make_app(tmp_path / "instance", TLS="true", TLS_CERT=str(cert), TLS_KEY=str(key))
    _state, expires = instance.certificate_state(cert)
    app.expires = expires.timestamp()
    yield app
    app.extensions["jobs"].shutdown()


def test_a_certificate_near_its_end_warns_then_is_critical_then_expired(tls_app):
    ends = tls_app.expires
    assert evaluate(tls_app, "certificate_expiring", ends - 40 * DAY) == []
    assert evaluate(tls_app, "certificate_expiring", ends - 20 * DAY - 3600) == ["raised"]
    [alert] = alerts(tls_app, "certificate_expiring")
    assert alert["severity"] == "warning"
    assert alert["message"] == "edge-test from edge-test expires in 20 days."
    assert evaluate(tls_app, "certificate_expiring", ends - 6 * DAY - 3600) == ["raised"]
    assert alerts(tls_app, "certificate_expiring")[0]["severity"] == "critical"
    assert evaluate(tls_app, "certificate_expiring", ends + 2 * DAY - 3600) == ["updated"]
    assert alerts(tls_app, "certificate_expiring")[0]["message"] == \
        "edge-test from edge-test expired 2 days ago."


def test_a_certificate_far_from_its_end_clears_the_alert(tls_app):
    evaluate(tls_app, "certificate_expiring", tls_app.expires - 10 * DAY)
    assert evaluate(tls_app, "certificate_expiring") == ["cleared"]


def test_no_certificate_alert_behind_a_tls_proxy_until_tls_is_back(tls_app):
    soon = tls_app.expires - 10 * DAY
    evaluate(tls_app, "certificate_expiring", soon)
    tls_app.config["TLS"] = False
    assert evaluate(tls_app, "certificate_expiring", soon) == ["cleared"]
    assert_returns(tls_app, "certificate_expiring",
                   lambda: tls_app.config.update(TLS=True), soon + 60)


# sign-ins


def fail_sign_ins(app, count: int, username: str = "admin", addr: str = "192.0.2.7") -> None:
    with app.app_context():
        for _ in range(count):
            auth.sign_in(db.get_db(), username, "wrong password here", addr, None, 100)


def test_a_burst_of_failed_sign_ins_raises_updates_and_passes(app):
    fail_sign_ins(app, 4)
    assert evaluate(app, "sign_in_burst") == []
    fail_sign_ins(app, 1, addr="192.0.2.8")
    assert evaluate(app, "sign_in_burst") == ["raised"]
    [alert] = alerts(app, "sign_in_burst")
    assert alert["message"] == \
        "5 sign-ins failed in the last 15 minutes, from 2 client address(es)."
    fail_sign_ins(app, 1)
    assert evaluate(app, "sign_in_burst") == ["updated"]
    assert alerts(app, "sign_in_burst")[0]["values"]["count"] == 6
    later = time.time() + 16 * 60
    assert evaluate(app, "sign_in_burst", later) == ["cleared"]
    sql(app, "UPDATE audit SET at = ? WHERE action = 'sign_in'", (later,))
    assert_returns(app, "sign_in_burst", lambda: None, later + 60)


def test_each_locked_account_and_address_has_its_alert_while_locked(app):
    with app.app_context():
        for _ in range(5):
            auth.sign_in(db.get_db(), "admin", "wrong password here", "192.0.2.7", None, 5)
    assert evaluate(app, "sign_in_lockout") == ["raised", "raised"]
    found = open_by_subject(app, "sign_in_lockout")
    assert set(found) == {"account:admin", "address:192.0.2.7"}
    assert found["account:admin"]["severity"] == "critical"  # an administrator's account
    assert found["address:192.0.2.7"]["severity"] == "warning"
    assert found["account:admin"]["message"].startswith(
        "Sign-in is refused for the account admin until ")
    assert evaluate(app, "sign_in_lockout") == ["updated", "updated"]
    assert evaluate(app, "sign_in_lockout", time.time() + lockout.MAX_DELAY + 1) == \
        ["cleared", "cleared"]


def test_a_successful_sign_in_clears_the_lockout_and_a_new_one_returns(app):
    sql(app, "INSERT INTO sign_in_failures VALUES ('user:viewer', 5, ?, ?)",
        (time.time(), time.time() + 600))
    assert evaluate(app, "sign_in_lockout") == ["raised"]
    sql(app, "DELETE FROM sign_in_failures")
    assert evaluate(app, "sign_in_lockout") == ["cleared"]
    assert_returns(app, "sign_in_lockout", lambda: sql(
        app, "INSERT INTO sign_in_failures VALUES ('user:viewer', 6, ?, ?)",
        (time.time(), time.time() + 600)))


def test_lockout_alerts_never_show_a_browser_nonce_or_a_name_that_is_no_account(app):
    until = time.time() + 600
    secret_nonce, typed = "n0nce-d3adbeef-cafe", "hunter2-typed-as-a-user-name"
    sql(app, "INSERT INTO sign_in_failures VALUES (?, 5, ?, ?), (?, 5, ?, ?)",
        (f"device:{secret_nonce}", until, until, f"user:{typed}", until, until))
    assert evaluate(app, "sign_in_lockout") == ["raised", "raised"]
    with app.app_context():
        stored = json.dumps([dict(row) for row in db.get_db().execute(
            "SELECT * FROM alerts")] + [dict(row) for row in db.get_db().execute(
                "SELECT * FROM audit WHERE action LIKE 'alert%'")])
    assert secret_nonce not in stored and typed not in stored
    messages = [alert["message"] for alert in alerts(app, "sign_in_lockout")]
    assert any("a browser known to the device" in m for m in messages)
    assert any("a user name that is no account" in m for m in messages)


# copy logs


@pytest.fixture
def copylog_root(tmp_path):
    """The sample copy logs, every one modified just now."""
    root = tmp_path / "root1"
    shutil.copytree(FIXTURES, root)
    touch(root, time.time())
    return root


def touch(root: Path, when: float) -> None:
    for path in root.rglob("*"):
        os.utime(path, (when, when))


def test_upload_errors_of_the_last_day_raise_per_share_with_the_count(tmp_path, copylog_root):
    with copylog_app(tmp_path / "instance", str(copylog_root)) as app:
        assert evaluate(app, "share_upload_errors").count("raised") == 5
        found = open_by_subject(app, "share_upload_errors")
        # The upload log's summary declares 24 errors; copy logs of an order count too.
        assert found["share1"]["message"] == "Could not upload 24 file(s) from share share1."
        assert found["share1"]["severity"] == "warning"
        assert set(found) == {"share1", "photos", "misc", "databoxcopylog", "acct2"}
        assert set(evaluate(app, "share_upload_errors")) == {"updated"}
        touch(copylog_root / "photos", time.time() - 2 * DAY)
        assert "cleared" in evaluate(app, "share_upload_errors")
        assert "photos" not in open_by_subject(app, "share_upload_errors")
        touch(copylog_root / "photos", time.time())
        assert evaluate(app, "share_upload_errors").count("raised") == 1
        assert [a["state"] for a in alerts(app, "share_upload_errors")
                if a["subject"] == "photos"] == ["active", "cleared"]


def test_refresh_errors_raise_per_share_and_clear_when_a_day_old(tmp_path, copylog_root):
    with copylog_app(tmp_path / "instance", str(copylog_root)) as app:
        assert evaluate(app, "share_refresh_errors") == ["raised"]
        [alert] = alerts(app, "share_refresh_errors")
        assert alert["message"] == "Could not refresh 3 file(s) in share share1."
        assert evaluate(app, "share_refresh_errors", time.time() + 2 * DAY) == ["cleared"]


# restart and power


@pytest.fixture
def host(app, tmp_path):
    root = tmp_path / "host"
    (root / "run").mkdir(parents=True)
    app.config["POWER_HOST_ROOT"] = str(root)
    return root


def flag_restart(host: Path, since: float) -> None:
    flag = host / "run" / "reboot-required"
    flag.write_text("*** System restart required ***\n")
    os.utime(flag, (since, since))


def test_a_restart_needed_for_more_than_a_day_raises_until_the_device_restarts(app, host):
    flag_restart(host, time.time() - 3600)
    assert evaluate(app, "restart_required") == []  # asked for an hour ago: not yet
    flag_restart(host, time.time() - 2 * DAY - 60)
    assert evaluate(app, "restart_required") == ["raised"]
    [alert] = alerts(app, "restart_required")
    assert alert["message"].startswith("The device has needed a restart for 2 day(s), since ")
    assert alert["message"].endswith(": Updates asked for a restart.")
    assert evaluate(app, "restart_required") == ["updated"]
    (host / "run" / "reboot-required").unlink()
    assert evaluate(app, "restart_required") == ["cleared"]
    assert_returns(app, "restart_required", lambda: flag_restart(host, time.time() - 3 * DAY))


def test_a_newer_kernel_installed_days_ago_asks_for_a_restart(app, host):
    (host / "proc" / "sys" / "kernel").mkdir(parents=True)
    (host / "proc" / "sys" / "kernel" / "osrelease").write_text("6.1.0-9-amd64\n")
    (host / "boot").mkdir()
    image = host / "boot" / "vmlinuz-6.1.0-10-amd64"
    image.write_text("")
    os.utime(image, (time.time() - 2 * DAY, time.time() - 2 * DAY))
    assert evaluate(app, "restart_required") == ["raised"]
    assert "Kernel 6.1.0-10-amd64 is installed" in alerts(app, "restart_required")[0]["message"]


def request_power(app, action: str = "restart", minutes: int = 15) -> power.PowerAction:
    with app.app_context():
        return power.request(db.get_db(), DryRunBackend(), action, minutes, "", ADMIN)


def test_a_scheduled_power_action_is_informational_until_cancelled(app):
    scheduled = request_power(app)
    assert evaluate(app, "power_scheduled") == ["raised"]
    [alert] = alerts(app, "power_scheduled")
    assert alert["severity"] == "informational"
    assert alert["title"] == "Restart scheduled"
    assert alert["values"]["at"] == power.iso(scheduled.at)
    assert evaluate(app, "power_scheduled") == ["updated"]
    with app.app_context():
        power.cancel(db.get_db(), DryRunBackend(), ADMIN)
    assert evaluate(app, "power_scheduled") == ["cleared"]
    assert_returns(app, "power_scheduled", lambda: request_power(app, "shutdown"))
    assert alerts(app, "power_scheduled", "active")[0]["title"] == "Shut down scheduled"


def test_a_power_action_whose_time_has_come_clears(app):
    request_power(app, minutes=5)
    evaluate(app, "power_scheduled")
    assert evaluate(app, "power_scheduled", time.time() + 6 * 60) == ["cleared"]


# connectivity


def change_mode(app, mode: str) -> None:
    settings = connectivity.HookSettings(Path(app.config["INSTANCE"]),
                                         Path(app.config["HOOKS_DIR"]), 5)
    with app.app_context():
        connectivity.change(db.get_db(), mode, ADMIN, settings)


def test_a_mode_change_is_told_for_a_day_with_the_old_and_new_mode(app):
    assert evaluate(app, "connectivity_mode_changed") == []
    change_mode(app, "partially_disconnected")
    assert evaluate(app, "connectivity_mode_changed") == ["raised"]
    [alert] = alerts(app, "connectivity_mode_changed")
    assert alert["severity"] == "informational"
    assert alert["message"].startswith("The connectivity mode changed from Fully connected to "
                                       "Partially disconnected at ")
    assert alert["message"].endswith(", by admin.")
    assert evaluate(app, "connectivity_mode_changed") == ["updated"]
    assert evaluate(app, "connectivity_mode_changed", time.time() + DAY + 60) == ["cleared"]
    change_mode(app, "fully_connected")
    assert evaluate(app, "connectivity_mode_changed") == ["raised"]
    assert "from Partially disconnected to Fully connected" in \
        alerts(app, "connectivity_mode_changed", "active")[0]["message"]


# support


def add_job(app, kind: str, state: str, finished_at: float, error: str | None = None) -> str:
    with app.app_context():
        job_id = jobs.record_done(db.get_db(), kind, {}, {}, "admin")
        db.get_db().execute("UPDATE jobs SET state = ?, finished_at = ?, error = ? WHERE id = ?",
                            (state, finished_at, error, job_id))
    return job_id


@pytest.mark.parametrize(("rule_id", "kind"), [("support_package_failed", "support_package"),
                                               ("ticket_upload_failed", "support_upload")])
def test_a_failed_support_job_raises_until_a_later_one_succeeds(app, rule_id, kind):
    now = time.time()
    add_job(app, kind, "succeeded", now - 600)
    assert evaluate(app, rule_id) == []
    add_job(app, kind, "failed", now - 300, "No room left on the device.")
    assert evaluate(app, rule_id) == ["raised"]
    [alert] = alerts(app, rule_id)
    assert alert["message"].endswith("failed: No room left on the device.")
    assert evaluate(app, rule_id) == ["updated"]
    add_job(app, kind, "cancelled", now - 200)  # a cancel is no success
    assert evaluate(app, rule_id) == ["updated"]
    add_job(app, kind, "succeeded", now - 100)
    assert evaluate(app, rule_id) == ["cleared"]
    assert_returns(app, rule_id, lambda: add_job(app, kind, "interrupted", now - 50))


def test_a_failed_support_package_is_forgotten_after_a_day(app):
    add_job(app, "support_package", "failed", time.time(), "disk full")
    evaluate(app, "support_package_failed")
    assert evaluate(app, "support_package_failed", time.time() + DAY + 60) == ["cleared"]


# notifications


def add_channel(app, name: str) -> int:
    with app.app_context():
        return db.get_db().execute(
            "INSERT INTO notification_channels(name, kind, min_severity, created_at, created_by)"
            " VALUES (?, 'webhook', 'warning', ?, 'admin')", (name, time.time())).lastrowid


def deliver(app, channel: int, state: str, event: str = "raised",
            reason: str | None = None) -> None:
    with app.app_context():
        now = time.time()
        db.get_db().execute(
            "INSERT INTO notification_deliveries(channel_id, event, state, attempts, reason, "
            "payload, created_at, finished_at) VALUES (?, ?, ?, 3, ?, '{}', ?, ?)",
            (channel, event, state, reason, now, now))


def test_a_channel_whose_last_three_deliveries_failed_raises_until_one_is_sent(app):
    ops, other = add_channel(app, "ops webhook"), add_channel(app, "other")
    deliver(app, ops, "sent")
    for _ in range(2):
        deliver(app, ops, "failed", reason="connection refused")
    deliver(app, ops, "failed", event="test")  # a test notification is not counted
    deliver(app, ops, "pending")
    assert evaluate(app, "notification_channel_failing") == []
    deliver(app, ops, "failed", event="digest", reason="TLS handshake failed")
    deliver(app, other, "failed")
    assert evaluate(app, "notification_channel_failing") == ["raised"]
    [alert] = alerts(app, "notification_channel_failing")
    assert alert["subject"] == "ops webhook"
    assert alert["message"] == ("The last 3 notifications to the webhook channel ops webhook "
                                "could not be delivered: TLS handshake failed")
    deliver(app, ops, "failed", event="cleared")
    assert evaluate(app, "notification_channel_failing") == ["updated"]
    deliver(app, ops, "sent")
    assert evaluate(app, "notification_channel_failing") == ["cleared"]

    def three_failures():
        for _ in range(3):
            deliver(app, ops, "failed", reason="timed out")

    assert_returns(app, "notification_channel_failing", three_failures)


# device health


def add_run(app, status: str, finished_at: float) -> None:
    results = {"results": [{"id": test.id, "title": test.title, "status": status,
                            "summary": "found this", "details": {}, "recommended_action": None}
                           for test in diagnostics.catalogue()]}
    with app.app_context():
        run_id = jobs.record_done(db.get_db(), "diagnostics",
                                  {"tests": [test.id for test in diagnostics.catalogue()]},
                                  results, "schedule")
        db.get_db().execute("UPDATE jobs SET finished_at = ? WHERE id = ?",
                            (finished_at, run_id))


def test_results_older_than_a_day_raise_until_the_tests_run_again(app):
    assert evaluate(app, "health_outdated") == []  # nothing ran yet: nothing to call old
    add_run(app, "healthy", time.time() - 2 * DAY)
    assert evaluate(app, "health_outdated") == ["raised"]
    [alert] = alerts(app, "health_outdated")
    assert alert["values"]["count"] == len(diagnostics.catalogue())
    assert evaluate(app, "health_outdated") == ["updated"]
    add_run(app, "healthy", time.time())
    assert evaluate(app, "health_outdated") == ["cleared"]
    assert_returns(app, "health_outdated", lambda: None, time.time() + 2 * DAY)


def test_an_unhealthy_result_raises_its_test_alert_with_the_summary(app):
    test = diagnostics.catalogue()[0]
    add_run(app, "unhealthy", time.time())
    assert evaluate(app, f"test_{test.id}") == ["raised"]
    [alert] = alerts(app, f"test_{test.id}")
    assert alert["severity"] == "critical"
    assert alert["message"] == f"The diagnostic test {test.title} found: found this"
