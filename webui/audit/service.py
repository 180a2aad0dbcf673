"""The audit trail (SPEC F9): one helper every feature calls, and bounded retention."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from webui import db
from webui.audit import listeners
from webui.formats import iso, spreadsheet_safe

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
    listeners.notify(action, outcome)


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


# Newest first by the time recorded, then by insertion: the indexes on (at) and (actor, at) hold
# entries in this order, so a filtered page reads only its own rows and sorts none.
NEWEST_FIRST = "ORDER BY at DESC, id DESC"
# Entries read from the database at a time while an export streams.
EXPORT_CHUNK = 500


def _where(actor: str | None, action: str | None, since: float | None,
           until: float | None) -> tuple[str, list]:
    """The WHERE clause of the filters, and its arguments."""
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
    return (f"WHERE {' AND '.join(where)}" if where else ""), args


def query(conn: sqlite3.Connection, *, actor: str | None = None, action: str | None = None,
          since: float | None = None, until: float | None = None, limit: int | None = 200,
          offset: int = 0) -> tuple[int, list[sqlite3.Row]]:
    """Entries newest first matching the filters, with the total count."""
    clause, args = _where(actor, action, since, until)
    total = conn.execute(f"SELECT count(*) FROM audit {clause}", args).fetchone()[0]
    sql = f"SELECT * FROM audit {clause} {NEWEST_FIRST}"
    if limit is not None:
        sql += f" LIMIT {int(limit)} OFFSET {int(offset)}"
    return total, conn.execute(sql, args).fetchall()


def entries(conn: sqlite3.Connection, *, actor: str | None = None, action: str | None = None,
            since: float | None = None, until: float | None = None,
            up_to: int | None = None) -> Iterator[sqlite3.Row]:
    """Every entry matching the filters, newest first, read from one cursor a chunk at a time
    so memory stays flat whatever the log holds; only ids up to ``up_to`` when given."""
    clause, args = _where(actor, action, since, until)
    cursor = conn.execute(f"SELECT * FROM audit {clause} {NEWEST_FIRST}", args)
    while chunk := cursor.fetchmany(EXPORT_CHUNK):
        yield from (row for row in chunk if up_to is None or row["id"] <= up_to)


def _day(value: str | None, field: str, errors: dict) -> float | None:
    if not value:
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        errors[field] = "Use a date like 2026-01-31."
        return None
    return dt.datetime.combine(day, dt.time(), dt.datetime.now().astimezone().tzinfo).timestamp()


def filters_from(args: Mapping[str, str]) -> tuple[dict, dict]:
    """Audit filters from a query string; answers (filters, errors by field)."""
    errors: dict[str, str] = {}
    since = _day(args.get("from"), "from", errors)
    until = _day(args.get("to"), "to", errors)
    if until is not None:
        until += 86400
    filters = {"actor": (args.get("user") or "").strip()[:64] or None,
               "action": (args.get("action") or "").strip()[:64] or None,
               "since": since, "until": until}
    return filters, errors


def export(conn: sqlite3.Connection, actor: Actor, filters: dict,
           asked: dict[str, str]) -> Iterator[sqlite3.Row]:
    """Every entry matching ``filters``, read as it is sent; the export itself is noted with
    what was ``asked`` and is not part of it."""
    newest = conn.execute("SELECT max(id) FROM audit").fetchone()[0] or 0
    record(conn, actor, "audit_export", detail=asked)
    return entries(conn, **filters, up_to=newest)


FIELDS = ("at", "actor", "client_addr", "action", "target", "outcome", "detail")
# Rows of CSV text sent at a time: one write to the client per row would cost more than the row.
CSV_BATCH = 500


def csv_rows(rows: Iterable[sqlite3.Row]) -> Iterator[str]:
    """Stream entries as CSV text, header first, a batch of rows at a time; times in ISO 8601
    UTC."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(FIELDS)
    for count, row in enumerate(rows, start=1):
        writer.writerow([spreadsheet_safe(iso(row["at"]) if f == "at" else row[f]) for f in FIELDS])
        if count % CSV_BATCH == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def recent_failed_sign_ins(conn: sqlite3.Connection, hours: int = 24) -> list[sqlite3.Row]:
    return conn.execute(
        "SELECT * FROM audit WHERE action = 'sign_in' AND outcome != 'success' AND at >= ? "
        "ORDER BY id DESC LIMIT 10", (db.now() - hours * 3600,)).fetchall()
