"""The connectivity mode in force and changing it (SPEC F5).

The mode lives in the ``settings`` table and, for other services on the device, in
``<instance>/connectivity-mode``. A change runs as a job: it writes the file, runs the hooks
and stores the mode once every hook succeeded; when one fails the previous mode is put back and
its hooks run again.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from webui import audit, db, jobs
from webui.connectivity.hooks import HookRun, run_hooks
from webui.connectivity.policy import DEFAULT_MODE, LABELS, MODES
from webui.formats import iso
from webui.instance import write_private

log = logging.getLogger(__name__)

SETTING_KEY = "connectivity_mode"
STATE_FILE = "connectivity-mode"
LOCK_FILE = "connectivity-mode.lock"
JOB_KIND = "connectivity_mode"
# A request waits this long for a change, so quick hooks answer at once; slower ones go on as
# a job whose outcome the page and the API show when it finishes.
WAIT_SECONDS = 2.0
WAIT_STEP = 0.05
# Finished changes kept for their outcome pages; older ones are forgotten.
CHANGES_KEPT = 20
IN_PROGRESS = ("Another connectivity mode change is still running its hooks; "
               "try again when it has finished.")
# What a change shows as: waiting or running, then its outcome (see ChangeJob.state).
CHANGE_STATES = (*jobs.ACTIVE_STATES, "changed", "unchanged", "rolled_back", "refused", "failed")


class ModeChangeError(Exception):
    """The mode could not be changed; the message says why."""


class ModeChangeInProgress(ModeChangeError):
    """Another mode change has not finished yet."""


@dataclass(frozen=True)
class HookSettings:
    """Where the mode file and the hooks are, and how long each hook may run."""

    instance: Path
    hooks_dir: Path
    timeout: float

    @classmethod
    def from_config(cls, config: Mapping) -> HookSettings:
        return cls(Path(config["INSTANCE"]), Path(config["HOOKS_DIR"]), config["HOOK_TIMEOUT"])


@dataclass(frozen=True)
class ModeState:
    """The current mode and who set it when (``changed_at`` is None for the default)."""

    mode: str
    changed_at: float | None
    changed_by: str | None

    @property
    def label(self) -> str:
        return LABELS[self.mode]

    def to_dict(self) -> dict:
        return {"mode": self.mode, "changed_at": iso(self.changed_at),
                "changed_by": self.changed_by}


@dataclass
class ModeChange:
    """The result of a mode change: the mode now in force and every hook run, in order."""

    requested: str
    previous: str
    mode: str
    hooks: list[HookRun] = field(default_factory=list)
    rollback: list[HookRun] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.mode == self.requested

    @property
    def failed_hook(self) -> HookRun | None:
        return next((run for run in self.hooks if not run.ok), None)

    @property
    def failure(self) -> str:
        """Why the mode was not changed, in one sentence."""
        failed = self.failed_hook
        return (f"The hook {failed.name} failed ({failed.outcome}); the mode "
                f"{LABELS[self.previous]} was restored.")

    def to_dict(self) -> dict:
        failed = self.failed_hook
        return {"requested": self.requested, "previous": self.previous, "mode": self.mode,
                "failed_hook": failed.name if failed else None,
                "hooks": [run.to_dict() for run in self.hooks],
                "rollback_hooks": [run.to_dict() for run in self.rollback]}

    def to_record(self) -> dict:
        """Everything about the change, as a job keeps it."""
        return asdict(self)

    @classmethod
    def from_record(cls, record: dict) -> ModeChange:
        return cls(record["requested"], record["previous"], record["mode"],
                   [HookRun(**run) for run in record["hooks"]],
                   [HookRun(**run) for run in record["rollback"]])


def current_mode(conn: sqlite3.Connection) -> str:
    """The connectivity mode in force (``fully_connected`` until someone changes it)."""
    return mode_state(conn).mode


def mode_state(conn: sqlite3.Connection) -> ModeState:
    """The mode with when and by whom it was last changed."""
    row = db.get_setting(conn, SETTING_KEY)
    if row is None or row["value"] not in MODES:
        return ModeState(DEFAULT_MODE, None, None)
    return ModeState(row["value"], row["changed_at"], row["changed_by"])


# The mode as every request's gate, banner and card see it: read once per database, forgotten
# whenever it is stored through ``store_mode`` (the only writer of the setting). The generation
# keeps a read that raced with a change from being remembered after it.
_remembered: dict[str, ModeState] = {}
_generation = 0
_memory_lock = threading.Lock()


def remembered_state(conn: sqlite3.Connection, key: str) -> ModeState:
    """``mode_state`` from memory; ``key`` names the database (its path)."""
    found = _remembered.get(key)
    if found is not None:
        return found
    generation = _generation
    current = mode_state(conn)
    with _memory_lock:
        if generation == _generation:
            _remembered[key] = current
    return current


def forget_remembered() -> None:
    """The stored mode changed (or may have): the next request reads it again."""
    global _generation
    with _memory_lock:
        _generation += 1
        _remembered.clear()


def store_mode(conn: sqlite3.Connection, mode: str, changed_by: str | None) -> None:
    """Store the mode in force; every remembered copy is forgotten once it is stored."""
    try:
        db.put_setting(conn, SETTING_KEY, mode, changed_by)
    finally:
        forget_remembered()


def write_state_file(path: Path, mode: str) -> None:
    """Replace the mode file atomically: readers see the old or the new mode, never a part."""
    # The instance directory is private to the service, so a private file hides nothing more.
    write_private(path, (mode + "\n").encode())


def sync_state_file(conn: sqlite3.Connection, instance: str | Path) -> None:
    """Make ``<instance>/connectivity-mode`` say the stored mode (start-up, after a crash)."""
    path = Path(instance) / STATE_FILE
    mode = current_mode(conn)
    try:
        if path.read_text().strip() == mode:
            return
    except OSError:
        pass
    write_state_file(path, mode)


def sync_at_start(db_path: str | Path, instance: str | Path) -> None:
    """Bring the mode file up to date at start-up; a file that cannot be written is logged."""
    forget_remembered()
    conn = db.connect(db_path)
    try:
        sync_state_file(conn, instance)
    except OSError as exc:
        log.warning("cannot write the connectivity mode file: %s", exc)
    finally:
        conn.close()


def _write_or_explain(path: Path, mode: str) -> None:
    try:
        write_state_file(path, mode)
    except OSError as exc:
        raise ModeChangeError(f"The mode file {path} could not be written "
                              f"({exc.strerror or exc}); the stored mode is unchanged.") from None


@contextmanager
def _exclusive(instance: Path) -> Iterator[None]:
    # A lock file rather than a thread lock: it also holds across processes and dies with them.
    try:
        fd = os.open(instance / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise ModeChangeError(f"The instance directory {instance} is not writable "
                              f"({exc.strerror or exc}); the mode is unchanged.") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ModeChangeInProgress(IN_PROGRESS) from None
        yield
    finally:
        os.close(fd)


def change_mode(conn: sqlite3.Connection, mode: str, changed_by: str,
                settings: HookSettings) -> ModeChange:
    """Switch to ``mode``: write the file, run the hooks; on a failure restore the previous mode.

    Raises ``ModeChangeInProgress`` when another change holds the lock, ``ModeChangeError`` when
    the mode file cannot be written and ``ValueError`` for a mode that does not exist. The
    stored mode changes only once every hook has succeeded.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}")
    with _exclusive(settings.instance):
        previous = current_mode(conn)
        change = ModeChange(mode, previous, previous)
        if mode == previous:
            return change
        state_file = settings.instance / STATE_FILE
        _write_or_explain(state_file, mode)
        change.hooks = run_hooks(settings.hooks_dir, mode, previous, settings.timeout)
        if change.failed_hook is None:
            store_mode(conn, mode, changed_by)
            change.mode = mode
            return change
        _write_or_explain(state_file, previous)
        change.rollback = run_hooks(settings.hooks_dir, previous, mode, settings.timeout,
                                    stop_on_failure=False)
        return change


def record(conn: sqlite3.Connection, actor: audit.Actor, change: ModeChange) -> None:
    """Audit a mode change request, and every hook that failed during it or its rollback."""
    for run in (*change.hooks, *change.rollback):
        if not run.ok:
            audit.record(conn, actor, "connectivity_hook", run.name, "failure",
                         {"mode": run.mode, "outcome": run.outcome,
                          "output": run.output[-2000:]})
    detail = {"previous": change.previous, "mode": change.mode,
              "hooks": [run.name for run in change.hooks]}
    if change.requested == change.previous:
        detail["note"] = "already in this mode"
    audit.record(conn, actor, "connectivity_mode", change.requested,
                 "success" if change.ok else "failure", detail)


def _refused(conn: sqlite3.Connection, actor: audit.Actor, mode: str,
             exc: ModeChangeError) -> None:
    outcome = "refused" if isinstance(exc, ModeChangeInProgress) else "failure"
    audit.record(conn, actor, "connectivity_mode", mode, outcome, str(exc))


def change(conn: sqlite3.Connection, mode: str, actor: audit.Actor,
           settings: HookSettings) -> ModeChange:
    """Change the mode, audited as ``actor``'s request."""
    try:
        result = change_mode(conn, mode, actor.name, settings)
    except ModeChangeError as exc:
        _refused(conn, actor, mode, exc)
        raise
    record(conn, actor, result)
    return result


@dataclass(frozen=True)
class ChangeJob:
    """A mode change as a job: running, or its outcome (the hooks' runs, or why it stopped)."""

    id: str
    job_state: str
    requested: str
    requested_by: str | None
    requested_at: float
    finished_at: float | None
    change: ModeChange | None = None
    error: ModeChangeError | None = None

    @property
    def active(self) -> bool:
        return self.job_state in jobs.ACTIVE_STATES

    @property
    def state(self) -> str:
        """``queued``, ``running``, ``changed``, ``unchanged``, ``rolled_back``, ``refused``
        (another change ran) or ``failed`` (the change could not run)."""
        if self.active:
            return self.job_state
        if self.error is not None:
            return "refused" if isinstance(self.error, ModeChangeInProgress) else "failed"
        if self.change.requested == self.change.previous:
            return "unchanged"
        return "changed" if self.change.ok else "rolled_back"

    @property
    def detail(self) -> str | None:
        if self.error is not None:
            return str(self.error)
        if self.change is not None and not self.change.ok:
            return self.change.failure
        return None

    def to_dict(self) -> dict:
        """The API shape: the change's state and, once the hooks ran, every run (until then
        no modes and no runs)."""
        body = {"id": self.id, "state": self.state, "requested": self.requested,
                "requested_by": self.requested_by, "requested_at": iso(self.requested_at),
                "finished_at": iso(self.finished_at), "detail": self.detail,
                "previous": None, "mode": None, "failed_hook": None, "hooks": [],
                "rollback_hooks": []}
        if self.change is not None:
            body.update(self.change.to_dict())
        return body


def _change_job(row: sqlite3.Row) -> ChangeJob:
    job = jobs.job_to_dict(row)
    result = job["result"] or {}
    change, error = None, None
    if "change" in result:
        change = ModeChange.from_record(result["change"])
    elif "error" in result:
        error = (ModeChangeInProgress if result["in_progress"] else ModeChangeError)(
            result["error"])
    elif job["state"] not in jobs.ACTIVE_STATES:
        error = ModeChangeError(f"The mode change did not finish: {job['error'] or job['state']}.")
    return ChangeJob(job["id"], job["state"], job["params"]["mode"], job["created_by"],
                     job["created_at"], job["finished_at"], change, error)


def start_change(conn: sqlite3.Connection, runner: jobs.JobRunner, mode: str,
                 actor: audit.Actor, settings: HookSettings) -> str:
    """Queue the change to ``mode`` as a job; answers its id.

    Raises ``ModeChangeInProgress`` while another change runs and ``ValueError`` for a mode
    that does not exist.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}")

    def work(_ctx: jobs.JobContext) -> dict:
        job_conn = db.connect(runner.db_path)
        try:
            return {"change": change(job_conn, mode, actor, settings).to_record()}
        except ModeChangeError as exc:
            return {"error": str(exc), "in_progress": isinstance(exc, ModeChangeInProgress)}
        finally:
            job_conn.close()

    try:
        job_id = runner.submit(JOB_KIND, work, {"mode": mode}, created_by=actor.name,
                               exclusive=True)
    except jobs.JobConflict:
        refused = ModeChangeInProgress(IN_PROGRESS)
        _refused(conn, actor, mode, refused)
        raise refused from None
    jobs.keep_newest(conn, JOB_KIND, CHANGES_KEPT)
    return job_id


def change_job(conn: sqlite3.Connection, job_id: str) -> ChangeJob | None:
    row = jobs.get_job(conn, job_id, JOB_KIND)
    return _change_job(row) if row is not None else None


def latest_change(conn: sqlite3.Connection) -> ChangeJob | None:
    """The newest mode change, whatever its state."""
    row = jobs.latest(conn, JOB_KIND)
    return _change_job(row) if row is not None else None


def wait_for(conn: sqlite3.Connection, job_id: str, seconds: float) -> ChangeJob:
    """The change once it finished, or as it stands after ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        job = change_job(conn, job_id)
        if not job.active or time.monotonic() >= deadline:
            return job
        time.sleep(WAIT_STEP)
