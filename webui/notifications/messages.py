"""What a notification says: the payload fixed when the delivery is made, and how e-mail,
webhook and syslog render it.

Payload (JSON, also the webhook body with ``sent_at`` added): ``event`` (raised, cleared,
test, digest), ``device``, ``link`` (the alert's page, or the alert list), ``alert`` (the
alert as the API shows it, times in ISO 8601 UTC; null for test and digest) and
``suppressed`` (digest only: what was not sent, oldest first, each ``{event, alert, reason,
at}``; with ``suppressed_total``, the number held back, when the list is cut short).
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from webui.alerts import service as alerts
from webui.alerts.rules import SEVERITY_LABELS
from webui.formats import iso

ALERT_TIMES = ("raised_at", "last_seen_at", "acknowledged_at", "cleared_at")
EVENT_WORDS = {"raised": "", "cleared": "Cleared: "}


def alert_dict(row: sqlite3.Row) -> dict[str, Any]:
    """The alert as the API describes it, with ISO 8601 times."""
    alert = alerts.to_dict(row)
    return {**alert, **{key: iso(alert[key]) for key in ALERT_TIMES}}


def payload(event: str, device: str, link: str, alert: dict[str, Any] | None = None,
            suppressed: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"event": event, "device": device, "link": link, "alert": alert,
            "suppressed": suppressed or []}


def subject(message: dict[str, Any]) -> str:
    """One line: what happened, how bad, on which device."""
    device, alert = message["device"], message["alert"]
    if message["event"] == "test":
        return f"Test notification from {device}"
    if message["event"] == "digest":
        return (f"{message['suppressed_total']} notifications held back while {device} "
                "was disconnected")
    label = SEVERITY_LABELS.get(alert["severity"], alert["severity"])
    return f"{EVENT_WORDS.get(message['event'], '')}[{label}] {alert['title']} on {device}"


def _alert_lines(alert: dict[str, Any]) -> list[str]:
    lines = [alert["message"]]
    if alert.get("recommended_action"):
        lines += ["", f"Recommended action: {alert['recommended_action']}"]
    lines += ["", f"Severity: {SEVERITY_LABELS.get(alert['severity'], alert['severity'])}",
              f"Raised: {alert['raised_at']}"]
    if alert.get("cleared_at"):
        lines.append(f"Cleared: {alert['cleared_at']}")
    return lines


def text(message: dict[str, Any]) -> str:
    """The plain-text body of an e-mail."""
    if message["event"] == "test":
        lines = [f"This is a test notification from {message['device']}: the channel works."]
    elif message["event"] == "digest":
        lines = ["The connectivity mode kept these notifications on the device:", ""]
        lines += [f"- {entry['at']} {subject({**message, **entry})}: {entry['reason']}"
                  for entry in message["suppressed"]]
        if message["suppressed_total"] > len(message["suppressed"]):
            more = message["suppressed_total"] - len(message["suppressed"])
            lines.append(f"- and {more} more: see the alert list")
    else:
        lines = _alert_lines(message["alert"])
    return "\n".join([*lines, "", f"Open the device's web UI: {message['link']}", ""])


def one_line(message: dict[str, Any]) -> str:
    """The syslog message: the subject, and the alert's message."""
    alert = message["alert"]
    tail = f": {alert['message']}" if alert else ""
    return f"{subject(message)}{tail} ({message['link']})"


def webhook_body(message: dict[str, Any], sent_at: float) -> bytes:
    return json.dumps({**message, "sent_at": iso(sent_at)}, sort_keys=True).encode()
