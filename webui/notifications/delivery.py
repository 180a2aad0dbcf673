"""Deliveries: one row per alert change and channel, sent by one delivery thread per app with
retries and backoff, held back by the connectivity mode, and a digest of what was held back
once the device is fully connected again.

A delivery's payload is fixed when it is made; whether it may leave the device is decided when
it is sent, since the mode can change while it waits. States: ``pending`` (waiting for its
next attempt), ``sent``, ``failed`` (given up after the retries; ``reason`` says why) and
``suppressed`` (kept on the device by the mode, or its channel was disabled). The clock and the
wait are injected so tests drive :meth:`Deliverer.tick`.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from webui import background, db, vault
from webui.config import web_proxy
from webui.connectivity import state as connectivity
from webui.formats import iso
from webui.notifications import channels, messages, senders
from webui.notifications.channels import Channel

log = logging.getLogger(__name__)

EVENTS = ("raised", "cleared")
STATES = ("pending", "sent", "failed", "suppressed")
# Seconds before the 2nd, 3rd, 4th and 5th attempt; after the 5th failure it is given up.
BACKOFF = (30.0, 120.0, 600.0, 1800.0)
ATTEMPTS = len(BACKOFF) + 1
CHECK_EVERY = 30.0
BATCH = 50
DIGEST_LISTED = 100
# Finished deliveries kept: the newest this many, none older than this many days.
KEEP = 5000
KEEP_DAYS = 90
DISABLED = "The channel was disabled before the notification was sent."


def link(config: Mapping[str, Any], alert_id: int | None = None) -> str:
    """The device's page of an alert (or the alert list), by the device's name."""
    scheme = "https" if config.get("TLS", True) else "http"
    _host, port = config.get("BIND") or ("", 443)
    default = 443 if scheme == "https" else 80
    base = f"{scheme}://{config['DEVICE_NAME']}{'' if port == default else f':{port}'}/alerts"
    return f"{base}/{alert_id}" if alert_id is not None else base


def _insert(conn: sqlite3.Connection, channel_id: int, alert_id: int | None, event: str,
            message: dict[str, Any], now: float) -> int:
    return conn.execute(
        "INSERT INTO notification_deliveries(channel_id, alert_id, event, state, payload, "
        "created_at, next_attempt_at) VALUES (?, ?, ?, 'pending', ?, ?, ?)",
        (channel_id, alert_id, event, json.dumps(message), now, now)).lastrowid


def queue_alert(conn: sqlite3.Connection, config: Mapping[str, Any], alert: sqlite3.Row,
                event: str, now: float) -> list[int]:
    """One delivery for each enabled channel that takes the alert's severity."""
    if event not in EVENTS:
        return []
    message = messages.payload(event, config["DEVICE_NAME"], link(config, alert["id"]),
                               messages.alert_dict(alert))
    with db.transaction(conn):
        return [_insert(conn, channel.id, alert["id"], event, message, now)
                for channel in channels.listening(conn, alert["severity"])]


def queue_test(conn: sqlite3.Connection, config: Mapping[str, Any], channel: Channel,
               now: float) -> int:
    message = messages.payload("test", config["DEVICE_NAME"], link(config))
    with db.transaction(conn):
        return _insert(conn, channel.id, None, "test", message, now)


def queue_digests(conn: sqlite3.Connection, config: Mapping[str, Any], now: float) -> int:
    """For each enabled channel with alert notifications the mode held back and no digest
    listed yet, one digest of them; answers how many digests were made."""
    made = 0
    with db.transaction(conn):
        waiting = conn.execute(
            "SELECT d.channel_id FROM notification_deliveries d JOIN notification_channels c "
            "ON c.id = d.channel_id WHERE d.state = 'suppressed' AND d.digested_at IS NULL "
            "AND d.event IN ('raised', 'cleared') AND c.enabled GROUP BY d.channel_id"
        ).fetchall()
        for (channel_id,) in waiting:
            rows = conn.execute(
                "SELECT id, event, payload, reason, created_at FROM notification_deliveries "
                "WHERE channel_id = ? AND state = 'suppressed' AND digested_at IS NULL AND "
                "event IN ('raised', 'cleared') ORDER BY created_at, id", (channel_id,)).fetchall()
            listed = [{"event": row["event"], "alert": json.loads(row["payload"])["alert"],
                       "reason": row["reason"], "at": iso(row["created_at"])}
                      for row in rows[:DIGEST_LISTED]]
            message = {**messages.payload("digest", config["DEVICE_NAME"], link(config), None,
                                          listed), "suppressed_total": len(rows)}
            _insert(conn, channel_id, None, "digest", message, now)
            # The digest's own time marks what it lists, so a digest held back frees them again.
            conn.execute(f"UPDATE notification_deliveries SET digested_at = ? WHERE id IN "
                         f"({', '.join('?' * len(rows))})", (now, *(row["id"] for row in rows)))
            made += 1
    return made


def due(conn: sqlite3.Connection, now: float) -> list[sqlite3.Row]:
    return conn.execute("SELECT * FROM notification_deliveries WHERE state = 'pending' AND "
                        "next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?",
                        (now, BATCH)).fetchall()


def get(conn: sqlite3.Connection, delivery_id: int) -> sqlite3.Row | None:
    return conn.execute("SELECT * FROM notification_deliveries WHERE id = ?",
                        (delivery_id,)).fetchone()


def recent(conn: sqlite3.Connection, limit: int = 20) -> list[sqlite3.Row]:
    """The latest deliveries with their channel's name and the alert's title, newest first."""
    return conn.execute(
        "SELECT d.*, c.name AS channel_name, a.title AS alert_title "
        "FROM notification_deliveries d JOIN notification_channels c ON c.id = d.channel_id "
        "LEFT JOIN alerts a ON a.id = d.alert_id ORDER BY d.created_at DESC, d.id DESC LIMIT ?",
        (limit,)).fetchall()


def _finish(conn, row: sqlite3.Row, state: str, reason: str | None, now: float,
            attempts: int, digested: bool = False) -> None:
    with db.transaction(conn):
        conn.execute("UPDATE notification_deliveries SET state = ?, reason = ?, attempts = ?, "
                     "finished_at = ?, next_attempt_at = NULL, digested_at = ? WHERE id = ?",
                     (state, reason, attempts, now, now if digested else None, row["id"]))
        if state == "suppressed" and row["event"] == "digest":
            conn.execute("UPDATE notification_deliveries SET digested_at = NULL "
                         "WHERE channel_id = ? AND digested_at = ? AND id != ?",
                         (row["channel_id"], row["created_at"], row["id"]))


def _failed_attempt(conn, row: sqlite3.Row, reason: str, now: float) -> None:
    """Try again after the backoff, or give up: a test is tried once."""
    attempts = row["attempts"] + 1
    if row["event"] == "test" or attempts >= ATTEMPTS:
        _finish(conn, row, "failed", reason, now, attempts)
        return
    with db.transaction(conn):
        conn.execute("UPDATE notification_deliveries SET attempts = ?, reason = ?, "
                     "next_attempt_at = ? WHERE id = ?",
                     (attempts, reason, now + BACKOFF[attempts - 1], row["id"]))


def prune(conn: sqlite3.Connection, now: float) -> None:
    """Keep the record bounded; held-back deliveries wait for their digest."""
    kept = "(state != 'suppressed' OR digested_at IS NOT NULL) AND finished_at IS NOT NULL"
    with db.transaction(conn):
        conn.execute(f"DELETE FROM notification_deliveries WHERE {kept} AND finished_at < ?",
                     (now - KEEP_DAYS * 86400,))
        conn.execute(f"DELETE FROM notification_deliveries WHERE {kept} AND id NOT IN (SELECT "
                     "id FROM notification_deliveries ORDER BY id DESC LIMIT ?)", (KEEP,))


class Deliverer(background.Loop):
    """Sends the due deliveries of ``app``; :meth:`tick` is one pass over them."""

    name = "notifications"
    failure = "delivery pass failed"

    def __init__(self, app: Flask, clock: Callable[[], float] = time.time,
                 wait: Callable[[float], Any] | None = None,
                 resolver: senders.Resolver = senders.resolve,
                 local_journal: str = senders.LOCAL_JOURNAL):
        super().__init__()
        self.app, self.clock, self.resolver = app, clock, resolver
        self.local_journal = local_journal
        self.wake = threading.Event()
        self.wait = wait or self.wake.wait

    @property
    def instance(self) -> Path:
        return Path(self.app.config["INSTANCE"])

    def before_pass(self) -> None:
        self.wake.clear()  # a row added during the pass sets it again: no wait then

    def pause(self) -> None:
        self.wait(CHECK_EVERY)

    def tick(self) -> int:
        """Make the digests that are due, then attempt every delivery that is due now;
        answers how many were attempted."""
        now = self.clock()
        with self.app.app_context():
            conn = db.get_db()
            if connectivity.current_mode(conn) == "fully_connected":
                queue_digests(conn, self.app.config, now)
            rows = due(conn, now)
            for row in rows:
                self._attempt(conn, row)
            prune(conn, self.clock())
        return len(rows)

    def _attempt(self, conn: sqlite3.Connection, row: sqlite3.Row) -> None:
        try:
            channel = channels.get(conn, row["channel_id"])
        except channels.ChannelNotFound:  # removed during this pass, with its deliveries
            return
        if not channel.enabled and row["event"] != "test":
            # Nothing to list in a digest either: the admin turned the channel off.
            _finish(conn, row, "suppressed", DISABLED, self.clock(), row["attempts"], True)
            return
        mode = connectivity.current_mode(conn)
        try:
            outgoing = senders.Outgoing(json.loads(row["payload"]), row["id"], self.clock(),
                                        channel.secret(self.instance), self.local_journal)
            senders.send(channel, outgoing, mode, self.resolver, web_proxy(self.app.config))
        except senders.Suppressed as exc:
            _finish(conn, row, "suppressed", str(exc), self.clock(), row["attempts"])
        except (senders.SendFailed, vault.SecretUnreadable) as exc:
            _failed_attempt(conn, row, str(exc), self.clock())
        except Exception as exc:  # a fault of ours must not retry the same row for ever
            log.exception("notifications: delivery %s could not be sent", row["id"])
            _failed_attempt(conn, row, f"Internal error ({type(exc).__name__}); see the "
                                       "web UI log.", self.clock())
        else:
            _finish(conn, row, "sent", None, self.clock(), row["attempts"] + 1)


def deliverer(app: Flask) -> Deliverer:
    """The notification deliverer of ``app``."""
    return app.extensions["notifications"]
