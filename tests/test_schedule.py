"""Scheduled diagnostics, driven by a fake clock: the start-up run, the intervals, never two
runs at once, a skip with its reason, and a restart that picks up from the database."""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from types import SimpleNamespace

import pytest

import diagnostics
from diagnostics import Result, Status
from diagnostics import probes as probe_modules
from webui import db, jobs
from webui.health import schedule
from webui.health.service import NETWORK_TESTS

from conftest import job_rows, make_app

TESTS = [test.id for test in diagnostics.catalogue()]
MINUTE = 60.0


class Clock:
    """The scheduler's clock, moved on by the test; the runs it starts are timed by it too."""

    def __init__(self):
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def after(self, seconds: float) -> Clock:
        self.now += seconds
        return self


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(db, "now", clock)
    return clock


@pytest.fixture
def held():
    gate = threading.Event()
    yield gate
    gate.set()


@pytest.fixture
def instant_probes(monkeypatch, held):
    """The real catalogue with probes that answer at once; ``held`` ones wait for the gate."""
    real_load = probe_modules.load
    holding: set[str] = set()

    def run(module, host, settings):
        if module.ID in holding:
            held.wait()
        return Result(module.ID, module.TITLE, Status.HEALTHY, "fine")

    def load(ids=None):
        return [SimpleNamespace(ID=m.ID, TITLE=m.TITLE, DESCRIPTION=m.DESCRIPTION,
                                run=lambda host, settings, m=m: run(m, host, settings))
                for m in real_load(ids)]

    monkeypatch.setattr(probe_modules, "load", load)
    return holding


@pytest.fixture
def scheduled_app(tmp_path, instant_probes):
    app = make_app(tmp_path / "instance", DIAGNOSTICS_SCHEDULE="on")
    yield app
    app.extensions["jobs"].shutdown()


def wait_until_idle(app) -> None:
    for _ in range(1200):
        with app.app_context():
            if not jobs.any_active(db.get_db(), "diagnostics"):
                return
        time.sleep(0.05)
    raise AssertionError("the run never finished")


def asked_of(app, run_id: str) -> list[str]:
    row = next(row for row in job_rows(app, "diagnostics") if row["id"] == run_id)
    return json.loads(row["params"])["tests"]


def audit_rows(app) -> list[dict]:
    with app.app_context():
        return [dict(row) for row in db.get_db().execute(
            "SELECT * FROM audit WHERE action = 'diagnostics_run' ORDER BY id")]


def tick(app, scheduler) -> str | None:
    run_id = scheduler.tick()
    wait_until_idle(app)
    return run_id


def started_up(app, clock: Clock) -> schedule.Scheduler:
    """A scheduler past its start-up run, which ran every test."""
    scheduler = schedule.Scheduler(app, clock=clock)
    assert tick(app, scheduler) is None
    run_id = tick(app, clock.after(schedule.START_UP_DELAY) and scheduler)
    assert run_id is not None and asked_of(app, run_id) == TESTS
    return scheduler


def test_the_app_does_not_start_the_scheduler_in_tests(scheduled_app):
    scheduled_app.test_client().get("/healthz")
    assert schedule.scheduler(scheduled_app)._thread is None


def test_every_test_runs_once_shortly_after_start_up_by_schedule(scheduled_app, clock):
    started_up(scheduled_app, clock)
    (row,) = job_rows(scheduled_app, "diagnostics")
    assert row["created_by"] == "schedule" and row["state"] == "succeeded"
    assert [entry["actor"] for entry in audit_rows(scheduled_app)] == ["schedule"]


def test_network_tests_run_every_15_minutes_and_every_test_hourly(scheduled_app, clock):
    scheduler = started_up(scheduled_app, clock)
    assert tick(scheduled_app, clock.after(13 * MINUTE) and scheduler) is None
    network = tick(scheduled_app, clock.after(4 * MINUTE) and scheduler)
    assert asked_of(scheduled_app, network) == [t for t in TESTS if t in NETWORK_TESTS]
    assert tick(scheduled_app, clock.after(MINUTE) and scheduler) is None
    every = tick(scheduled_app, clock.after(45 * MINUTE) and scheduler)
    assert asked_of(scheduled_app, every) == TESTS


def test_nothing_runs_with_the_schedule_off(tmp_path, instant_probes, clock):
    app = make_app(tmp_path / "instance", DIAGNOSTICS_SCHEDULE="off")
    scheduler = schedule.Scheduler(app, clock=clock)
    assert scheduler.tick() is None
    assert clock.after(2 * schedule.START_UP_DELAY) and scheduler.tick() is None
    assert job_rows(app, "diagnostics") == []
    app.extensions["jobs"].shutdown()


def test_a_scheduled_run_never_starts_while_its_previous_one_runs(scheduled_app, instant_probes,
                                                                  held, clock):
    instant_probes.add("disks")
    scheduler = schedule.Scheduler(scheduled_app, clock=clock)
    clock.after(schedule.START_UP_DELAY)
    assert scheduler.tick() is not None
    # The run still holds the disks test; an hour later the schedule waits for it, silently.
    assert scheduler.tick() is None and clock.after(61 * MINUTE) and scheduler.tick() is None
    assert len(job_rows(scheduled_app, "diagnostics")) == 1
    assert len(audit_rows(scheduled_app)) == 1
    held.set()
    wait_until_idle(scheduled_app)
    # It finished just now: the next one is the network tests' a quarter of an hour on.
    assert tick(scheduled_app, clock.after(14 * MINUTE) and scheduler) is None
    assert tick(scheduled_app, clock.after(2 * MINUTE) and scheduler) is not None


def add_running(app, created_by: str = "admin") -> str:
    """A run someone started that is still going."""
    run_id = secrets.token_hex(8)
    with app.app_context():
        db.get_db().execute(
            "INSERT INTO jobs(id, kind, state, progress, params, created_by, created_at, "
            "started_at, owner) VALUES (?, 'diagnostics', 'running', 0, ?, ?, ?, ?, ?)",
            (run_id, json.dumps({"tests": TESTS}), created_by, time.time(), time.time(),
             app.extensions["jobs"].owner))
    return run_id


def test_a_run_someone_else_started_is_skipped_with_the_reason(scheduled_app, clock, caplog):
    active = add_running(scheduled_app)
    caplog.set_level(logging.INFO, logger="webui.health.schedule")
    scheduler = schedule.Scheduler(scheduled_app, clock=clock)
    clock.after(schedule.START_UP_DELAY)
    assert scheduler.tick() is None and scheduler.tick() is None
    (entry,) = audit_rows(scheduled_app)
    assert (entry["actor"], entry["outcome"], entry["target"]) == ("schedule", "refused", active)
    assert json.loads(entry["detail"])["reason"] == "a run is already in progress"
    assert f"run {active} is in progress" in caplog.text
    assert [row["id"] for row in job_rows(scheduled_app, "diagnostics")] == [active]


def add_finished(app, tests: list[str], finished_at: float, created_by: str = "admin") -> None:
    result = {"results": [{"id": t, "title": t, "status": "healthy", "summary": "",
                           "details": {}, "recommended_action": None} for t in tests]}
    with app.app_context():
        conn = db.get_db()
        run_id = jobs.record_done(conn, "diagnostics", {"tests": tests}, result, created_by)
        conn.execute("UPDATE jobs SET finished_at = ? WHERE id = ?", (finished_at, run_id))


def test_after_a_restart_the_schedule_picks_up_from_the_runs_recorded(tmp_path, instant_probes,
                                                                     clock):
    first = make_app(tmp_path / "instance", DIAGNOSTICS_SCHEDULE="on")
    started_up(first, clock)
    first.extensions["jobs"].shutdown()
    # Five minutes later the service restarts: nothing is due, so nothing repeats.
    again = make_app(tmp_path / "instance", DIAGNOSTICS_SCHEDULE="on")
    scheduler = schedule.Scheduler(again, clock=clock.after(4 * MINUTE))
    assert tick(again, clock.after(schedule.START_UP_DELAY) and scheduler) is None
    # An admin's run of the network tests counts too: their next run is 15 min after it.
    add_finished(again, list(NETWORK_TESTS), clock.now)
    assert tick(again, clock.after(14 * MINUTE) and scheduler) is None
    network = tick(again, clock.after(2 * MINUTE) and scheduler)
    assert sorted(asked_of(again, network)) == sorted(NETWORK_TESTS)
    assert len(job_rows(again, "diagnostics")) == 3
    again.extensions["jobs"].shutdown()


def test_after_a_long_stop_every_test_runs_at_start_up(tmp_path, instant_probes, clock):
    app = make_app(tmp_path / "instance", DIAGNOSTICS_SCHEDULE="on")
    add_finished(app, TESTS, clock.now - 3 * 3600)
    add_finished(app, ["disks"], clock.now - 10 * MINUTE)
    scheduler = schedule.Scheduler(app, clock=clock)
    run_id = tick(app, clock.after(schedule.START_UP_DELAY) and scheduler)
    assert asked_of(app, run_id) == TESTS
    app.extensions["jobs"].shutdown()
