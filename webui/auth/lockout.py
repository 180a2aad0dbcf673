"""Failed sign-ins: after a threshold per account or client address, a growing delay.

Kept in SQLite so a restart does not reset an attacker's count.
"""

from __future__ import annotations

import sqlite3

from flask import current_app

from webui import db

BASE_DELAY = 30
MAX_DELAY = 15 * 60


def _keys(username: str, client_addr: str | None) -> list[str]:
    return [f"user:{username.lower()}", f"addr:{client_addr or 'unknown'}"]


def locked_until(conn: sqlite3.Connection, username: str, client_addr: str | None) -> float:
    """The time before which sign-in is refused (0 when it is allowed now)."""
    keys = _keys(username, client_addr)
    marks = ",".join("?" * len(keys))
    row = conn.execute(
        f"SELECT max(locked_until) FROM sign_in_failures WHERE key IN ({marks})", keys).fetchone()
    until = row[0] or 0
    return until if until > db.now() else 0


def record_failure(conn: sqlite3.Connection, username: str, client_addr: str | None) -> float:
    """Count a failure; answers the new lock time (0 when still under the threshold)."""
    threshold = current_app.config["LOCKOUT_THRESHOLD"]
    now = db.now()
    longest = 0.0
    for key in _keys(username, client_addr):
        row = conn.execute("SELECT failures FROM sign_in_failures WHERE key = ?", (key,)).fetchone()
        failures = (row["failures"] if row else 0) + 1
        until = 0.0
        if failures >= threshold:
            until = now + min(MAX_DELAY, BASE_DELAY * 2 ** (failures - threshold))
        conn.execute(
            "INSERT INTO sign_in_failures(key, failures, last_failure_at, locked_until) "
            "VALUES (?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET failures = excluded.failures, "
            "last_failure_at = excluded.last_failure_at, locked_until = excluded.locked_until",
            (key, failures, now, until))
        longest = max(longest, until)
    return longest


def clear(conn: sqlite3.Connection, username: str, client_addr: str | None) -> None:
    keys = _keys(username, client_addr)
    conn.execute(f"DELETE FROM sign_in_failures WHERE key IN ({','.join('?' * len(keys))})", keys)
