"""Failed sign-ins: after a threshold, a growing delay.

A browser with a valid device cookie is counted on its own (its nonce); every other client is
counted per account and per client address. Kept in SQLite so a restart does not reset an
attacker's count.
"""

from __future__ import annotations

import math
import sqlite3

from webui import db

BASE_DELAY = 30
MAX_DELAY = 15 * 60


def keys(username: str, client_addr: str | None, device_nonce: str | None = None) -> list[str]:
    """The counters a sign-in attempt is throttled by."""
    if device_nonce:
        return [f"device:{device_nonce}"]
    return [f"user:{username.lower()}", f"addr:{client_addr or 'unknown'}"]


def locked_until(conn: sqlite3.Connection, counters: list[str]) -> float:
    """The time before which sign-in is refused (0 when it is allowed now)."""
    marks = ",".join("?" * len(counters))
    row = conn.execute(
        f"SELECT max(locked_until) FROM sign_in_failures WHERE key IN ({marks})",
        counters).fetchone()
    until = row[0] or 0
    return until if until > db.now() else 0


def record_failure(conn: sqlite3.Connection, counters: list[str], threshold: int) -> float:
    """Count a failure; answers the new lock time (0 while under ``threshold`` failures)."""
    now = db.now()
    longest = 0.0
    for key in counters:
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


def clear(conn: sqlite3.Connection, counters: list[str]) -> None:
    marks = ",".join("?" * len(counters))
    conn.execute(f"DELETE FROM sign_in_failures WHERE key IN ({marks})", counters)


def lift_for_console(conn: sqlite3.Connection, username: str) -> None:
    """Recovery at the device's console: the account and every address and browser may try
    again (whoever stands at the console is the admin)."""
    conn.execute("DELETE FROM sign_in_failures WHERE key = ? OR key LIKE 'addr:%' "
                 "OR key LIKE 'device:%'", (f"user:{username.lower()}",))


def retry_after(until: float) -> int:
    """Whole seconds until ``until``, for a ``Retry-After`` header (at least 1)."""
    return max(1, math.ceil(until - db.now()))
