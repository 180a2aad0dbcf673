"""The audit trail (SPEC F9): one helper every feature calls, and bounded retention."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from webui import db

PRUNE_EVERY = 200
RETENTION_SETTING = "audit_retention"


@dataclass(frozen=True)
class Actor:
    """Who did something, and from where: a user, a token, or the device itself."""

    name: str
    client_addr: str | None = None


SYSTEM = Actor("system")
CONSOLE = Actor("console")


def record(conn: sqlite3.Connection, actor: Actor, action: str, target: str | None = None,
           outcome: str = "success", detail: Any = None) -> None:
    """Append one audit entry; now and then trim the log to its retention."""
    if detail is not None and not isinstance(detail, str):
        detail = json.dumps(detail, sort_keys=True)
    cur = conn.execute(
        "INSERT INTO audit(at, actor, client_addr, action, target, outcome, detail) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)", (db.now(), actor.name, actor.client_addr, action, target,
                                         outcome, detail))
    if cur.lastrowid % PRUNE_EVERY == 0:
        prune(conn)


def keep_retention(conn: sqlite3.Connection, days: int, max_entries: int) -> None:
    """Store how long entries are kept, so every writer of the log trims it the same way."""
    value = f"{days},{max_entries}"
    stored = db.get_setting(conn, RETENTION_SETTING)
    if stored is None or stored["value"] != value:
        db.put_setting(conn, RETENTION_SETTING, value, "settings")


def prune(conn: sqlite3.Connection) -> None:
    stored = db.get_setting(conn, RETENTION_SETTING)
    if stored is None:
        return
    days, keep = (int(part) for part in stored["value"].split(","))
    conn.execute("DELETE FROM audit WHERE at < ?", (db.now() - days * 86400,))
    conn.execute("DELETE FROM audit WHERE id <= (SELECT max(id) FROM audit) - ?", (keep,))


def query(conn: sqlite3.Connection, *, actor: str | None = None, action: str | None = None,
          since: float | None = None, until: float | None = None, limit: int | None = 200,
          offset: int = 0) -> tuple[int, list[sqlite3.Row]]:
    """Entries newest first matching the filters, with the total count."""
    where, args = [], []
    if actor:
        where.append("actor = ?")
        args.append(actor)
    if action:
        where.append("action LIKE ? ESCAPE '\\'")
        args.append(action.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")
    if since is not None:
        where.append("at >= ?")
        args.append(since)
    if until is not None:
        where.append("at < ?")
        args.append(until)
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    total = conn.execute(f"SELECT count(*) FROM audit {clause}", args).fetchone()[0]
    sql = f"SELECT * FROM audit {clause} ORDER BY id DESC"
    if limit is not None:
        sql += f" LIMIT {int(limit)} OFFSET {int(offset)}"
    return total, conn.execute(sql, args).fetchall()


FIELDS = ("at", "actor", "client_addr", "action", "target", "outcome", "detail")


def csv_rows(rows: list[sqlite3.Row] | Iterator[sqlite3.Row]) -> Iterator[str]:
    """Stream entries as CSV text, header first; times in ISO 8601 UTC."""
    from datetime import UTC, datetime

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(FIELDS)
    for row in rows:
        values = dict(row)
        values["at"] = datetime.fromtimestamp(values["at"], UTC).isoformat(timespec="seconds")
        # A leading = + - @ would run as a formula in a spreadsheet.
        writer.writerow([_cell(values[f]) for f in FIELDS])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def recent_failed_sign_ins(conn: sqlite3.Connection, hours: int = 24) -> list[sqlite3.Row]:
    return conn.execute(
        "SELECT * FROM audit WHERE action = 'sign_in' AND outcome != 'success' AND at >= ? "
        "ORDER BY id DESC LIMIT 10", (db.now() - hours * 3600,)).fetchall()
