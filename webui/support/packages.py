"""Support packages (SPEC F7): the job that builds one, the files it leaves, the console twin.

A package is a job of kind ``support_package``; its file lives in ``<instance>/support-packages``.
The web job and ``edge-webui support-package`` build from the same :func:`collect_context`, so
both carry the same audit export, diagnostic history and secrets to redact.
"""

from __future__ import annotations

import json
import logging
import shutil
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from diagnostics.collect import (
    COLLECTORS,
    DEFAULT,
    CollectContext,
    ExtraItem,
    InsufficientSpace,
    PackageCancelled,
    PackageInfo,
    PackageOptions,
    build_package,
    check_free_space,
    cleanup_partials,
    prune,
)
from diagnostics.proxy import Proxy
from webui import audit, db, jobs
from webui.config import SEALED, web_proxy
from webui.formats import is_hex_id, iso
from webui.notifications import channels
from webui.troubleshooting import service as diagnostic_runs

KIND = "support_package"
PACKAGE_DIR = "support-packages"
OBFUSCATION_MAP = "support-obfuscation-map.json"
TIME_WINDOWS = (1, 6, 24, 72, 168)
DEFAULT_WINDOW = 24
HISTORY_RUNS = 20
LIST_LIMIT = 50
MiB = 1 << 20
EVERY_ROW = -1  # a list limit of -1 is none at all: pruning dates every package
# The app's own actors in the audit log: words of the product, not people.
APP_ACTORS = frozenset({audit.SYSTEM.name, audit.CONSOLE.name})

log = logging.getLogger(__name__)

COLLECTOR_DESCRIPTIONS = {c.id: c.description for c in COLLECTORS}
DEFAULT_COLLECTORS = [c.id for c in COLLECTORS if c.id in DEFAULT]


@dataclass(frozen=True)
class Settings:
    """What support packages and tickets need of the device's configuration."""

    instance: Path
    device_name: str
    version: str
    secret_key: str
    log_dir: str | None
    copylog_roots: tuple[str, ...]
    keep: int
    min_free_mb: int
    upload_url: str
    upload_ca: str | None
    # Secrets of the settings (the web proxy's password), removed wherever they appear.
    setting_secrets: tuple[str, ...] = ()
    # The web proxy a ticket upload goes through, where it applies.
    proxy: Proxy | None = None

    @property
    def db_path(self) -> Path:
        return self.instance / db.DB_NAME

    @property
    def package_dir(self) -> Path:
        """Where the device keeps its support packages."""
        return self.instance / PACKAGE_DIR

    @property
    def free_space_needed(self) -> int:
        """Bytes that must be free in the instance before a package starts."""
        return self.min_free_mb * MiB


def settings_from(config: Mapping[str, Any], secret_key: str) -> Settings:
    """The support settings of an app's configuration (and its secret key, to redact)."""
    return Settings(Path(config["INSTANCE"]), config["DEVICE_NAME"], config["VERSION"],
                    secret_key, config["LOG_DIR"], tuple(config["COPYLOG_ROOTS"]),
                    config["SUPPORT_KEEP"], config["SUPPORT_MIN_FREE_MB"],
                    config["SUPPORT_UPLOAD_URL"], config["SUPPORT_UPLOAD_CA"],
                    tuple(config[name] for name in SEALED if config.get(name)),
                    web_proxy(config))


class OptionProblem(ValueError):
    """A package option the admin gave is not usable; names the field and the rule."""

    def __init__(self, field: str, rule: str):
        super().__init__(f"{field}: {rule}")
        self.field, self.rule = field, rule


class PackageBusy(Exception):
    """The package is still being made; it must be cancelled first."""


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

    @cached_property
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


def space(settings: Settings) -> dict[str, int]:
    """Free bytes where packages are written and the bytes a package needs free to start."""
    directory = settings.package_dir
    directory.mkdir(parents=True, exist_ok=True)
    return {"free": shutil.disk_usage(directory).free, "need": settings.free_space_needed}


def ensure_space(settings: Settings, conn: sqlite3.Connection, actor: audit.Actor,
                 action: str) -> int:
    """Free bytes for packages; when short, audits ``action`` as refused and raises
    ``InsufficientSpace`` (with figures)."""
    directory = settings.package_dir
    directory.mkdir(parents=True, exist_ok=True)
    try:
        return check_free_space(directory, settings.free_space_needed)
    except InsufficientSpace as exc:
        record_refusal(conn, actor, action, str(exc))
        raise


def record_refusal(conn: sqlite3.Connection, actor: audit.Actor, action: str,
                   reason: str) -> None:
    """Audit a refused request; a database that cannot take the row (its disk is full too)
    must not turn a clear refusal into an error page."""
    try:
        audit.record(conn, actor, action, None, "refused", reason)
    except (sqlite3.Error, OSError) as exc:
        log.warning("could not audit the refused %s (%s): %s", action, reason, exc)


def known_user_names(conn: sqlite3.Connection) -> set[str]:
    """Every name of a person or script the instance knows: accounts (removed ones too, from
    the audit), API token names and whoever made a job, a ticket or a token."""
    found = {r[0] for r in conn.execute(
        "SELECT username FROM users UNION SELECT name FROM api_tokens "
        "UNION SELECT created_by FROM api_tokens UNION SELECT created_by FROM support_tickets "
        "UNION SELECT actor FROM audit WHERE outcome = 'success' "
        "UNION SELECT target FROM audit WHERE action LIKE 'user\\_%' ESCAPE '\\' "
        "OR action = 'password_set'")} | jobs.creators(conn)
    names = {n.removeprefix("token:") for n in found if isinstance(n, str)}
    return names - APP_ACTORS - {""}


def collect_context(settings: Settings) -> CollectContext:
    """What the app adds to every package, the same for the web job and the console."""
    conn = db.connect(settings.db_path)
    try:
        known = [settings.secret_key]
        known += [r[0] for r in conn.execute("SELECT token_hash FROM api_tokens")]
        known += [r[0] for r in conn.execute("SELECT password_hash FROM users")]
        known += [*settings.setting_secrets, *channels.secrets(conn, settings.instance)]
        user_names = sorted(known_user_names(conn))
    finally:
        conn.close()
    extra = {"audit": [ExtraItem("audit-log.csv", lambda: _audit_export(settings))],
             "diagnostic_history": [ExtraItem("diagnostic-runs.json",
                                              lambda: _diagnostic_history(settings))]}
    if settings.copylog_roots:
        extra["copylogs"] = [ExtraItem("copylog-summaries.json",
                                       lambda: _copylog_summaries(settings))]
    return CollectContext(log_dir=settings.log_dir, copylog_roots=list(settings.copylog_roots),
                          secrets=[s for s in known if s],
                          obfuscation_map_path=settings.instance / OBFUSCATION_MAP,
                          extra_items=extra, host_names=[settings.device_name],
                          user_names=user_names)


def _audit_export(settings: Settings) -> Iterator[bytes]:
    """The whole audit log as CSV, newest first, as the page exports it: read from one cursor
    and written a batch at a time, so memory stays flat whatever the log holds."""
    conn = db.connect(settings.db_path)
    try:
        for text in audit.service.csv_rows(audit.service.entries(conn)):
            yield text.encode()
    finally:
        conn.close()


def latest_diagnostic_run(conn: sqlite3.Connection) -> dict | None:
    """The newest succeeded diagnostic run in its API shape, or None."""
    row = jobs.latest(conn, diagnostic_runs.KIND, state="succeeded")
    run = diagnostic_runs.get_run(conn, row["id"]) if row is not None else None
    return run.to_dict() if run is not None else None


def _diagnostic_history(settings: Settings) -> Iterator[bytes]:
    conn = db.connect(settings.db_path)
    try:
        runs = [run.to_dict() for run in diagnostic_runs.list_runs(conn, HISTORY_RUNS)]
    finally:
        conn.close()
    yield json.dumps({"runs": runs}, indent=1).encode()


def _copylog_summaries(settings: Settings) -> Iterator[bytes]:
    from diagnostics.copylogs import CopyLogStore
    from webui.copylogs.queries import shown

    store = CopyLogStore(list(settings.copylog_roots), None)
    try:
        logs = [shown(log).to_dict() for log in store.list()]
    finally:
        store.close()
    yield json.dumps({"logs": logs}, indent=1).encode()


@dataclass(frozen=True)
class Then:
    """What a package job does for its caller once the package is made (a ticket bundles it):
    ``made(info)`` adds to the job's result; ``undo()`` runs when a cancel comes after it."""

    made: Callable[[PackageInfo], dict]
    undo: Callable[[], None]


def start(runner: jobs.JobRunner, settings: Settings, conn: sqlite3.Connection,
          options: PackageOptions, actor: audit.Actor, then: Then | None = None,
          params: dict | None = None) -> str:
    """Check free space and queue the package job; answers its id.

    Raises ``InsufficientSpace`` (the refusal audited) or ``JobConflict``.
    """
    ensure_space(settings, conn, actor, "support_package_create")
    work = _package_work(settings, options, actor, then)
    return runner.submit(KIND, work, {**options_dict(options), **(params or {})},
                         created_by=actor.name, exclusive=True)


def _package_work(settings: Settings, options: PackageOptions, actor: audit.Actor,
                  then: Then | None) -> Callable[[jobs.JobContext], dict]:
    def work(ctx: jobs.JobContext) -> dict:
        conn = db.connect(settings.db_path)
        try:
            return _make(ctx, conn, settings, options, actor, then)
        finally:
            conn.close()
    return work


def _make(ctx: jobs.JobContext, conn: sqlite3.Connection, settings: Settings,
          options: PackageOptions, actor: audit.Actor, then: Then | None) -> dict:
    def progress(done: int, total: int, current: str | None) -> None:
        ctx.progress(done / total if total else 1.0, current)

    try:
        info = build_package(settings.package_dir, options, device_name=settings.device_name,
                             context=collect_context(settings), progress=progress,
                             should_cancel=lambda: ctx.cancelled)
    except PackageCancelled as exc:
        audit.record(conn, actor, "support_package_create", ctx.job_id, "cancelled")
        raise jobs.JobCancelled() from exc
    except Exception as exc:
        audit.record(conn, actor, "support_package_create", ctx.job_id, "failure", str(exc))
        raise
    result = {"filename": info.filename, "size": info.size, "sha256": info.sha256}
    bundled = then is not None and not ctx.cancelled
    if bundled:
        ctx.progress(1.0, "bundling")
        result.update(then.made(info))
    if ctx.cancelled:
        # Cancelled after the package was written: it goes, and its ticket's bundle with it.
        info.path.unlink(missing_ok=True)
        if bundled:
            then.undo()
        audit.record(conn, actor, "support_package_create", ctx.job_id, "cancelled")
        raise jobs.JobCancelled()
    prune_packages(conn, settings, info.filename)
    audit.record(conn, actor, "support_package_create", info.filename, "success",
                 {"job": ctx.job_id, "size": info.size, **options_dict(options)})
    return result


def _filename(row: sqlite3.Row | None) -> str | None:
    result = jobs.job_to_dict(row)["result"] if row is not None else None
    return (result or {}).get("filename")


def prune_packages(conn: sqlite3.Connection, settings: Settings,
                   made: str | None = None) -> list[Path]:
    """Keep the newest ``SUPPORT_KEEP`` packages, dated by their job's finish time.

    ``made`` (the package just written, whose job is not finished yet) and packages a ticket
    is bundling right now are never removed. The entries of removed packages go with them, so
    a later package that gets a freed name is never taken for an old one.
    """
    rows = jobs.list_jobs(conn, KIND, limit=EVERY_ROW, state="succeeded")
    made_at = {_filename(r): r["finished_at"] for r in reversed(rows)}
    waiting = conn.execute("SELECT package_job FROM support_tickets WHERE state = 'waiting' "
                           "AND package_job IS NOT NULL").fetchall()
    bundling = {_filename(jobs.get_job(conn, r[0])) for r in waiting}
    protect = (bundling | {made}) - {None}
    removed = prune(settings.package_dir, settings.keep, made_at, protect)
    gone = {path.name for path in removed}
    jobs.delete(conn, [r["id"] for r in rows if _filename(r) in gone])
    return removed


def file_in(directory: Path, name: str | None, home: Path | None = None) -> Path | None:
    """The regular file ``name`` directly inside ``directory`` (symlinks followed), or None;
    ``home`` is ``directory`` resolved, when the caller did so once for many names."""
    if not name:
        return None
    candidate = (directory / name).resolve()
    if candidate.parent != (home or directory.resolve()) or not candidate.is_file():
        return None
    return candidate


def _package(row: sqlite3.Row, directory: Path, home: Path | None = None) -> Package:
    """The package of a job row (its params and result read from their JSON once)."""
    params = json.loads(row["params"] or "{}")
    result = (json.loads(row["result"]) if row["result"] else None) or {}
    filename = result.get("filename")
    path = file_in(directory, filename, home) if row["state"] == "succeeded" else None
    options = {k: params[k] for k in ("collectors", "since_hours", "obfuscate") if k in params}
    return Package(row["id"], row["state"], row["progress"], row["message"], row["created_at"],
                   row["finished_at"], row["created_by"], options, filename,
                   result.get("size"), result.get("sha256"), row["error"], path)


def packages(conn: sqlite3.Connection, directory: Path) -> list[Package]:
    """Active, ready and unsuccessful packages, newest first; deleted and pruned ones drop out."""
    home = directory.resolve()
    found = [_package(row, directory, home) for row in jobs.list_jobs(conn, KIND, LIST_LIMIT)]
    return [p for p in found if p.state != "succeeded" or p.ready]


def get(conn: sqlite3.Connection, directory: Path, package_id: str) -> Package | None:
    """The package with this id, or None (also for malformed ids and removed packages)."""
    if not is_hex_id(package_id):
        return None
    row = jobs.get_job(conn, package_id, KIND)
    if row is None:
        return None
    package = _package(row, directory)
    return None if package.state == "succeeded" and not package.ready else package


def ready_packages(conn: sqlite3.Connection, directory: Path) -> list[Package]:
    """Packages that can be downloaded or attached to a ticket, newest first."""
    return [p for p in packages(conn, directory) if p.ready]


def delete(conn: sqlite3.Connection, package: Package, actor: audit.Actor) -> None:
    """Remove the package's file and its row, audited; an active one must be cancelled first."""
    if package.active:
        raise PackageBusy("This support package is still being made: cancel it first.")
    if package.path is not None:
        package.path.unlink(missing_ok=True)
    jobs.delete(conn, [package.id])
    audit.record(conn, actor, "support_package_delete", package.id,
                 detail={"file": package.filename})


def cancel(runner: jobs.JobRunner, conn: sqlite3.Connection, package: Package,
           actor: audit.Actor) -> bool:
    """Ask a running package job to stop (audited); its partial file is removed by the job.
    Answers whether it was still running."""
    if not runner.cancel(package.id):
        return False
    audit.record(conn, actor, "support_package_cancel", package.id)
    return True


def record_download(conn: sqlite3.Connection, actor: audit.Actor, action: str, target: str,
                    path: Path) -> None:
    """Audit the download of a package or a ticket bundle."""
    audit.record(conn, actor, action, target,
                 detail={"file": path.name, "size": path.stat().st_size})


def clean_leftovers(settings: Settings, conn: sqlite3.Connection) -> None:
    """Remove partial packages of a crash; a job still running elsewhere keeps its file.

    Jobs left active by a dead process are cleaned when they are marked interrupted.
    """
    directory = settings.package_dir
    if directory.is_dir() and not jobs.any_active(conn, KIND):
        cleanup_partials(directory)


def console_package(settings: Settings, out: str | Path | None = None,
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
    directory = Path(out) if out is not None else settings.package_dir
    directory.mkdir(parents=True, exist_ok=True)
    check_free_space(directory, settings.free_space_needed)
    info = build_package(directory, options, device_name=settings.device_name,
                         context=collect_context(settings), progress=progress)
    conn = db.connect(settings.db_path)
    try:
        if directory.resolve() == settings.package_dir.resolve():
            jobs.record_done(conn, KIND, options_dict(options),
                             {"filename": info.filename, "size": info.size,
                              "sha256": info.sha256}, audit.CONSOLE.name)
            prune_packages(conn, settings, info.filename)
        audit.record(conn, audit.CONSOLE, "support_package_create", info.filename, "success",
                     {"path": str(info.path), "size": info.size, **options_dict(options)})
    finally:
        conn.close()
    return info
