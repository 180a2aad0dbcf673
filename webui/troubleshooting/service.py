"""Diagnostic runs: probe settings from the configuration, runs as jobs, and their shapes.

A run is a job of kind ``diagnostics`` whose params hold the requested tests and whose result
is ``{"results": [result…]}``, saved after every finished test so pages show progress and an
interrupted run keeps what it had.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import diagnostics
from diagnostics import Result, Status
from webui import audit, jobs
from webui.config import web_proxy
from webui.connectivity import state as connectivity_state
from webui.formats import is_hex_id, iso

KIND = "diagnostics"
RUNS_KEPT = 500
DEFAULT_CONNECTIVITY_MODE = "fully_connected"


def probe_settings(config: Mapping[str, Any],
                   connectivity_mode: str = DEFAULT_CONNECTIVITY_MODE) -> diagnostics.ProbeSettings:
    """The settings of a diagnostic run on this device, from the web UI's configuration.

    ``config`` is the app's configuration (or ``webui.config.load()``), whose values were
    checked at start-up.
    """
    return diagnostics.ProbeSettings(
        probe_timeout=float(config["PROBE_TIMEOUT"]),
        connectivity_mode=connectivity_mode,
        ntp_server=config["NTP_SERVER"],
        ntp_secondary=config["NTP_SERVERS"][1] if len(config["NTP_SERVERS"]) > 1 else "",
        proxy=web_proxy(config),
        cloud_endpoints=tuple(config["CLOUD_ENDPOINTS"]),
        management_interface=config["MANAGEMENT_INTERFACE"] or None,
        required_units=tuple(config["REQUIRED_UNITS"]),
        # Without TLS the certificate file is not in use, so it is not checked.
        certificate_path=config["TLS_CERT"] if config["TLS"] else None,
        device_name=config["DEVICE_NAME"],
        instance_dir=config["INSTANCE"],
        support_package_free_bytes=int(config["SUPPORT_MIN_FREE_MB"]) * 2**20,
    )


def connectivity_mode(conn: sqlite3.Connection) -> str:
    """The connectivity mode in force; fully connected when none was ever chosen."""
    return connectivity_state.current_mode(conn)


def tests() -> list[dict[str, str]]:
    """The catalogue as ``[{id, title, description}]``, in catalogue order."""
    return [test._asdict() for test in diagnostics.catalogue()]


def start_run(conn: sqlite3.Connection, runner: jobs.JobRunner, config: Mapping[str, Any],
              test_ids: Sequence[str] | None, actor: audit.Actor) -> str:
    """Queue a run of ``test_ids`` (every test when None) and answer its id.

    Raises ``diagnostics.UnknownTests``, or JobConflict carrying the active run's id when a run
    is already going. Audited once queued or refused.
    """
    probes = diagnostics.select(test_ids)
    wanted = [probe.ID for probe in probes]
    settings = probe_settings(config, connectivity_mode(conn))
    try:
        run_id = runner.submit(KIND, partial(_execute, probes=probes, settings=settings),
                               {"tests": wanted}, created_by=actor.name, exclusive=True)
    except jobs.JobConflict as exc:
        audit.record(conn, actor, "diagnostics_run", exc.job_id, "refused",
                     {"tests": wanted, "reason": "a run is already in progress"})
        raise
    audit.record(conn, actor, "diagnostics_run", run_id, detail={"tests": wanted})
    # History is bounded: finished runs beyond the newest RUNS_KEPT go.
    jobs.keep_newest(conn, KIND, RUNS_KEPT)
    return run_id


def _execute(ctx: jobs.JobContext, probes: list[Any],
             settings: diagnostics.ProbeSettings) -> dict[str, Any]:
    finished: list[dict[str, Any]] = []

    def on_result(result: Result, done: int, total: int) -> None:
        finished.append(result.to_dict())
        ctx.save_result({"results": finished})
        ctx.progress(done / total, result.title)

    results = diagnostics.run_probes(probes, diagnostics.Host(), settings, on_result)
    return {"results": [result.to_dict() for result in results]}


@dataclass(frozen=True)
class ResultRow:
    """One requested test of a run: ``queued``, ``running``, ``done`` or ``not_finished``."""

    id: str
    title: str
    state: str
    result: Result | None


@dataclass(frozen=True)
class Run:
    """A diagnostic run as pages and the API show it."""

    id: str
    state: str
    progress: float
    tests: list[str]
    results: list[Result]
    created_by: str | None
    created_at: float
    started_at: float | None
    finished_at: float | None
    error: str | None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Run:
        job = jobs.job_to_dict(row)
        requested = list(job["params"].get("tests") or [])
        position = {test_id: index for index, test_id in enumerate(requested)}
        saved = (job["result"] or {}).get("results") or []
        results = sorted((Result.from_dict(result) for result in saved),
                         key=lambda result: position.get(result.id, len(position)))
        return cls(id=job["id"], state=job["state"], progress=float(job["progress"] or 0),
                   tests=requested, results=results, created_by=job["created_by"],
                   created_at=job["created_at"], started_at=job["started_at"],
                   finished_at=job["finished_at"], error=job["error"])

    @property
    def active(self) -> bool:
        return self.state in jobs.ACTIVE_STATES

    @property
    def counts(self) -> dict[str, int]:
        """How many results have each status, for the statuses present, in display order."""
        found = [result.status for result in self.results]
        return {status.value: found.count(status) for status in Status if status in found}

    @property
    def health(self) -> Status | None:
        """The worst status among the results, or None before any result."""
        return diagnostics.worst(result.status for result in self.results)

    def test_rows(self) -> list[ResultRow]:
        """Every requested test with its progress and, once finished, its result."""
        titles = {test.id: test.title for test in diagnostics.catalogue()}
        by_id = {result.id: result for result in self.results}
        waiting = {"queued": "queued", "running": "running"}.get(self.state, "not_finished")
        return [ResultRow(test_id, titles.get(test_id, test_id),
                        "done" if test_id in by_id else waiting, by_id.get(test_id))
                for test_id in self.tests]

    def to_dict(self) -> dict[str, Any]:
        """The SPEC shape ``{id, state, started_at, finished_at, progress, results}`` and more."""
        return {"id": self.id, "state": self.state, "created_at": iso(self.created_at),
                "started_at": iso(self.started_at), "finished_at": iso(self.finished_at),
                "progress": self.progress, "created_by": self.created_by, "tests": self.tests,
                "counts": self.counts, "error": self.error,
                "results": [result.to_dict() for result in self.results]}

    def download_name(self, device_name: str) -> str:
        """``diagnostics-<device>-<UTC start time>.json``."""
        moment = dt.datetime.fromtimestamp(self.started_at or self.created_at, dt.UTC)
        return f"diagnostics-{device_name}-{moment:%Y%m%dT%H%M%SZ}.json"


def get_run(conn: sqlite3.Connection, run_id: str) -> Run | None:
    """The run with this id, or None (also for text that cannot be a run id)."""
    if not is_hex_id(run_id):
        return None
    row = jobs.get_job(conn, run_id, KIND)
    return Run.from_row(row) if row is not None else None


def list_runs(conn: sqlite3.Connection, limit: int = 20, offset: int = 0) -> list[Run]:
    """The most recent runs, newest first, skipping the newest ``offset``."""
    return [Run.from_row(row) for row in jobs.list_jobs(conn, KIND, limit, offset)]


@dataclass(frozen=True)
class RunSummary:
    """A run as the history lists it: when, by whom, the tests asked for and how many results
    have each status (as :attr:`Run.counts`), read without building each result."""

    id: str
    state: str
    tests: list[str]
    counts: dict[str, int]
    created_by: str | None
    created_at: float
    started_at: float | None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> RunSummary:
        found = Counter((row["statuses"] or "").split(","))
        return cls(id=row["id"], state=row["state"],
                   tests=list(json.loads(row["params"] or "{}").get("tests") or []),
                   counts={status.value: found[status.value] for status in Status
                           if found[status.value]},
                   created_by=row["created_by"], created_at=row["created_at"],
                   started_at=row["started_at"])


# The history's runs, newest first as jobs.list_jobs orders them, each with the statuses of its
# results read by SQLite: the results' JSON is not handed to Python, run after run.
SUMMARIES = ("SELECT id, state, params, created_by, created_at, started_at, "
             "(SELECT group_concat(json_extract(value, '$.status')) "
             "FROM json_each(jobs.result, '$.results')) AS statuses "
             "FROM jobs WHERE kind = ? ORDER BY created_at DESC, rowid DESC LIMIT ?")


def run_summaries(conn: sqlite3.Connection, limit: int = 20) -> list[RunSummary]:
    """The most recent runs, newest first, as the history lists them."""
    return [RunSummary.from_row(row) for row in conn.execute(SUMMARIES, (KIND, limit))]


def count_runs(conn: sqlite3.Connection) -> int:
    """How many runs the history holds, whatever their state."""
    return sum(n for (kind, _state), n in jobs.counts(conn).items() if kind == KIND)


def latest_run(conn: sqlite3.Connection) -> Run | None:
    """The newest run, whatever its state."""
    return next(iter(list_runs(conn, 1)), None)


def download(conn: sqlite3.Connection, run: Run, device_name: str, actor: audit.Actor) -> str:
    """The run as the JSON document a download holds, naming the device; audited."""
    audit.record(conn, actor, "diagnostics_download", run.id)
    return json.dumps({"device_name": device_name, **run.to_dict()}, indent=2, sort_keys=True)
