"""The alert watcher, driven by a fake clock: it evaluates at its interval, at once after an
audit entry that matters or a job that finished, never because of its own alert entries,
survives a failing evaluation, and starts with a serving worker but never in tests."""

from __future__ import annotations

import logging
import time

import pytest

import diagnostics
from webui import audit, db, jobs, server
from webui.alerts import service, watch
from webui.health.schedule import scheduler
from webui.notifications.delivery import deliverer

from conftest import make_app
from e2e_support import start_server

TEST = diagnostics.catalogue()[0]


class Clock:
    def __init__(self):
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


class Stop(Exception):
    """Ends a watcher loop a test runs in its own thread."""


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def watcher(app, clock):
    return watch.Watcher(app, clock=clock)


def finish_run(app, status: str) -> str:
    """A diagnostic run of one test that has just finished with ``status``."""
    result = {"results": [{"id": TEST.id, "title": TEST.title, "status": status,
                           "summary": "the disk is failing", "details": {},
                           "recommended_action": None}]}
    with app.app_context():
        return jobs.record_done(db.get_db(), "diagnostics", {"tests": [TEST.id]}, result,
                                "admin")


def open_rules(app) -> set[str]:
    with app.app_context():
        _total, rows = service.query(db.get_db(), state="open")
    return {row["rule"] for row in rows}


def test_it_evaluates_at_first_then_at_its_interval(app, watcher, clock):
    assert watcher.tick() is not None
    assert watcher.tick() is None
    clock.now += app.config["ALERTS_CHECK_SECONDS"] - 1
    assert watcher.tick() is None
    clock.now += 1
    assert watcher.tick() is not None


def test_a_finished_unhealthy_run_raises_its_alert_at_the_next_look(app, watcher, clock):
    watcher.tick()
    finish_run(app, "unhealthy")
    clock.now += watch.POLL_SECONDS
    changes = watcher.tick()
    assert changes is not None and "raised" in {change.event for change in changes}
    assert f"test_{TEST.id}" in open_rules(app)
    finish_run(app, "healthy")
    watcher.tick()
    assert f"test_{TEST.id}" not in open_rules(app)


def test_an_audit_entry_that_matters_wakes_it_and_its_own_entries_do_not(app, clock):
    watcher = watch.watcher(app)
    watcher.clock = clock
    watcher.tick()
    with app.app_context():
        audit.record(db.get_db(), audit.Actor("mallory", "192.0.2.9"), "sign_in", "admin",
                     "failure")
    assert watcher.woken.is_set()
    assert watcher.tick() is not None
    with app.app_context():
        audit.record(db.get_db(), audit.SYSTEM, "alert_raise", "sign_in_burst")
        audit.record(db.get_db(), audit.SYSTEM, "alert_clear", "sign_in_burst")
    assert not watcher.woken.is_set()
    assert watcher.tick() is None


@pytest.mark.parametrize(("action", "wakes"), [
    ("diagnostics_run", True), ("sign_in", True), ("lockout", True),
    ("connectivity_mode", True), ("power_request", True), ("power_cancel", True),
    ("support_package_create", True), ("support_ticket_upload", True),
    ("alert_raise", False), ("alert_clear", False), ("alert_acknowledge", False),
    ("audit_export", False), ("sign_out", False)])
def test_which_audit_actions_wake_it(action, wakes):
    assert watch.wakes(action) is wakes


def test_a_failing_evaluation_is_logged_and_the_loop_goes_on(app, clock, monkeypatch, caplog):
    looks = []

    def evaluate(conn, config, now):
        looks.append(now)
        raise RuntimeError("database is locked")

    def wait(event, seconds):
        clock.now += app.config["ALERTS_CHECK_SECONDS"]
        if len(looks) == 2:
            raise Stop

    monkeypatch.setattr(service, "evaluate", evaluate)
    watcher = watch.Watcher(app, clock=clock, wait=wait)
    with caplog.at_level(logging.ERROR), pytest.raises(Stop):
        watcher._loop()
    assert len(looks) == 2
    assert caplog.text.count("alert rules: evaluation failed") == 2


def test_never_started_by_a_request_in_tests(app, client):
    client.get("/healthz")
    assert watch.watcher(app)._thread is None


@pytest.fixture
def webui_log_kept():
    """A serving app configures the ``webui`` log: put it back as it was."""
    log = logging.getLogger("webui")
    level, handlers = log.level, list(log.handlers)
    yield
    for handler in set(log.handlers) - set(handlers):
        log.removeHandler(handler)
        handler.close()
    log.setLevel(level)


def test_a_serving_app_starts_it_with_its_first_request(tmp_path, monkeypatch, webui_log_kept):
    started: list[watch.Watcher] = []
    monkeypatch.setattr(watch.Watcher, "ensure_running", lambda self: started.append(self))
    app = make_app(tmp_path / "instance", TESTING=False, LOG_DIR=str(tmp_path / "logs"))
    try:
        app.test_client().get("/healthz")
        assert started == [watch.watcher(app)]
    finally:
        app.extensions["jobs"].shutdown()


def test_the_worker_starts_the_schedule_the_watcher_and_deliveries_as_it_boots(tmp_path,
                                                                              monkeypatch):
    started = []
    app = make_app(tmp_path / "instance", DIAGNOSTICS_SCHEDULE="on")
    try:
        monkeypatch.setattr(scheduler(app), "ensure_running", lambda: started.append("schedule"))
        monkeypatch.setattr(watch.watcher(app), "ensure_running",
                            lambda: started.append("alerts"))
        monkeypatch.setattr(deliverer(app), "ensure_running",
                            lambda: started.append("notifications"))
        server.start_watching(app)
        assert started == ["schedule", "alerts", "notifications"]
    finally:
        app.extensions["jobs"].shutdown()


def test_the_worker_loads_the_app_with_both_started(tmp_path, monkeypatch):
    started = []
    monkeypatch.setattr(server, "start_watching", lambda app: started.append(app))
    loader = server._Gunicorn({"bind": ["127.0.0.1:0"]},
                              {"INSTANCE": str(tmp_path / "instance"), "TESTING": True,
                               "TLS": "false"})
    app = loader.load()
    try:
        assert started == [app]
    finally:
        app.extensions["jobs"].shutdown()


@pytest.mark.e2e
def test_a_served_device_raises_an_alert_within_seconds_of_an_unhealthy_run(tmp_path):
    live = start_server(tmp_path, env_extra={"WEBUI_ALERTS_CHECK_SECONDS": "3600"})
    conn = db.connect(live.instance / db.DB_NAME)
    try:
        result = {"results": [{"id": TEST.id, "title": TEST.title, "status": "unhealthy",
                               "summary": "the disk is failing", "details": {},
                               "recommended_action": None}]}
        jobs.record_done(conn, "diagnostics", {"tests": [TEST.id]}, result, "admin")
        alert = wait_for_rule(conn, f"test_{TEST.id}", attempts=300)
        assert alert is not None, live.log.read_text()
        assert (alert["severity"], alert["state"]) == ("critical", "active")
    finally:
        conn.close()
        live.stop()


def wait_for_rule(conn, rule_id: str, attempts: int):
    """The open alert of ``rule_id`` once the served app has raised it (polled every 0.1 s)."""
    for _ in range(attempts):
        row = conn.execute("SELECT * FROM alerts WHERE rule = ? AND state != 'cleared'",
                           (rule_id,)).fetchone()
        if row is not None:
            return row
        time.sleep(0.1)
    return None
