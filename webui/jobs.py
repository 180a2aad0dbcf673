"""Background jobs: a thread pool whose jobs keep state, progress and result in SQLite.

Any page reads a job's row, so progress shows wherever it is asked for. Each row names the
process that owns it; at start-up, rows owned by a process that no longer exists become
``interrupted`` (a killed worker never leaves a job "running" forever).
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psutil
from flask import Flask, current_app

from diagnostics import Host, system
from webui import db

log = logging.getLogger(__name__)

ACTIVE_STATES = ("queued", "running")
FINAL_STATES = ("succeeded", "failed", "interrupted", "cancelled")


class JobConflict(Exception):
    """A job of this kind is already active; carries the active job's id."""

    def __init__(self, job_id: str):
        super().__init__(job_id)
        self.job_id = job_id


class JobCancelled(Exception):
    """Raised by a job's work when it notices it was cancelled."""


def _boot() -> str:
    return system.boot_id(Host()) or "unknown"


def _owner_of(pid: int) -> str:
    try:
        started = psutil.Process(pid).create_time()
    except psutil.Error:
        started = 0.0
    return f"{_boot()}:{pid}:{started:.2f}"


def _owner_alive(owner: str | None) -> bool:
    try:
        boot, pid, started = (owner or "").split(":")
        return boot == _boot() and _owner_of(int(pid)) == owner
    except ValueError:
        return False


class JobContext:
    """Handed to a job's work: report progress, check for cancellation."""

    def __init__(self, runner: JobRunner, job_id: str, params: dict[str, Any]):
        self.runner, self.job_id, self.params = runner, job_id, params

    def progress(self, fraction: float, message: str | None = None) -> None:
        self.runner._update(self.job_id, progress=max(0.0, min(1.0, fraction)), message=message)

    def save_result(self, result: Any) -> None:
        """Store a partial result so pages can show it while the job still runs."""
        self.runner._update(self.job_id, result=json.dumps(result))

    @property
    def cancelled(self) -> bool:
        return self.runner._state(self.job_id) == "cancelled"


class JobRunner:
    """Runs job bodies in a thread pool, inside an app context of ``app`` it provides."""

    def __init__(self, app: Flask, max_workers: int = 4):
        self.app = app
        self.db_path = db.path_for(app)
        self.owner = _owner_of(os.getpid())
        self._pool: ThreadPoolExecutor | None = None
        self._max_workers = max_workers
        self._lock = threading.Lock()
        self._cleanups: dict[str, Callable[[dict], None]] = {}

    def _conn(self):
        return db.connect(self.db_path)

    def _pool_get(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self._max_workers, thread_name_prefix="job")
            return self._pool

    def on_interrupted(self, kind: str, cleanup: Callable[[dict], None]) -> None:
        """Register what to clean up when a job of ``kind`` is found orphaned."""
        self._cleanups[kind] = cleanup

    def submit(self, kind: str, work: Callable[[JobContext], Any], params: dict | None = None,
               created_by: str | None = None, exclusive: bool = False,
               subject: str | None = None) -> str:
        """Queue ``work(ctx)``; its return value becomes the job's result. Answers the job id.

        ``subject`` names what the job works on (a ticket, a copy log) so it can be found
        again; ``exclusive`` refuses a second active job of the kind (``JobConflict``)."""
        params = params or {}
        job_id = secrets.token_hex(8)
        conn = self._conn()
        try:
            conn.execute("BEGIN IMMEDIATE")
            if exclusive:
                active = conn.execute(
                    "SELECT id FROM jobs WHERE kind = ? AND state IN ('queued', 'running')",
                    (kind,)).fetchone()
                if active is not None:
                    conn.execute("ROLLBACK")
                    raise JobConflict(active["id"])
            conn.execute(
                "INSERT INTO jobs(id, kind, state, params, created_by, created_at, owner, subject) "
                "VALUES (?, ?, 'queued', ?, ?, ?, ?, ?)",
                (job_id, kind, json.dumps(params), created_by, db.now(), self.owner, subject))
            conn.execute("COMMIT")
        finally:
            conn.close()
        self._pool_get().submit(self._execute, job_id, work, params)
        return job_id

    def _execute(self, job_id: str, work: Callable[[JobContext], Any], params: dict) -> None:
        if self._state(job_id) != "queued":
            return
        self._update(job_id, state="running", started_at=db.now())
        ctx = JobContext(self, job_id, params)
        try:
            with self.app.app_context():
                result = work(ctx)
        except JobCancelled:
            self._finish(job_id, "cancelled", None, None)
        except Exception as exc:
            log.exception("job %s failed", job_id)
            self._finish(job_id, "failed", None, str(exc) or exc.__class__.__name__)
        else:
            self._finish(job_id, "succeeded", result, None)
        finally:
            # The work's own connections (db.get_db in its app context) end with the job.
            db.close_thread_connections()

    def _finish(self, job_id: str, state: str, result: Any, error: str | None) -> None:
        conn = self._conn()
        try:
            fields = "state = ?, finished_at = ?, error = ?"
            values: list[Any] = [state, db.now(), error]
            if state == "succeeded":
                fields += ", progress = 1"
            if result is not None:
                fields += ", result = ?"
                values.append(json.dumps(result))
            # A cancel that arrived while the work finished still wins.
            conn.execute(f"UPDATE jobs SET {fields} WHERE id = ? AND state = 'running'",
                         (*values, job_id))
        finally:
            conn.close()

    def _update(self, job_id: str, **fields: Any) -> None:
        conn = self._conn()
        try:
            assignments = ", ".join(f"{name} = ?" for name in fields)
            conn.execute(f"UPDATE jobs SET {assignments} WHERE id = ?", (*fields.values(), job_id))
        finally:
            conn.close()

    def _state(self, job_id: str) -> str | None:
        conn = self._conn()
        try:
            row = conn.execute("SELECT state FROM jobs WHERE id = ?", (job_id,)).fetchone()
        finally:
            conn.close()
        return row["state"] if row else None

    def cancel(self, job_id: str) -> bool:
        """Ask a queued or running job to stop; answers whether it was active."""
        conn = self._conn()
        try:
            cur = conn.execute(
                "UPDATE jobs SET state = 'cancelled', finished_at = ? "
                "WHERE id = ? AND state IN ('queued', 'running')", (db.now(), job_id))
        finally:
            conn.close()
        return cur.rowcount == 1

    def mark_orphans(self) -> int:
        """Jobs left active by a process that is gone become ``interrupted``."""
        conn = self._conn()
        try:
            rows = conn.execute(
                "SELECT * FROM jobs WHERE state IN ('queued', 'running')").fetchall()
            orphans = [dict(r) for r in rows if not _owner_alive(r["owner"])]
            for row in orphans:
                conn.execute(
                    "UPDATE jobs SET state = 'interrupted', finished_at = ?, "
                    "error = 'the service stopped while this job ran' WHERE id = ?",
                    (db.now(), row["id"]))
        finally:
            conn.close()
        for row in orphans:
            cleanup = self._cleanups.get(row["kind"])
            if cleanup is not None:
                try:
                    cleanup(row)
                except Exception:
                    log.exception("cleanup of interrupted job %s failed", row["id"])
        return len(orphans)

    def shutdown(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None


def job_to_dict(row) -> dict[str, Any]:
    """The API shape shared by every job: ``{id, state, progress, …}``."""
    data = dict(row)
    data["params"] = json.loads(data.get("params") or "{}")
    data["result"] = json.loads(data["result"]) if data.get("result") else None
    data.pop("owner", None)
    return data


def get_job(conn, job_id: str, kind: str | None = None):
    row = conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
    if row is None or (kind is not None and row["kind"] != kind):
        return None
    return row


def list_jobs(conn: sqlite3.Connection, kind: str, limit: int, offset: int = 0,
              state: str | None = None) -> list[sqlite3.Row]:
    """Jobs of ``kind``, newest first (optionally only those in ``state``)."""
    where, args = "kind = ?", [kind]
    if state is not None:
        where += " AND state = ?"
        args.append(state)
    return conn.execute(f"SELECT * FROM jobs WHERE {where} ORDER BY created_at DESC, rowid DESC "
                        "LIMIT ? OFFSET ?", (*args, limit, offset)).fetchall()


def latest(conn: sqlite3.Connection, kind: str, subject: str | None = None,
           state: str | None = None) -> sqlite3.Row | None:
    """The newest job of ``kind`` (about ``subject``, in ``state``), or None."""
    where, args = "kind = ?", [kind]
    if subject is not None:
        where += " AND subject = ?"
        args.append(subject)
    if state is not None:
        where += " AND state = ?"
        args.append(state)
    order = "finished_at DESC" if state in FINAL_STATES else "created_at DESC, rowid DESC"
    return conn.execute(f"SELECT * FROM jobs WHERE {where} ORDER BY {order} LIMIT 1",
                        args).fetchone()


def counts(conn: sqlite3.Connection) -> dict[tuple[str, str], int]:
    """How many jobs there are of each kind and state."""
    return {(row["kind"], row["state"]): row["n"] for row in conn.execute(
        "SELECT kind, state, count(*) AS n FROM jobs GROUP BY kind, state")}


def any_active(conn: sqlite3.Connection, kind: str) -> bool:
    return conn.execute("SELECT 1 FROM jobs WHERE kind = ? AND state IN ('queued', 'running') "
                        "LIMIT 1", (kind,)).fetchone() is not None


def creators(conn: sqlite3.Connection) -> set[str]:
    """Everyone who ever made a job still listed (people, tokens and the device itself)."""
    return {row[0] for row in conn.execute("SELECT DISTINCT created_by FROM jobs "
                                           "WHERE created_by IS NOT NULL")}


def record_done(conn: sqlite3.Connection, kind: str, params: dict, result: dict,
                created_by: str) -> str:
    """A job done outside the runner (from the console), listed like any other."""
    job_id = secrets.token_hex(8)
    now = db.now()
    conn.execute(
        "INSERT INTO jobs(id, kind, state, progress, params, result, created_by, created_at, "
        "started_at, finished_at) VALUES (?, ?, 'succeeded', 1, ?, ?, ?, ?, ?, ?)",
        (job_id, kind, json.dumps(params), json.dumps(result), created_by, now, now, now))
    return job_id


def delete(conn: sqlite3.Connection, job_ids: list[str]) -> None:
    """Forget finished jobs (their results were removed)."""
    conn.executemany("DELETE FROM jobs WHERE id = ? AND state NOT IN ('queued', 'running')",
                     [(job_id,) for job_id in job_ids])


def keep_newest(conn: sqlite3.Connection, kind: str, keep: int) -> None:
    """Forget all but the newest ``keep`` finished jobs of ``kind``."""
    conn.execute("DELETE FROM jobs WHERE kind = ? AND state NOT IN ('queued', 'running') AND id "
                 "NOT IN (SELECT id FROM jobs WHERE kind = ? ORDER BY created_at DESC, "
                 "rowid DESC LIMIT ?)", (kind, kind, keep))


def runner() -> JobRunner:
    return current_app.extensions["jobs"]


def init_app(app: Flask) -> None:
    app.extensions["jobs"] = JobRunner(app)
