"""When sessions and tokens were last used: kept in memory, written in batches.

A request that only reads must not write: a page view or a scrape notes its session's or
token's use here, and a background flush writes what changed every few seconds. A flush that
finds the database locked or the disk full keeps the times for the next one; nothing waits.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

from flask import Flask, current_app

from webui import db

log = logging.getLogger(__name__)

FLUSH_SECONDS = 5.0
# A flush never waits long for a lock another program holds.
FLUSH_BUSY_TIMEOUT = 0.5


class LastSeen:
    def __init__(self, db_path: Path, session_idle: float, session_max: float,
                 flush_seconds: float = FLUSH_SECONDS):
        self.db_path = db_path
        self.session_idle, self.session_max = session_idle, session_max
        self.flush_seconds = flush_seconds
        self._lock = threading.Lock()
        self._sessions: dict[str, float] = {}
        self._tokens: dict[int, tuple[float, str | None]] = {}
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def session_used(self, session_id: str, at: float) -> None:
        with self._lock:
            self._sessions[session_id] = at
        self._start()

    def token_used(self, token_id: int, at: float, client_addr: str | None) -> None:
        with self._lock:
            self._tokens[token_id] = (at, client_addr)
        self._start()

    def session(self, session_id: str) -> float | None:
        """The session's use not yet written, if any."""
        with self._lock:
            return self._sessions.get(session_id)

    def token(self, token_id: int) -> tuple[float, str | None] | None:
        with self._lock:
            return self._tokens.get(token_id)

    def forget_session(self, session_id: str) -> None:
        with self._lock:
            self._sessions.pop(session_id, None)

    def flush(self) -> bool:
        """Write the noted uses; answers whether they were written (else they are kept)."""
        with self._lock:
            sessions, self._sessions = self._sessions, {}
            tokens, self._tokens = self._tokens, {}
        if not sessions and not tokens:
            return True
        try:
            conn = db.connect(self.db_path, timeout=FLUSH_BUSY_TIMEOUT)
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany(
                    "UPDATE sessions SET last_seen_at = max(last_seen_at, ?) WHERE id = ?",
                    [(at, sid) for sid, at in sessions.items()])
                conn.executemany(
                    "UPDATE api_tokens SET last_used_at = ?, last_used_addr = ? WHERE id = ?",
                    [(at, addr, tid) for tid, (at, addr) in tokens.items()])
                now = db.now()
                conn.execute("DELETE FROM sessions WHERE last_seen_at < ? OR created_at < ?",
                             (now - self.session_idle, now - self.session_max))
                conn.execute("COMMIT")
            finally:
                conn.close()
        except sqlite3.Error as exc:
            log.info("last use of sessions and tokens kept for later: %s", exc)
            with self._lock:
                for sid, at in sessions.items():
                    self._sessions[sid] = max(at, self._sessions.get(sid, 0.0))
                for tid, use in tokens.items():
                    self._tokens.setdefault(tid, use)
            return False
        return True

    def _start(self) -> None:
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="last-seen",
                                                daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.flush_seconds):
            self.flush()

    def close(self) -> None:
        """Stop the flusher and write what is left."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.flush()


def current() -> LastSeen:
    return current_app.extensions["last_seen"]


def init_app(app: Flask) -> None:
    app.extensions["last_seen"] = LastSeen(db.path_for(app),
                                           app.config["SESSION_IDLE_MINUTES"] * 60,
                                           app.config["SESSION_MAX_HOURS"] * 3600)
