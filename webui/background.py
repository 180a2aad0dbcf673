"""The device's own background work: one daemon thread per app and kind of work that looks
again and again (the diagnostics schedule, the alert watcher, notification deliveries)."""

from __future__ import annotations

import logging
import threading

from webui import db

log = logging.getLogger(__name__)


class Loop:
    """Calls :meth:`tick` in a thread of its own, :meth:`pause` between passes. A pass that
    fails is logged and the next one comes (a busy database or a full disk is a bad moment,
    not the end); the connections a pass opened are closed after it."""

    name = "background work"
    failure = "pass failed"

    def __init__(self):
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def ensure_running(self) -> None:
        # Called before every request by servers that do not start it at boot: once it runs,
        # that costs no lock.
        thread = self._thread
        if thread is not None and thread.is_alive():
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
                self._thread.start()

    def _loop(self) -> None:
        while True:
            self.before_pass()
            try:
                self.tick()
            except Exception:
                log.exception("%s: %s", self.name, self.failure)
            finally:
                db.close_thread_connections()
            self.pause()

    def before_pass(self) -> None:
        """Called before each pass (e.g. to forget a wake-up the pass will serve)."""

    def tick(self) -> object:
        raise NotImplementedError

    def pause(self) -> None:
        raise NotImplementedError
