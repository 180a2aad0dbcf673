"""The device's alert list (SPEC F11): raised once, updated while active, cleared when the
cause goes away, acknowledged by an admin with a note; every change audited.

States: ``active`` (raised, not acknowledged), ``acknowledged`` (an admin has seen it: still
shown, not notified again until it clears and returns) and ``cleared`` (history, bounded).
Whoever must hear of a change (notifications) registers with :func:`on_change`.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flask import Flask

from webui import audit, db
from webui.alerts.rules import SEVERITIES, Facts, Finding, Rule, catalogue, severity_rank

log = logging.getLogger(__name__)

STATES = ("active", "acknowledged", "cleared")
OPEN_STATES = ("active", "acknowledged")
EVENTS = ("raised", "cleared")
# Cleared alerts kept: the newest this many, none older than this many days.
HISTORY_KEEP = 1000
HISTORY_DAYS = 90
NOTE_MAX = 500
LISTENERS = "alert_listeners"

Listener = Callable[[sqlite3.Connection, sqlite3.Row, str], None]


class AlertNotFound(LookupError):
    pass


class AlertCleared(Exception):
    """A cleared alert cannot be acknowledged: its cause has gone."""


@dataclass(frozen=True)
class Change:
    """What an evaluation did to one alert: ``event`` is ``raised`` or ``cleared``."""

    alert_id: int
    event: str


def on_change(app: Flask, listener: Listener) -> None:
    """Call ``listener(conn, alert_row, event)`` after each alert raised or cleared in ``app``
    (``raised`` also when an acknowledged alert gets worse)."""
    app.extensions.setdefault(LISTENERS, []).append(listener)


def listeners(app: Flask) -> Sequence[Listener]:
    """Who hears of the alert changes of ``app``."""
    return app.extensions.get(LISTENERS, ())


def _tell(conn: sqlite3.Connection, alert_id: int, event: str,
          listening: Sequence[Listener]) -> None:
    if not listening:
        return
    row = get(conn, alert_id)
    for listener in listening:
        try:
            listener(conn, row, event)
        except Exception:  # a listener's fault must not undo or stop the alert list
            log.exception("alert listener failed for alert %s", alert_id)


def open_alert(conn: sqlite3.Connection, rule_id: str, subject: str) -> sqlite3.Row | None:
    return conn.execute("SELECT * FROM alerts WHERE rule = ? AND subject = ? AND state != "
                        "'cleared'", (rule_id, subject)).fetchone()


def get(conn: sqlite3.Connection, alert_id: int) -> sqlite3.Row:
    row = conn.execute("SELECT * FROM alerts WHERE id = ?", (alert_id,)).fetchone()
    if row is None:
        raise AlertNotFound(alert_id)
    return row


def _target(rule_id: str, subject: str) -> str:
    return f"{rule_id}:{subject}" if subject else rule_id


def _raise(conn, rule: Rule, finding: Finding, now: float) -> Change:
    severity = finding.severity or rule.severity
    title, message, action = rule.words(finding)
    details = json.dumps(dict(finding.values), sort_keys=True, default=str)
    row = open_alert(conn, rule.id, finding.subject)
    if row is None:
        cur = conn.execute(
            "INSERT INTO alerts(rule, subject, severity, state, title, message, action, details, "
            "raised_at, last_seen_at) VALUES (?, ?, ?, 'active', ?, ?, ?, ?, ?, ?)",
            (rule.id, finding.subject, severity, title, message, action, details, now, now))
        audit.record(conn, audit.SYSTEM, "alert_raise", _target(rule.id, finding.subject),
                     detail={"id": cur.lastrowid, "severity": severity, "message": message})
        return Change(cur.lastrowid, "raised")
    worse = severity_rank(severity) < severity_rank(row["severity"])
    # Worse than when it was acknowledged: the admin hears of it again.
    state = "active" if worse else row["state"]
    conn.execute(
        "UPDATE alerts SET severity = ?, state = ?, title = ?, message = ?, action = ?, "
        "details = ?, last_seen_at = ?, count = count + 1 WHERE id = ?",
        (severity, state, title, message, action, details, now, row["id"]))
    if worse:
        audit.record(conn, audit.SYSTEM, "alert_raise", _target(rule.id, finding.subject),
                     detail={"id": row["id"], "severity": severity, "message": message,
                             "was": row["severity"]})
        return Change(row["id"], "raised")
    return Change(row["id"], "updated")


def _clear(conn, row: sqlite3.Row, now: float) -> Change:
    conn.execute("UPDATE alerts SET state = 'cleared', cleared_at = ? WHERE id = ?",
                 (now, row["id"]))
    audit.record(conn, audit.SYSTEM, "alert_clear", _target(row["rule"], row["subject"]),
                 detail={"id": row["id"], "severity": row["severity"]})
    return Change(row["id"], "cleared")


def apply(conn: sqlite3.Connection, found: Mapping[Rule, Iterable[Finding]], now: float,
          listening: Sequence[Listener] = ()) -> list[Change]:
    """Bring the alert list in line with what the rules in ``found`` found now: raise or
    update each finding's alert, clear those rules' open alerts whose subject was not found,
    then tell ``listening`` what was raised or cleared. Alerts of rules not in ``found`` are
    left alone."""
    changes: list[Change] = []
    for rule, findings in found.items():
        with db.transaction(conn):
            seen = set()
            for finding in findings:
                if finding.subject in seen:
                    continue
                seen.add(finding.subject)
                changes.append(_raise(conn, rule, finding, now))
            for row in conn.execute("SELECT * FROM alerts WHERE rule = ? AND state != 'cleared'",
                                    (rule.id,)).fetchall():
                if row["subject"] not in seen:
                    changes.append(_clear(conn, row, now))
    for change in changes:
        if change.event in EVENTS:
            _tell(conn, change.alert_id, change.event, listening)
    return changes


def evaluate(conn: sqlite3.Connection, app: Flask, now: float,
             rules: Iterable[Rule] | None = None) -> list[Change]:
    """Run every rule's check (or those of ``rules``) against the device now, apply what they
    found, and tell the app's listeners."""
    facts = Facts(conn, app.config, now, app.extensions)
    found: dict[Rule, list[Finding]] = {}
    for rule in catalogue() if rules is None else rules:
        try:
            found[rule] = list(rule.check(facts))
        except Exception:  # one rule's bad moment must not stop or clear the others
            log.exception("alert rule %s could not be checked", rule.id)
    changes = apply(conn, found, now, listeners(app))
    prune(conn, now)
    return changes


def acknowledge(conn: sqlite3.Connection, alert_id: int, actor: audit.Actor,
                note: str = "") -> sqlite3.Row:
    """Mark an open alert as seen by ``actor`` with ``note``; answers the alert as it is now.
    Acknowledging an acknowledged alert replaces the note."""
    note = note.strip()[:NOTE_MAX]
    with db.transaction(conn):
        row = get(conn, alert_id)
        if row["state"] == "cleared":
            raise AlertCleared(alert_id)
        conn.execute("UPDATE alerts SET state = 'acknowledged', acknowledged_at = ?, "
                     "acknowledged_by = ?, note = ? WHERE id = ?",
                     (db.now(), actor.name, note or None, alert_id))
        audit.record(conn, actor, "alert_acknowledge", _target(row["rule"], row["subject"]),
                     detail={"id": alert_id, "note": note})
    return get(conn, alert_id)


def query(conn: sqlite3.Connection, *, severity: str | None = None, state: str | None = None,
          rule: str | None = None, limit: int | None = 50,
          offset: int = 0) -> tuple[int, list[sqlite3.Row]]:
    """Alerts matching the filters, open ones first, then worst first, newest first; with the
    total. ``state`` may also be ``open`` (active or acknowledged)."""
    where, args = [], []
    if severity:
        where.append("severity = ?")
        args.append(severity)
    if state == "open":
        where.append("state != 'cleared'")
    elif state:
        where.append("state = ?")
        args.append(state)
    if rule:
        where.append("rule = ?")
        args.append(rule)
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    total = conn.execute(f"SELECT count(*) FROM alerts {clause}", args).fetchone()[0]
    order = ("CASE state WHEN 'active' THEN 0 WHEN 'acknowledged' THEN 1 ELSE 2 END, "
             "CASE severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, "
             "coalesce(cleared_at, last_seen_at) DESC, id DESC")
    rows = conn.execute(f"SELECT * FROM alerts {clause} ORDER BY {order} LIMIT ? OFFSET ?",
                        (*args, -1 if limit is None else limit, offset)).fetchall()
    return total, rows


def counts(conn: sqlite3.Connection, state: str = "active") -> dict[str, int]:
    """How many alerts are in ``state`` (or ``open``), by severity; every severity present."""
    states = OPEN_STATES if state == "open" else (state,)
    marks = ", ".join("?" * len(states))
    found = dict(conn.execute(f"SELECT severity, count(*) FROM alerts WHERE state IN ({marks}) "
                              "GROUP BY severity", states).fetchall())
    return {severity: found.get(severity, 0) for severity in SEVERITIES}


def prune(conn: sqlite3.Connection, now: float) -> None:
    """Keep the history bounded: cleared alerts beyond the newest ``HISTORY_KEEP`` or older
    than ``HISTORY_DAYS`` go."""
    with db.transaction(conn):
        conn.execute("DELETE FROM alerts WHERE state = 'cleared' AND cleared_at < ?",
                     (now - HISTORY_DAYS * 86400,))
        conn.execute("DELETE FROM alerts WHERE state = 'cleared' AND id NOT IN (SELECT id FROM "
                     "alerts WHERE state = 'cleared' ORDER BY cleared_at DESC, id DESC LIMIT ?)",
                     (HISTORY_KEEP,))


def to_dict(row: sqlite3.Row) -> dict[str, Any]:
    """An alert as the API and notifications describe it (times as Unix seconds)."""
    return {"id": row["id"], "rule": row["rule"], "subject": row["subject"] or None,
            "severity": row["severity"], "state": row["state"], "title": row["title"],
            "message": row["message"], "recommended_action": row["action"],
            "values": json.loads(row["details"] or "{}"), "count": row["count"],
            "raised_at": row["raised_at"], "last_seen_at": row["last_seen_at"],
            "acknowledged_at": row["acknowledged_at"], "acknowledged_by": row["acknowledged_by"],
            "note": row["note"], "cleared_at": row["cleared_at"]}
