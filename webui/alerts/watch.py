"""The alert watcher: one thread per serving app evaluates the alert rules every
``WEBUI_ALERTS_CHECK_SECONDS``, and within seconds of something that matters.

What matters reaches it two ways: the audit entries of actions the rules look at (a sign-in
failing, a lockout, a mode change, a power request, support work) wake it at once, and a cheap
look at the jobs table every few seconds notices a job that finished (a diagnostic run's end is
not audited). Alert entries never wake it: evaluating writes them. The clock and the wait are
injected so tests drive :meth:`Watcher.tick`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from flask import Flask

from webui import background, db
from webui.alerts import service
from webui.audit import on_record
from webui.support.packages import KIND as PACKAGES
from webui.support.tickets import UPLOAD_KIND
from webui.troubleshooting.service import KIND as DIAGNOSTICS

EXTENSION = "alert_watcher"
# How often the thread looks for a finished job between evaluations.
POLL_SECONDS = 2.0
WAKE_SETTLE_SECONDS = 1.0
# Audit actions after which the rules may find something else (prefixes end with "_").
WAKING_ACTIONS = ("diagnostics_run", "sign_in", "lockout", "connectivity_mode", "power_request",
                  "power_cancel", "support_")


def wakes(action: str) -> bool:
    """Whether an audit entry of ``action`` calls for an evaluation soon."""
    if action.startswith("alert_"):
        return False
    return any(action.startswith(waking) if waking.endswith("_") else action == waking
               for waking in WAKING_ACTIONS)


def last_finished_job(conn) -> tuple[float, int]:
    """When the newest diagnostic run, support package or ticket upload finished, and how many
    have: a change means one ended since the last look."""
    row = conn.execute("SELECT max(finished_at), count(finished_at) FROM jobs "
                       "WHERE kind IN (?, ?, ?)", (DIAGNOSTICS, PACKAGES, UPLOAD_KIND)).fetchone()
    return row[0] or 0.0, row[1]


def wait_or_wake(woken: threading.Event, seconds: float) -> None:
    """Wait ``seconds`` unless woken; once woken, a moment more so that a burst of entries (a
    storm of failed sign-ins) makes one evaluation, not one each."""
    if woken.wait(seconds):
        time.sleep(WAKE_SETTLE_SECONDS)


class Watcher(background.Loop):
    """Evaluates the alert rules of ``app``; :meth:`tick` is one look."""

    name = "alert rules"
    failure = "evaluation failed"

    def __init__(self, app: Flask, clock: Callable[[], float] = time.time,
                 wait: Callable[[threading.Event, float], Any] = wait_or_wake):
        super().__init__()
        self.app, self.clock = app, clock
        self.wait = wait
        self.interval = float(app.config["ALERTS_CHECK_SECONDS"])
        self.woken = threading.Event()
        self.evaluated_at: float | None = None
        self._jobs_seen: tuple[float, int] | None = None

    def heard(self, action: str, _outcome: str) -> None:
        """The app's audit listener: wake the thread for actions that matter."""
        if wakes(action):
            self.woken.set()

    def pause(self) -> None:
        self.wait(self.woken, POLL_SECONDS)

    def tick(self) -> list[service.Change] | None:
        """Evaluate the rules when they are due, were woken for, or a job has finished since
        the last look; answers the changes, or None when nothing was evaluated."""
        now = self.clock()
        woken = self.woken.is_set()
        self.woken.clear()
        with self.app.app_context():
            conn = db.get_db()
            jobs_now = last_finished_job(conn)
            due = self.evaluated_at is None or now - self.evaluated_at >= self.interval
            if not (due or woken or jobs_now != self._jobs_seen):
                return None
            # Noted first: a job finishing during the evaluation is looked at next time.
            self._jobs_seen = jobs_now
            self.evaluated_at = now
            return service.evaluate(conn, self.app, now)


def watcher(app: Flask) -> Watcher:
    """The alert watcher of ``app``."""
    return app.extensions[EXTENSION]


def init_app(app: Flask) -> None:
    """Give the app its watcher, woken by its audit entries; a serving app starts it with its
    first request (``edge-webui serve`` at boot), never in tests or console commands."""
    app.extensions[EXTENSION] = found = Watcher(app)
    on_record(app, found.heard)
    if not app.testing:
        app.before_request(found.ensure_running)
