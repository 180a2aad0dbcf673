"""Notification channels as administrators configure them: e-mail, webhook and syslog, each
with a minimum severity; every change audited with its secret masked.

A channel's ``settings`` are kept as JSON; its secret (the SMTP password, the webhook secret)
is sealed with :mod:`webui.vault` and never leaves this module in the clear
except to the sender that needs it.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from webui import audit, db, vault
from webui.alerts.rules import SEVERITIES, severity_rank

KINDS = ("email", "webhook", "syslog")
KIND_LABELS = {"email": "E-mail", "webhook": "Webhook", "syslog": "Syslog"}
SECURITIES = ("starttls", "tls", "none")
SECURITY_LABELS = {"starttls": "STARTTLS", "tls": "TLS (implicit)", "none": "None (plain text)"}
TRANSPORTS = ("local", "udp", "tcp")
TRANSPORT_LABELS = {"local": "Local journal (/dev/log)", "udp": "Remote host over UDP",
                    "tcp": "Remote host over TCP"}
FACILITIES = {"user": 1, "daemon": 3, "auth": 4, "syslog": 5, "local0": 16, "local1": 17,
              "local2": 18, "local3": 19, "local4": 20, "local5": 21, "local6": 22,
              "local7": 23}
# The one secret each kind may hold, by the name of its form field.
SECRET_OF = {"email": "password", "webhook": "secret"}
SEALED = "sealed_secret"
MASK = "********"
KEEP = None  # update(): keep the stored secret
FORGET = ""  # update(): remove the stored secret


class ChannelError(ValueError):
    """The channel cannot be saved as asked; the message says why."""


class ChannelNotFound(LookupError):
    pass


@dataclass(frozen=True)
class Channel:
    id: int
    name: str
    kind: str
    min_severity: str
    enabled: bool
    settings: dict[str, Any]
    created_at: float
    created_by: str
    changed_at: float | None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Channel:
        return cls(row["id"], row["name"], row["kind"], row["min_severity"],
                   bool(row["enabled"]), json.loads(row["settings"] or "{}"),
                   row["created_at"], row["created_by"], row["changed_at"])

    @property
    def has_secret(self) -> bool:
        return bool(self.settings.get(SEALED))

    @property
    def public_settings(self) -> dict[str, Any]:
        """The settings without the sealed secret: what forms, pages and the audit show."""
        return {key: value for key, value in self.settings.items() if key != SEALED}

    def secret(self, instance: Path) -> str | None:
        sealed = self.settings.get(SEALED)
        return vault.unseal(instance, sealed, "on the channel") if sealed else None

    def admits(self, severity: str) -> bool:
        """Does an alert of ``severity`` reach this channel (its minimum or worse)?"""
        return severity_rank(severity) <= severity_rank(self.min_severity)

    @property
    def is_local(self) -> bool:
        """Messages to the local journal never leave the device."""
        return self.kind == "syslog" and self.settings.get("transport") == "local"

    @property
    def destination(self) -> str:
        """Where the channel sends, in one line."""
        s = self.settings
        if self.kind == "email":
            return (f"{', '.join(s.get('recipients', []))} via {s.get('host')}:{s.get('port')} "
                    f"({SECURITY_LABELS.get(s.get('security'), s.get('security'))})")
        if self.kind == "webhook":
            return str(s.get("url"))
        if self.is_local:
            return f"local journal, facility {s.get('facility')}"
        return (f"{s.get('host')}:{s.get('port')} over {str(s.get('transport')).upper()}, "
                f"facility {s.get('facility')}")


def all_channels(conn: sqlite3.Connection) -> list[Channel]:
    return [Channel.from_row(row) for row in
            conn.execute("SELECT * FROM notification_channels ORDER BY name COLLATE NOCASE")]


def get(conn: sqlite3.Connection, channel_id: int) -> Channel:
    row = conn.execute("SELECT * FROM notification_channels WHERE id = ?",
                       (channel_id,)).fetchone()
    if row is None:
        raise ChannelNotFound(channel_id)
    return Channel.from_row(row)


def secrets(conn: sqlite3.Connection, instance: Path) -> list[str]:
    """Every channel's secret that can be read, for support packages to remove."""
    found = []
    for channel in all_channels(conn):
        try:
            found.append(channel.secret(instance))
        except vault.SecretUnreadable:
            continue
    return [secret for secret in found if secret]


def listening(conn: sqlite3.Connection, severity: str) -> list[Channel]:
    """The enabled channels that take alerts of ``severity``."""
    return [channel for channel in all_channels(conn)
            if channel.enabled and channel.admits(severity)]


def _check(kind: str, min_severity: str) -> None:
    if kind not in KINDS:
        raise ChannelError(f"kind must be one of {', '.join(KINDS)}")
    if min_severity not in SEVERITIES:
        raise ChannelError(f"minimum severity must be one of {', '.join(SEVERITIES)}")


def _audit_detail(channel: Channel, secret_change: str) -> dict[str, Any]:
    detail = {"kind": channel.kind, "min_severity": channel.min_severity,
              "enabled": channel.enabled, "settings": channel.public_settings}
    if channel.kind in SECRET_OF:
        detail[SECRET_OF[channel.kind]] = MASK if channel.has_secret else None
        detail[f"{SECRET_OF[channel.kind]}_change"] = secret_change
    return detail


def _stored(instance: Path, kind: str, settings: dict[str, Any], old: dict[str, Any],
            secret: str | None) -> tuple[dict[str, Any], str]:
    """The settings to store with the secret sealed, and what happened to the secret."""
    stored = {key: value for key, value in settings.items() if key != SEALED}
    if kind not in SECRET_OF:
        return stored, "none"
    if secret is KEEP:
        if old.get(SEALED):
            stored[SEALED] = old[SEALED]
        return stored, "unchanged"
    if secret == FORGET:
        return stored, "removed" if old.get(SEALED) else "unchanged"
    stored[SEALED] = vault.seal(instance, secret)
    return stored, "set"


def _name_taken(name: str) -> ChannelError:
    return ChannelError(f"a channel named {name} already exists")


def add(conn: sqlite3.Connection, instance: Path, actor: audit.Actor, *, name: str, kind: str,
        min_severity: str, enabled: bool, settings: dict[str, Any],
        secret: str | None = KEEP) -> Channel:
    _check(kind, min_severity)
    stored, change = _stored(instance, kind, settings, {}, secret)
    try:
        with db.transaction(conn):
            cur = conn.execute(
                "INSERT INTO notification_channels(name, kind, min_severity, enabled, settings, "
                "created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (name, kind, min_severity, int(enabled), json.dumps(stored), db.now(),
                 actor.name))
            channel = get(conn, cur.lastrowid)
            audit.record(conn, actor, "notification_channel_add", name,
                         detail=_audit_detail(channel, change))
    except sqlite3.IntegrityError:
        raise _name_taken(name) from None
    return channel


def update(conn: sqlite3.Connection, instance: Path, actor: audit.Actor, channel: Channel, *,
           name: str, min_severity: str, enabled: bool, settings: dict[str, Any],
           secret: str | None = KEEP) -> Channel:
    """Change a channel (its kind stays); ``secret`` KEEP keeps, FORGET removes, text sets."""
    _check(channel.kind, min_severity)
    stored, change = _stored(instance, channel.kind, settings, channel.settings, secret)
    try:
        with db.transaction(conn):
            conn.execute(
                "UPDATE notification_channels SET name = ?, min_severity = ?, enabled = ?, "
                "settings = ?, changed_at = ? WHERE id = ?",
                (name, min_severity, int(enabled), json.dumps(stored), db.now(), channel.id))
            changed = get(conn, channel.id)
            audit.record(conn, actor, "notification_channel_change", name,
                         detail={**_audit_detail(changed, change), "was": channel.name})
    except sqlite3.IntegrityError:
        raise _name_taken(name) from None
    return changed


def set_enabled(conn: sqlite3.Connection, actor: audit.Actor, channel: Channel,
                enabled: bool) -> None:
    with db.transaction(conn):
        conn.execute("UPDATE notification_channels SET enabled = ?, changed_at = ? WHERE id = ?",
                     (int(enabled), db.now(), channel.id))
        audit.record(conn, actor, "notification_channel_" + ("enable" if enabled else "disable"),
                     channel.name)


def delete(conn: sqlite3.Connection, actor: audit.Actor, channel: Channel) -> None:
    """Remove a channel with its deliveries."""
    with db.transaction(conn):
        conn.execute("DELETE FROM notification_channels WHERE id = ?", (channel.id,))
        audit.record(conn, actor, "notification_channel_delete", channel.name,
                     detail={"kind": channel.kind})
