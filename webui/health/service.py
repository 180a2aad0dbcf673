"""Device health: the worst of the latest result of each diagnostic test, each with its age.

A run may hold only some tests and an interrupted one keeps those it finished, so each test's
latest result is looked for over the recent finished runs. A result older than its test's
scheduled interval is stale; one older than a day (or a test that never ran, once others have)
makes the device a warning at least, so running fewer tests never makes it look healthier.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import diagnostics
from diagnostics import Result, Status
from webui import jobs
from webui.formats import iso
from webui.troubleshooting.service import KIND as DIAGNOSTICS

# Older runs are not searched for a test's latest result: pages and scrapes stay cheap.
RUNS_SEARCHED = 100
DAY = 86400.0
NETWORK_TESTS = ("internet_connectivity", "network_settings", "network_interfaces", "time_sync")
STATUSES = {status.value for status in Status}


@dataclass(frozen=True)
class Schedule:
    """How often scheduled diagnostics run each test, in seconds (0: not by schedule)."""

    enabled: bool
    interval: float
    network_interval: float

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Schedule:
        return cls(bool(config["DIAGNOSTICS_SCHEDULE"]),
                   config["DIAGNOSTICS_INTERVAL_MINUTES"] * 60.0,
                   config["DIAGNOSTICS_NETWORK_INTERVAL_MINUTES"] * 60.0)

    def interval_of(self, test_id: str) -> float:
        """Seconds between scheduled runs of the test; network tests run more often."""
        if test_id in NETWORK_TESTS and self.network_interval:
            return self.network_interval
        return self.interval

    def stale_after(self, test_id: str) -> float:
        """A result older than this is stale: its interval, or a day without one."""
        return self.interval_of(test_id) or DAY


@dataclass(frozen=True)
class LatestResult:
    """A test's newest result, the run that gave it and when that run finished."""

    result: Result
    run_id: str
    finished_at: float

    @property
    def status(self) -> Status:
        return self.result.status


def finished_runs(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    """The recent finished diagnostic runs, the last to finish first."""
    finals = ", ".join("?" * len(jobs.FINAL_STATES))
    return conn.execute(
        f"SELECT * FROM jobs WHERE kind = ? AND state IN ({finals}) "
        "ORDER BY finished_at DESC, rowid DESC LIMIT ?",
        (DIAGNOSTICS, *jobs.FINAL_STATES, RUNS_SEARCHED)).fetchall()


def _results(row: sqlite3.Row) -> list[dict[str, Any]]:
    saved = json.loads(row["result"]) if row["result"] else {}
    return [result for result in saved.get("results", []) if isinstance(result, dict)]


def latest_results(conn: sqlite3.Connection) -> dict[str, LatestResult]:
    """The newest result of each catalogue test; tests that never ran are left out."""
    wanted = {test.id for test in diagnostics.catalogue()}
    found: dict[str, LatestResult] = {}
    for row in finished_runs(conn):
        for result in _results(row):
            test_id = result.get("id")
            if test_id in wanted and test_id not in found and result.get("status") in STATUSES:
                found[test_id] = LatestResult(Result.from_dict(result), row["id"],
                                              row["finished_at"] or 0)
        if len(found) == len(wanted):
            break
    return found


@dataclass(frozen=True)
class TestHealth:
    """One test as device health shows it; ``status`` None: it never ran."""

    id: str
    title: str
    status: Status | None
    summary: str | None
    checked_at: float | None
    run_id: str | None
    stale: bool
    age: float | None

    @property
    def outdated(self) -> bool:
        """Older than a day: the device cannot be called healthy on it."""
        return self.age is not None and self.age > DAY

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title,
                "status": self.status.value if self.status else None, "summary": self.summary,
                "checked_at": iso(self.checked_at), "run_id": self.run_id, "stale": self.stale}


@dataclass(frozen=True)
class DeviceHealth:
    """The device's health: ``status`` None until a test has run."""

    status: Status | None
    checked_at: float | None
    tests: list[TestHealth]

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status.value if self.status else None,
                "checked_at": iso(self.checked_at),
                "tests": [test.to_dict() for test in self.tests]}


def _test_health(test: diagnostics.DiagnosticTest, latest: LatestResult | None,
                 schedule: Schedule, now: float) -> TestHealth:
    if latest is None:
        return TestHealth(test.id, test.title, None, None, None, None, stale=True, age=None)
    age = max(0.0, now - latest.finished_at)
    return TestHealth(test.id, test.title, latest.result.status, latest.result.summary,
                      latest.finished_at, latest.run_id,
                      stale=age > schedule.stale_after(test.id), age=age)


def _verdict(test: TestHealth) -> Status:
    if test.status is None or test.outdated:
        return diagnostics.worst([test.status or Status.WARNING, Status.WARNING])
    return test.status


def device_health(conn: sqlite3.Connection, schedule: Schedule, now: float) -> DeviceHealth:
    """Every catalogue test's latest result with its age, and the worst of them."""
    latest = latest_results(conn)
    tests = [_test_health(test, latest.get(test.id), schedule, now)
             for test in diagnostics.catalogue()]
    if not latest:
        return DeviceHealth(None, None, tests)
    return DeviceHealth(diagnostics.worst(_verdict(test) for test in tests),
                        max(result.finished_at for result in latest.values()), tests)
