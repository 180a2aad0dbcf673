"""Power (SPEC F4): restart and shut down now or later, one action at a time, and why a restart
is due.

The latest request lives in the ``settings`` table as JSON; it is "scheduled" until its time has
come or it is cancelled, after which it shows as carried out (or simulated) or cancelled.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
import unicodedata
from dataclasses import asdict, dataclass, replace

from diagnostics.host import Host
from diagnostics.readers.restart import restart_reasons
from webui import audit, db
from webui.formats import iso
from webui.power.backends import DryRunBackend, PowerError, SystemdBackend

ACTIONS = ("restart", "shutdown")
ACTION_LABELS = {"restart": "Restart", "shutdown": "Shut down"}
DELAYS = (0, 1, 5, 15, 30, 60)
MESSAGE_MAX = 200
# What a request shows as: still to happen, cancelled, or carried out (simulated on dry-run).
STATES = ("scheduled", "cancelled", "simulated", "issued")
SETTING_KEY = "power_action"

# One worker process serves the UI (SPEC §1.5): a thread lock keeps check-and-schedule whole.
_lock = threading.Lock()


class PowerConflict(Exception):
    """An action is already scheduled; the message says which and when."""


class NothingScheduled(Exception):
    """Cancel was asked for but no action is scheduled."""


@dataclass(frozen=True)
class PowerAction:
    """A restart or shut down request, as recorded."""

    action: str
    at: float
    message: str
    requested_by: str
    requested_at: float
    backend: str
    cancelled_at: float | None = None
    cancelled_by: str | None = None

    @property
    def label(self) -> str:
        return ACTION_LABELS[self.action]

    @property
    def immediate(self) -> bool:
        return self.at <= self.requested_at

    def pending(self, now: float | None = None) -> bool:
        """Still to happen: not cancelled and its time has not come."""
        return self.cancelled_at is None and self.at > (db.now() if now is None else now)

    def state(self, now: float | None = None) -> str:
        """``scheduled``, ``cancelled``, ``simulated`` (dry-run, time passed) or ``issued``."""
        if self.cancelled_at is not None:
            return "cancelled"
        if self.pending(now):
            return "scheduled"
        return "simulated" if self.backend == DryRunBackend.name else "issued"

    def to_dict(self) -> dict:
        """The API shape: times in ISO 8601 UTC."""
        return {"action": self.action, "at": iso(self.at), "message": self.message,
                "requested_by": self.requested_by, "requested_at": iso(self.requested_at),
                "backend": self.backend, "state": self.state(),
                "cancelled_at": iso(self.cancelled_at), "cancelled_by": self.cancelled_by}


def clock_time(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp).astimezone().strftime("%H:%M %Z")


def message_problem(message: str) -> str | None:
    """Why a message to logged-in users is not acceptable, or None."""
    if len(message) > MESSAGE_MAX:
        return f"at most {MESSAGE_MAX} characters"
    if not all(map(message_character_ok, message)):
        return "one line of text without control characters"
    return None


def message_character_ok(character: str) -> bool:
    """May a message hold it: not a control, format, private-use or unassigned character."""
    return not unicodedata.category(character).startswith("C")


def last_action(conn: sqlite3.Connection) -> PowerAction | None:
    """The latest request, whatever its state."""
    row = db.get_setting(conn, SETTING_KEY)
    if row is None:
        return None
    try:
        return PowerAction(**json.loads(row["value"]))
    except (ValueError, TypeError):
        return None


def scheduled(conn: sqlite3.Connection) -> PowerAction | None:
    """The action still to happen, if any."""
    action = last_action(conn)
    return action if action is not None and action.pending() else None


def _store(conn: sqlite3.Connection, action: PowerAction, changed_by: str) -> None:
    db.put_setting(conn, SETTING_KEY, json.dumps(asdict(action)), changed_by)


def request(conn: sqlite3.Connection, backend: DryRunBackend | SystemdBackend, action: str,
            delay_minutes: int, message: str, actor: audit.Actor) -> PowerAction:
    """Carry out or schedule ``action``; audited as ``actor``'s request.

    Raises ``PowerConflict`` while another action is scheduled and ``PowerError`` when the
    backend fails (nothing is recorded as scheduled then).
    """
    target = f"{action} in {delay_minutes} min" if delay_minutes else f"{action} now"
    detail = {"backend": backend.name, "message": message}
    with _lock:
        pending = scheduled(conn)
        if pending is not None:
            reason = (f"{pending.label} is already scheduled for {clock_time(pending.at)} by "
                      f"{pending.requested_by}. Cancel it before asking for another.")
            audit.record(conn, actor, "power_request", target, "refused", reason)
            raise PowerConflict(reason)
        try:
            backend.carry_out(action, delay_minutes, message)
        except PowerError as exc:
            audit.record(conn, actor, "power_request", target, "failure",
                         {**detail, "error": str(exc)})
            raise
        now = db.now()
        recorded = PowerAction(action, now + delay_minutes * 60, message, actor.name, now,
                               backend.name)
        _store(conn, recorded, actor.name)
    audit.record(conn, actor, "power_request", target, detail=detail)
    return recorded


def cancel(conn: sqlite3.Connection, backend: DryRunBackend | SystemdBackend,
           actor: audit.Actor) -> PowerAction:
    """Cancel the scheduled action; audited as ``actor``'s. Raises ``NothingScheduled`` or
    ``PowerError``."""
    with _lock:
        pending = scheduled(conn)
        if pending is None:
            raise NothingScheduled("No restart or shut down is scheduled.")
        target = f"{pending.action} at {iso(pending.at)}"
        try:
            backend.cancel()
        except PowerError as exc:
            audit.record(conn, actor, "power_cancel", target, "failure", str(exc))
            raise
        cancelled = replace(pending, cancelled_at=db.now(), cancelled_by=actor.name)
        _store(conn, cancelled, actor.name)
    audit.record(conn, actor, "power_cancel", target)
    return cancelled


def restart_required(root: str = "/") -> list[str]:
    """Why the device should restart: ``/run/reboot-required`` and a newer installed kernel."""
    reasons, _facts = restart_reasons(Host(root))
    return [reason[:1].upper() + reason[1:] for reason in reasons]


def overview(conn: sqlite3.Connection, backend: DryRunBackend | SystemdBackend,
             host_root: str) -> dict:
    """Everything the Power page, its card and the API show; host files read under
    ``host_root``."""
    return {"backend": backend.name, "simulated": backend.simulated,
            "scheduled": scheduled(conn), "last": last_action(conn),
            "restart_required": restart_required(host_root)}

