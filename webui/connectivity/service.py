"""Connectivity mode (SPEC F5): the stored mode, what each mode allows, and changing it.

The mode lives in the ``settings`` table and, for other services on the device, in
``<instance>/connectivity-mode``. Changing it runs the hooks in ``<hooks dir>/connectivity.d/``;
when one fails the previous mode is put back and its hooks run again.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app

from diagnostics.host import Host
from diagnostics.settings import CONNECTIVITY_MODES
from webui import audit, db
from webui.instance import write_private

# The probe library takes the mode too; it holds the one list of them.
MODES = CONNECTIVITY_MODES
DEFAULT_MODE = "fully_connected"
LABELS = {
    "fully_connected": "Fully connected",
    "partially_disconnected": "Partially disconnected",
    "fully_disconnected": "Fully disconnected",
}
CAPABILITIES = ("cloud_transfer", "remote_management", "support_upload", "local_ui")
CAPABILITY_LABELS = {
    "cloud_transfer": "Cloud data transfer (share upload and download)",
    "remote_management": "Remote management (API tokens, metrics scraping)",
    "support_upload": "Outbound support upload",
    "local_ui": "Local web UI",
}

SETTING_KEY = "connectivity_mode"
STATE_FILE = "connectivity-mode"
LOCK_FILE = "connectivity-mode.lock"
HOOKS_SUBDIR = "connectivity.d"
# The names run-parts accepts: editor backups and package-manager leftovers never run.
HOOK_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
HOOK_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# A hook writing more than this is stopped; the page and the API show the last part.
HOOK_OUTPUT_LIMIT = 1 << 20
HOOK_OUTPUT_SHOWN = 64 * 1024


@dataclass(frozen=True)
class Allowance:
    """Whether a capability may be used in a mode; ``warn`` asks the user to confirm first."""

    allowed: bool
    reason: str
    warn: bool = False

    def __bool__(self) -> bool:
        return self.allowed


def _yes(reason: str) -> Allowance:
    return Allowance(True, reason)


def _no(reason: str) -> Allowance:
    return Allowance(False, reason)


_RESTORE = "Change the connectivity mode on the device's local web UI to use it."

POLICY: dict[str, dict[str, Allowance]] = {
    "fully_connected": {
        "cloud_transfer": _yes("The device is fully connected."),
        "remote_management": _yes("The device is fully connected."),
        "support_upload": _yes("The device is fully connected."),
        "local_ui": _yes("The local web UI always works."),
    },
    "partially_disconnected": {
        "cloud_transfer": _no("Cloud data transfer is blocked: the device is partially "
                              "disconnected. " + _RESTORE),
        "remote_management": _yes("Allowed for monitoring traffic only: the device is "
                                  "partially disconnected."),
        "support_upload": Allowance(True, "The device is partially disconnected: check the size "
                                          "of the upload before sending it.", warn=True),
        "local_ui": _yes("The local web UI always works."),
    },
    "fully_disconnected": {
        "cloud_transfer": _no("Cloud data transfer is blocked: the device is fully "
                              "disconnected. " + _RESTORE),
        "remote_management": _no("Remote management is refused: the device is fully "
                                 "disconnected, so API tokens and metrics scraping do not work. "
                                 + _RESTORE),
        "support_upload": _no("Support upload is blocked: the device is fully disconnected. "
                              "Download the support package or copy it to a USB drive."),
        "local_ui": _yes("The device is fully disconnected: the local web UI is the only way "
                         "to manage it."),
    },
}


class ModeChangeError(Exception):
    """The mode could not be changed; the message says why, ``status`` is the HTTP answer."""

    status = 503


class ModeChangeInProgress(ModeChangeError):
    """Another mode change has not finished yet."""

    status = 409


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
        changed_at = (dt.datetime.fromtimestamp(self.changed_at, dt.UTC).isoformat()
                      if self.changed_at is not None else None)
        return {"mode": self.mode, "changed_at": changed_at, "changed_by": self.changed_by}


@dataclass(frozen=True)
class HookRun:
    """One hook's run: ``status`` is the exit status, None when it timed out or did not start."""

    name: str
    mode: str
    status: int | None
    output: str
    duration: float
    timed_out: bool = False
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == 0 and not self.timed_out and self.error is None

    @property
    def outcome(self) -> str:
        """What happened, in the words shown on the page and in the audit log."""
        if self.error:
            return self.error + (" and was stopped" if self.timed_out else "")
        return f"exit status {self.status}"


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

    def to_dict(self) -> dict:
        def runs(items: list[HookRun]) -> list[dict]:
            return [{"name": r.name, "mode": r.mode, "ok": r.ok, "exit_status": r.status,
                     "timed_out": r.timed_out, "outcome": r.outcome, "output": r.output}
                    for r in items]
        failed = self.failed_hook
        return {"requested": self.requested, "previous": self.previous, "mode": self.mode,
                "failed_hook": failed.name if failed else None, "hooks": runs(self.hooks),
                "rollback_hooks": runs(self.rollback)}


def current_mode(conn: sqlite3.Connection) -> str:
    """The connectivity mode in force (``fully_connected`` until someone changes it)."""
    return state(conn).mode


def state(conn: sqlite3.Connection) -> ModeState:
    """The mode with when and by whom it was last changed."""
    row = db.get_setting(conn, SETTING_KEY)
    if row is None or row["value"] not in MODES:
        return ModeState(DEFAULT_MODE, None, None)
    return ModeState(row["value"], row["changed_at"], row["changed_by"])


def allows(capability: str, mode: str | None = None) -> Allowance:
    """May ``capability`` be used in ``mode`` (default: the mode in force)? See SPEC F5."""
    if capability not in CAPABILITIES:
        raise ValueError(f"unknown capability {capability!r}; one of {', '.join(CAPABILITIES)}")
    if mode is None:
        mode = current_mode(db.get_db())
    return POLICY[mode][capability]


def hook_files(hooks_dir: str | Path) -> list[tuple[Path, bool]]:
    """Every file in ``connectivity.d`` in name order, with whether it runs as a hook.

    A hook runs when it is an executable file named like run-parts wants (letters, digits,
    ``_`` and ``-``); anything else is listed so the page can say it was skipped.
    """
    directory = Path(hooks_dir) / HOOKS_SUBDIR
    try:
        names = sorted(os.listdir(directory))
    except (FileNotFoundError, NotADirectoryError):
        return []
    files = []
    for name in names:
        path = directory / name
        files.append((path, bool(HOOK_NAME.match(name)) and path.is_file()
                      and os.access(path, os.X_OK)))
    return files


def hooks(hooks_dir: str | Path) -> list[Path]:
    """The hooks that run, in order."""
    return [path for path, runs in hook_files(hooks_dir) if runs]


def run_hooks(hooks_dir: str | Path, mode: str, previous: str, timeout: float,
              stop_on_failure: bool = True) -> list[HookRun]:
    """Run every hook for a change from ``previous`` to ``mode``; each within ``timeout``."""
    env = {"WEBUI_CONNECTIVITY_MODE": mode, "WEBUI_PREVIOUS_MODE": previous}
    runner = Host(path_env=HOOK_PATH, env=env)
    runs = []
    for path in hooks(hooks_dir):
        result = runner.run([str(path)], timeout=timeout, limit=HOOK_OUTPUT_LIMIT)
        output = "\n".join(part.strip() for part in (result.stdout, result.stderr) if part)
        run = HookRun(path.name, mode, result.returncode, output[-HOOK_OUTPUT_SHOWN:],
                      result.duration, timed_out=result.timed_out, error=result.error)
        runs.append(run)
        if not run.ok and stop_on_failure:
            break
    return runs


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
            raise ModeChangeInProgress(
                "Another connectivity mode change is still running its hooks; "
                "try again when it has finished.") from None
        yield
    finally:
        os.close(fd)


def change_mode(conn: sqlite3.Connection, mode: str, actor: str, *, instance: str | Path,
                hooks_dir: str | Path, hook_timeout: float) -> ModeChange:
    """Switch to ``mode``: write the file, run the hooks; on a failure restore the previous mode.

    Raises ``ModeChangeInProgress`` when another change holds the lock, ``ModeChangeError`` when
    the mode file cannot be written and ``ValueError`` for a mode that does not exist. The
    stored mode changes only once every hook has succeeded.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}")
    instance = Path(instance)
    with _exclusive(instance):
        previous = current_mode(conn)
        change = ModeChange(mode, previous, previous)
        if mode == previous:
            return change
        state_file = instance / STATE_FILE
        _write_or_explain(state_file, mode)
        change.hooks = run_hooks(hooks_dir, mode, previous, hook_timeout)
        if change.failed_hook is None:
            db.put_setting(conn, SETTING_KEY, mode, actor)
            change.mode = mode
            return change
        _write_or_explain(state_file, previous)
        change.rollback = run_hooks(hooks_dir, previous, mode, hook_timeout,
                                    stop_on_failure=False)
        return change


def record(change: ModeChange) -> None:
    """Audit a mode change request, and every hook that failed during it or its rollback."""
    for run in (*change.hooks, *change.rollback):
        if not run.ok:
            audit.record("connectivity_hook", run.name, "failure",
                         {"mode": run.mode, "outcome": run.outcome,
                          "output": run.output[-2000:]})
    detail = {"previous": change.previous, "mode": change.mode,
              "hooks": [run.name for run in change.hooks]}
    if change.requested == change.previous:
        detail["note"] = "already in this mode"
    audit.record("connectivity_mode", change.requested, "success" if change.ok else "failure",
                 detail)


def change(mode: str, actor: str) -> ModeChange:
    """Change the mode with this app's instance, hooks directory and hook timeout; audited."""
    config = current_app.config
    conn = db.get_db()
    try:
        result = change_mode(conn, mode, actor, instance=config["INSTANCE"],
                             hooks_dir=config["HOOKS_DIR"], hook_timeout=config["HOOK_TIMEOUT"])
    except ModeChangeError as exc:
        outcome = "refused" if isinstance(exc, ModeChangeInProgress) else "failure"
        audit.record("connectivity_mode", mode, outcome, str(exc))
        raise
    record(result)
    return result
