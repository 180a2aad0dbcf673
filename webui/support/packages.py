"""Support packages (SPEC F7): the job that builds one, the files it leaves, the console twin.

A package is a job of kind ``support_package``; its file lives in ``<instance>/support-packages``.
The web job and ``edge-webui support-package`` build from the same :func:`collect_context`, so
both carry the same audit export, diagnostic history and secrets to redact.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import secrets
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask

from diagnostics.collect import (
    COLLECTORS,
    DEFAULT,
    CollectContext,
    ExtraItem,
    PackageCancelled,
    PackageInfo,
    PackageOptions,
    build_package,
    check_free_space,
    cleanup_partials,
    prune,
)
from webui import audit, db, jobs
from webui.troubleshooting import service as diagnostic_runs

KIND = "support_package"
PACKAGE_DIR = "support-packages"
OBFUSCATION_MAP = "support-obfuscation-map.json"
TIME_WINDOWS = (1, 6, 24, 72, 168)
DEFAULT_WINDOW = 24
HISTORY_RUNS = 20
LIST_LIMIT = 50
MiB = 1 << 20
# The app's own actors in the audit log: words of the product, not people.
APP_ACTORS = frozenset({"system", "console"})
_JOB_ID = re.compile(r"^[0-9a-f]{16}$")

log = logging.getLogger(__name__)

COLLECTOR_DESCRIPTIONS = {c.id: c.description for c in COLLECTORS}
DEFAULT_COLLECTORS = [c.id for c in COLLECTORS if c.id in DEFAULT]


class OptionProblem(ValueError):
    """A package option the admin gave is not usable; names the field and the rule."""

    def __init__(self, field: str, rule: str):
        super().__init__(f"{field}: {rule}")
        self.field, self.rule = field, rule


@dataclass(frozen=True)
class Package:
    """A support package as the list and the API show it: its job and, once made, its file."""

    id: str
    state: str
    progress: float
    current: str | None
    created_at: float
    finished_at: float | None
    created_by: str | None
    options: dict
    filename: str | None
    size: int | None
    sha256: str | None
    error: str | None
    path: Path | None

    @property
    def active(self) -> bool:
        return self.state in jobs.ACTIVE_STATES

    @property
    def ready(self) -> bool:
        return self.state == "succeeded" and self.path is not None

    @property
    def collectors(self) -> list[str]:
        return list(self.options.get("collectors") or DEFAULT_COLLECTORS)

    @property
    def done_collectors(self) -> int:
        """How many collectors are finished (progress is counted in collectors)."""
        return round(self.progress * len(self.collectors))

    def to_dict(self) -> dict[str, Any]:
        """The API shape of SPEC F7."""
        return {"id": self.id, "state": self.state, "progress": round(self.progress, 3),
                "current_collector": self.current if self.active else None,
                "created_at": iso(self.created_at), "finished_at": iso(self.finished_at),
                "created_by": self.created_by, "filename": self.filename if self.ready else None,
                "size": self.size if self.ready else None,
                "sha256": self.sha256 if self.ready else None,
                "options": self.options, "error": self.error}


def iso(timestamp: float | None) -> str | None:
    """ISO 8601 UTC of a database time, or None."""
    if timestamp is None:
        return None
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).isoformat(timespec="seconds")


def package_dir(app: Flask) -> Path:
    """Where the device keeps its support packages."""
    return Path(app.config["INSTANCE"]) / PACKAGE_DIR


def parse_options(collectors: Any = None, since_hours: Any = DEFAULT_WINDOW,
                  obfuscate: Any = False) -> PackageOptions:
    """The admin's choices as :class:`PackageOptions`; raises :class:`OptionProblem`."""
    if collectors is not None and (not isinstance(collectors, list)
                                   or not all(isinstance(c, str) for c in collectors)):
        raise OptionProblem("collectors", "a list of collector ids")
    if not isinstance(obfuscate, bool):
        raise OptionProblem("obfuscate", "true or false")
    try:
        return PackageOptions(list(dict.fromkeys(collectors)) if collectors is not None else None,
                              since_hours=since_hours, obfuscate=obfuscate)
    except ValueError as exc:
        field, _, rule = str(exc).partition(": ")
        raise OptionProblem(field, rule) from None


def options_dict(options: PackageOptions) -> dict:
    """The options as stored with the job and shown in the list."""
    return {"collectors": [c.id for c in options.chosen], "since_hours": options.since_hours,
            "obfuscate": options.obfuscate}


def free_space_needed(app: Flask) -> int:
    """Bytes that must be free in the instance before a package starts."""
    return app.config["SUPPORT_MIN_FREE_MB"] * MiB


def space(app: Flask) -> dict[str, int]:
    """Free bytes where packages are written and the bytes a package needs free to start."""
    directory = package_dir(app)
    directory.mkdir(parents=True, exist_ok=True)
    return {"free": shutil.disk_usage(directory).free, "need": free_space_needed(app)}


def ensure_space(app: Flask) -> int:
    """Free bytes for packages; raises ``InsufficientSpace`` (with figures) when short."""
    directory = package_dir(app)
    directory.mkdir(parents=True, exist_ok=True)
    return check_free_space(directory, free_space_needed(app))


def record_refusal(action: str, reason: str) -> None:
    """Audit a refused request; a database that cannot take the row (its disk is full too)
    must not turn a clear refusal into an error page."""
    try:
        audit.record(action, None, "refused", reason)
    except (sqlite3.Error, OSError) as exc:
        log.warning("could not audit the refused %s (%s): %s", action, reason, exc)


def known_user_names(conn: sqlite3.Connection) -> set[str]:
    """Every name of a person or script the instance knows: accounts (removed ones too, from
    the audit), API token names and whoever made a job, a ticket or a token."""
    found = {r[0] for r in conn.execute(
        "SELECT username FROM users UNION SELECT name FROM api_tokens "
        "UNION SELECT created_by FROM api_tokens UNION SELECT created_by FROM jobs "
        "UNION SELECT created_by FROM support_tickets "
        "UNION SELECT actor FROM audit WHERE outcome = 'success' "
        "UNION SELECT target FROM audit WHERE action LIKE 'user\\_%' ESCAPE '\\' "
        "OR action = 'password_set'")}
    names = {n.removeprefix("token:") for n in found if isinstance(n, str)}
    return names - APP_ACTORS - {""}


def collect_context(app: Flask) -> CollectContext:
    """What the app adds to every package, the same for the web job and the console."""
    conn = db.connect(db.path_for(app))
    try:
        known = [app.secret_key]
        known += [r[0] for r in conn.execute("SELECT token_hash FROM api_tokens")]
        known += [r[0] for r in conn.execute("SELECT password_hash FROM users")]
        user_names = sorted(known_user_names(conn))
    finally:
        conn.close()
    extra = {"audit": [ExtraItem("audit-log.csv", lambda: _audit_export(app))],
             "diagnostic_history": [ExtraItem("diagnostic-runs.json",
                                              lambda: _diagnostic_history(app))]}
    if app.config["COPYLOG_ROOTS"]:
        extra["copylogs"] = [ExtraItem("copylog-summaries.json",
                                       lambda: _copylog_summaries(app))]
    return CollectContext(log_dir=app.config["LOG_DIR"],
                          copylog_roots=list(app.config["COPYLOG_ROOTS"]),
                          secrets=[s for s in known if s],
                          obfuscation_map_path=Path(app.config["INSTANCE"]) / OBFUSCATION_MAP,
                          extra_items=extra, host_names=[app.config["DEVICE_NAME"]],
                          user_names=user_names)


def _audit_export(app: Flask) -> Iterator[bytes]:
    conn = db.connect(db.path_for(app))
    try:
        _total, rows = audit.service.query(conn, limit=None)
    finally:
        conn.close()
    for text in audit.service.csv_rows(rows):
        yield text.encode()


def latest_diagnostic_run(conn: sqlite3.Connection) -> dict | None:
    """The newest succeeded diagnostic run in its API shape, or None."""
    row = conn.execute("SELECT id FROM jobs WHERE kind = ? AND state = 'succeeded' "
                       "ORDER BY finished_at DESC LIMIT 1", (diagnostic_runs.KIND,)).fetchone()
    run = diagnostic_runs.get_run(conn, row["id"]) if row is not None else None
    return run.to_dict() if run is not None else None


def _diagnostic_history(app: Flask) -> Iterator[bytes]:
    conn = db.connect(db.path_for(app))
    try:
        runs = [run.to_dict() for run in diagnostic_runs.list_runs(conn, HISTORY_RUNS)]
    finally:
        conn.close()
    yield json.dumps({"runs": runs}, indent=1).encode()


def _copylog_summaries(app: Flask) -> Iterator[bytes]:
    from diagnostics.copylogs import CopyLogStore
    from webui.copylogs.service import shown

    store = CopyLogStore(list(app.config["COPYLOG_ROOTS"]), None)
    try:
        logs = [shown(log).to_dict() for log in store.list()]
    finally:
        store.close()
    yield json.dumps({"logs": logs}, indent=1).encode()


def start(app: Flask, options: PackageOptions, created_by: str,
          then: Callable[[PackageInfo], dict] | None = None, params: dict | None = None) -> str:
    """Check free space and queue the package job; answers its id.

    ``then(info)`` runs in the job once the package is made (a ticket bundles it) and adds to
    the job's result. Raises ``InsufficientSpace`` or ``JobConflict``.
    """
    ensure_space(app)
    work = _package_work(app, options, created_by, then)
    return jobs.runner().submit(KIND, work, {**options_dict(options), **(params or {})},
                                created_by=created_by, exclusive=True)


def _package_work(app: Flask, options: PackageOptions, created_by: str,
                  then: Callable[[PackageInfo], dict] | None) -> Callable[[jobs.JobContext], dict]:
    def work(ctx: jobs.JobContext) -> dict:
        def progress(done: int, total: int, current: str | None) -> None:
            ctx.progress(done / total if total else 1.0, current)

        with app.app_context():
            try:
                info = build_package(package_dir(app), options,
                                     device_name=app.config["DEVICE_NAME"],
                                     context=collect_context(app), progress=progress,
                                     should_cancel=lambda: ctx.cancelled)
            except PackageCancelled as exc:
                audit.record("support_package_create", ctx.job_id, "cancelled", actor=created_by)
                raise jobs.JobCancelled() from exc
            except Exception as exc:
                audit.record("support_package_create", ctx.job_id, "failure", str(exc),
                             actor=created_by)
                raise
            result = {"filename": info.filename, "size": info.size, "sha256": info.sha256}
            if then is not None and not ctx.cancelled:
                ctx.progress(1.0, "bundling")
                result.update(then(info))
            if ctx.cancelled:
                _withdraw(app, info, result)
                audit.record("support_package_create", ctx.job_id, "cancelled", actor=created_by)
                raise jobs.JobCancelled()
            prune_packages(app, info.filename)
            audit.record("support_package_create", info.filename, "success",
                         {"job": ctx.job_id, "size": info.size, **options_dict(options)},
                         actor=created_by)
            return result
    return work


def _withdraw(app: Flask, info: PackageInfo, result: dict) -> None:
    """Remove a package cancelled after it was written, and its ticket's bundle with it."""
    info.path.unlink(missing_ok=True)
    if "ticket_id" in result:
        from webui.support import tickets

        tickets.withdraw_bundle(app, result["ticket_id"])


def prune_packages(app: Flask, made: str | None = None) -> list[Path]:
    """Keep the newest ``SUPPORT_KEEP`` packages, dated by their job's finish time.

    ``made`` (the package just written, whose job is not finished yet) and packages a ticket
    is bundling right now are never removed. The entries of removed packages go with them, so
    a later package that gets a freed name is never taken for an old one.
    """
    conn = db.connect(db.path_for(app))
    try:
        rows = conn.execute("SELECT json_extract(result, '$.filename') AS filename, finished_at "
                            "FROM jobs WHERE kind = ? AND state = 'succeeded' "
                            "ORDER BY finished_at", (KIND,)).fetchall()
        bundling = conn.execute(
            "SELECT json_extract(j.result, '$.filename') FROM support_tickets t "
            "JOIN jobs j ON j.id = t.package_job WHERE t.state = 'waiting'").fetchall()
        made_at = {r["filename"]: r["finished_at"] for r in rows}
        protect = {r[0] for r in bundling} | {made}
        removed = prune(package_dir(app), app.config["SUPPORT_KEEP"], made_at, protect - {None})
        conn.executemany("DELETE FROM jobs WHERE kind = ? AND state = 'succeeded' AND "
                         "json_extract(result, '$.filename') = ?",
                         [(KIND, path.name) for path in removed])
    finally:
        conn.close()
    return removed


def file_in(directory: Path, name: str | None) -> Path | None:
    """The regular file ``name`` directly inside ``directory`` (symlinks followed), or None."""
    if not name:
        return None
    candidate = (directory / name).resolve()
    if candidate.parent != directory.resolve() or not candidate.is_file():
        return None
    return candidate


def _package(row: sqlite3.Row, directory: Path) -> Package:
    job = jobs.job_to_dict(row)
    result = job["result"] or {}
    filename = result.get("filename")
    path = file_in(directory, filename) if job["state"] == "succeeded" else None
    options = {k: job["params"][k] for k in ("collectors", "since_hours", "obfuscate")
               if k in job["params"]}
    return Package(job["id"], job["state"], job["progress"], job["message"], job["created_at"],
                   job["finished_at"], job["created_by"], options, filename,
                   result.get("size"), result.get("sha256"), job["error"], path)


def packages(conn: sqlite3.Connection, directory: Path) -> list[Package]:
    """Active, ready and unsuccessful packages, newest first; deleted and pruned ones drop out."""
    rows = conn.execute("SELECT * FROM jobs WHERE kind = ? ORDER BY created_at DESC LIMIT ?",
                        (KIND, LIST_LIMIT)).fetchall()
    found = [_package(row, directory) for row in rows]
    return [p for p in found if p.state != "succeeded" or p.ready]


def get(conn: sqlite3.Connection, directory: Path, package_id: str) -> Package | None:
    """The package with this id, or None (also for malformed ids and removed packages)."""
    if not _JOB_ID.match(package_id):
        return None
    row = jobs.get_job(conn, package_id, KIND)
    if row is None:
        return None
    package = _package(row, directory)
    return None if package.state == "succeeded" and not package.ready else package


def ready_packages(conn: sqlite3.Connection, directory: Path) -> list[Package]:
    """Packages that can be downloaded or attached to a ticket, newest first."""
    return [p for p in packages(conn, directory) if p.ready]


def active_package(conn: sqlite3.Connection, directory: Path) -> Package | None:
    return next((p for p in packages(conn, directory) if p.active), None)


class PackageBusy(Exception):
    """The package is still being made; it must be cancelled first."""


def delete(conn: sqlite3.Connection, package: Package) -> None:
    """Remove the package's file and its row; an active one must be cancelled first."""
    if package.active:
        raise PackageBusy("This support package is still being made: cancel it first.")
    if package.path is not None:
        package.path.unlink(missing_ok=True)
    conn.execute("DELETE FROM jobs WHERE id = ? AND kind = ?", (package.id, KIND))


def cancel(package: Package) -> bool:
    """Ask a running package job to stop; its partial file is removed by the job."""
    return jobs.runner().cancel(package.id)


def clean_leftovers(app: Flask) -> None:
    """Remove partial packages of a crash; a job still running elsewhere keeps its file.

    Jobs left active by a dead process are cleaned when they are marked interrupted.
    """
    directory = package_dir(app)
    conn = db.connect(db.path_for(app))
    try:
        active = conn.execute("SELECT 1 FROM jobs WHERE kind = ? AND state IN ('queued', "
                              "'running')", (KIND,)).fetchone()
    finally:
        conn.close()
    if directory.is_dir() and active is None:
        cleanup_partials(directory)


def console_package(app: Flask, out: str | Path | None = None,
                    collectors: list[str] | None = None, since_hours: float = DEFAULT_WINDOW,
                    obfuscate: bool = False,
                    progress: Callable[[int, int, str | None], None] | None = None
                    ) -> PackageInfo:
    """Build the same package as the web job, for ``edge-webui support-package``.

    ``out`` defaults to the device's package folder, where the package then shows in the
    list (and counts towards the packages kept). Raises ``ValueError`` for bad options and
    ``PackageError`` (``InsufficientSpace``) when it cannot be made.
    """
    options = PackageOptions(collectors, since_hours=since_hours, obfuscate=obfuscate)
    directory = Path(out) if out is not None else package_dir(app)
    directory.mkdir(parents=True, exist_ok=True)
    check_free_space(directory, free_space_needed(app))
    info = build_package(directory, options, device_name=app.config["DEVICE_NAME"],
                         context=collect_context(app), progress=progress)
    conn = db.connect(db.path_for(app))
    try:
        if directory.resolve() == package_dir(app).resolve():
            _record_console_package(conn, info, options)
            prune_packages(app, info.filename)
        audit.record("support_package_create", info.filename, "success",
                     {"path": str(info.path), "size": info.size, **options_dict(options)},
                     actor="console", conn=conn)
    finally:
        conn.close()
    return info


def _record_console_package(conn: sqlite3.Connection, info: PackageInfo,
                            options: PackageOptions) -> None:
    now = db.now()
    result = {"filename": info.filename, "size": info.size, "sha256": info.sha256}
    conn.execute(
        "INSERT INTO jobs(id, kind, state, progress, params, result, created_by, created_at, "
        "started_at, finished_at) VALUES (?, ?, 'succeeded', 1, ?, ?, 'console', ?, ?, ?)",
        (secrets.token_hex(8), KIND, json.dumps(options_dict(options)), json.dumps(result), now,
         now, now))
