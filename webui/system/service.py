"""Host changes (SPEC F12): the host name, its time zone and its time service's NTP servers,
carried out by the configured backend, audited, and the latest outcome kept to show.
"""

from __future__ import annotations

import json
import sqlite3

from diagnostics.host import Host
from webui import audit, db
from webui.system import backends, host_state
from webui.system.backends import Change, DryRunBackend, Outcome, Refused, SystemdBackend

OPERATIONS = ("hostname", "timezone", "ntp")
LABELS = {"hostname": "host name", "timezone": "time zone", "ntp": "NTP servers"}
AUDIT_ACTIONS = {"hostname": "host_name", "timezone": "host_time_zone", "ntp": "host_ntp"}
LAST_CHANGE = "host_last_change"


def plan(operation: str, value: str | list[str], root: str) -> Change:
    """The change ``value`` asks for; raises ``Refused`` naming the rule it breaks."""
    if operation == "hostname":
        return backends.host_name_change(str(value))
    if operation == "timezone":
        return backends.time_zone_change(str(value))
    servers = value if isinstance(value, list) else str(value).split()
    service = host_state.time_service(Host(root)) or backends.TIMESYNCD
    return backends.ntp_change(servers, service)


def apply(conn: sqlite3.Connection, backend: DryRunBackend | SystemdBackend, operation: str,
          value: str | list[str], actor: audit.Actor) -> Outcome:
    """Carry out (or simulate) a change, audited as ``actor``'s; raises ``Refused``."""
    action = AUDIT_ACTIONS[operation]
    try:
        change = plan(operation, value, backend.root)
    except Refused as exc:
        audit.record(conn, actor, action, None, "refused", str(exc))
        raise
    outcome = backend.apply(change)
    audit.record(conn, actor, action, change.value, "success" if outcome.ok else "failure",
                 outcome.to_dict())
    db.put_setting(conn, LAST_CHANGE, json.dumps({**outcome.to_dict(), "at": db.now(),
                                                  "by": actor.name}), actor.name)
    return outcome


def last_change(conn: sqlite3.Connection) -> dict | None:
    """The latest change as recorded: what it ran or would run, and how it ended."""
    row = db.get_setting(conn, LAST_CHANGE)
    if row is None:
        return None
    try:
        recorded = json.loads(row["value"])
    except ValueError:
        return None
    return recorded if isinstance(recorded, dict) else None
