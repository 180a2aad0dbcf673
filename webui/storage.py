"""The storage holding the instance: free space, read-only state, the space reserve, the banner.

A full or read-only instance file system must never cost the admin the UI: reads go on, writes
answer 503/507 with the reason (``webui.errors``), and every page says what is wrong.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, current_app, url_for
from flask_login import current_user

from webui import db, shell

# Statistics are cheap but asked for on every page: look again after this many seconds.
CHECK_SECONDS = 5.0
# A fault seen by a write keeps its banner up this long even if statvfs disagrees.
FAULT_SECONDS = 60.0


@dataclass(frozen=True)
class StorageState:
    free: int
    total: int
    read_only: bool
    full: bool


class StorageMonitor:
    """Free space and read-only state of the instance file system, looked at now and then."""

    def __init__(self, instance: Path):
        self.instance = instance
        self._lock = threading.Lock()
        self._state: StorageState | None = None
        self._checked_at = 0.0
        self._faults: dict[type, float] = {}

    def noticed(self, problem: Exception) -> None:
        """A write failed on the storage: show it at once."""
        with self._lock:
            self._faults[type(problem)] = time.monotonic()
            self._checked_at = 0.0

    def _recent(self, kind: type, now: float) -> bool:
        return now - self._faults.get(kind, -FAULT_SECONDS) < FAULT_SECONDS

    def state(self) -> StorageState:
        now = time.monotonic()
        with self._lock:
            if self._state is not None and now - self._checked_at < CHECK_SECONDS:
                return self._state
            self._state = self._look(now)
            self._checked_at = now
            return self._state

    def _look(self, now: float) -> StorageState:
        try:
            stats = os.statvfs(self.instance)
        except OSError:
            return StorageState(0, 0, read_only=True, full=False)
        free, total = stats.f_bavail * stats.f_frsize, stats.f_blocks * stats.f_frsize
        if stats.f_flag & os.ST_RDONLY or self._recent(db.StorageReadOnly, now):
            return StorageState(free, total, read_only=True, full=False)
        held = (self.instance / db.RESERVE_NAME).exists() or (
            free >= 3 * db.RESERVE_BYTES and db.keep_reserve(self.instance))
        full = not held or free < db.RESERVE_BYTES
        return StorageState(free, total, read_only=False, full=full)


def monitor() -> StorageMonitor:
    return current_app.extensions["storage"]


def _mebibytes(size: int) -> str:
    return f"{size / (1 << 20):.1f} MiB"


def banner() -> dict | None:
    state = monitor().state()
    if state.read_only:
        return {"level": "danger", "title": "Device storage is read-only.",
                "text": "The storage that holds the web UI's data cannot be written: pages show "
                        "what is stored, but no change can be saved until it is writable again."}
    if not state.full:
        return None
    shown = {"level": "danger", "title": "Device storage is full.",
             "text": f"{_mebibytes(state.free)} free of {_mebibytes(state.total)} on the storage "
                     "that holds the web UI's data. Delete support packages to free space."}
    if current_user.is_authenticated and current_user.is_admin:
        shown["link"] = {"url": url_for("support.page"), "label": "Support packages"}
    return shown


def init_app(app: Flask) -> None:
    app.extensions["storage"] = StorageMonitor(Path(app.config["INSTANCE"]))
    shell.add_banner(app, banner)
