"""Scheduled diagnostics: one scheduler thread per app runs the tests that are due as ordinary
diagnostic runs, recorded as started by ``schedule``.

What is due comes from the runs in the database (whoever started them), so a restart picks up
where the device was. Shortly after start-up every test runs once, unless every test ran within
its interval (a restart a minute after a run repeats nothing). Runs never overlap: while
a run is active nothing starts, and a run started by someone else is skipped with its reason in
the audit log. The clock and the sleep are injected so tests drive :meth:`Scheduler.tick`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from flask import Flask

import diagnostics
from webui import audit, background, db, jobs
from webui.health import service
from webui.troubleshooting import service as runs
from webui.troubleshooting.service import KIND as DIAGNOSTICS

log = logging.getLogger(__name__)

ACTOR = audit.Actor("schedule")
CHECK_EVERY = 30.0
START_UP_DELAY = 60.0


def last_checked(conn) -> dict[str, float]:
    """When each test was last run to the end (with or without a result), by any run."""
    checked: dict[str, float] = {}
    for row in service.finished_runs(conn):
        for test_id in jobs.job_to_dict(row)["params"].get("tests") or []:
            checked.setdefault(test_id, row["finished_at"] or 0)
    return checked


def due(conn, schedule: service.Schedule, now: float) -> list[str]:
    """The tests whose scheduled interval has passed since they last ran, in catalogue order."""
    checked = last_checked(conn)
    return [test.id for test in diagnostics.catalogue()
            if schedule.interval_of(test.id)
            and now - checked.get(test.id, float("-inf")) >= schedule.interval_of(test.id)]


class Scheduler(background.Loop):
    """Starts the due diagnostic runs of ``app``; :meth:`tick` is one look at the schedule."""

    name = "scheduled diagnostics"
    failure = "check failed"

    def __init__(self, app: Flask, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], Any] = time.sleep):
        super().__init__()
        self.app, self.clock, self.sleep = app, clock, sleep
        self.schedule = service.Schedule.from_config(app.config)
        self.started_at = clock()
        self.started_up = False
        self._skipped: str | None = None

    def pause(self) -> None:
        self.sleep(CHECK_EVERY)

    def tick(self) -> str | None:
        """Start the run that is due now, if any; answers its id."""
        now = self.clock()
        if not self.schedule.enabled or now < self.started_at + START_UP_DELAY:
            return None
        with self.app.app_context():
            conn = db.get_db()
            wanted: list[str] | None = due(conn, self.schedule, now)
            if not wanted:
                self.started_up = True
                return None
            if self._waiting(conn):
                return None
            # The first run after start-up checks every test (None), not only those due.
            wanted = wanted if self.started_up else None
            try:
                run_id = runs.start_run(conn, jobs.runner(), self.app.config, wanted, ACTOR)
            except jobs.JobConflict as exc:
                self._skipped = exc.job_id
                log.info("scheduled diagnostics skipped: run %s is in progress", exc.job_id)
                return None
        self.started_up = True
        return run_id

    def _waiting(self, conn) -> bool:
        """An active run holds the schedule back quietly when it is the schedule's own or was
        already skipped for; another one is met (and audited) by ``start_run``."""
        row = jobs.latest(conn, DIAGNOSTICS)
        return (row is not None and row["state"] in jobs.ACTIVE_STATES
                and (row["created_by"] == ACTOR.name or row["id"] == self._skipped))


def scheduler(app: Flask) -> Scheduler:
    """The diagnostics scheduler of ``app``."""
    return app.extensions["health_scheduler"]
