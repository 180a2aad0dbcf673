"""Models of the ``/api/v1/alerts`` operations: the list, one alert, acknowledging it."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field

from webui.alerts import rules, service
from webui.api.contract import Out, Paging, Strict
from webui.api.schemas import Timestamp

SEVERITY = Literal[rules.SEVERITIES]
STATE = Literal[service.STATES]
STATE_FILTER = Literal[(*service.STATES, "open")]
RULE_ID = Literal[tuple(rule.id for rule in rules.catalogue())]

EXAMPLE = {
    "id": 42, "rule": "test_disks", "subject": None, "severity": "critical",
    "state": "acknowledged", "title": "Disks: Unhealthy",
    "message": "The diagnostic test Disks found: Disk sda has 8 reallocated sectors",
    "recommended_action": "Back up the data on sda and replace the disk.",
    "values": {"summary": "Disk sda has 8 reallocated sectors", "status": "Unhealthy",
               "run_id": "4f2a9c1e0b7d3a65",
               "recommended_action": "Back up the data on sda and replace the disk."},
    "count": 3, "raised_at": "2026-11-26T10:00:02Z", "last_seen_at": "2026-11-26T12:00:04Z",
    "acknowledged_at": "2026-11-26T10:20:00Z", "acknowledged_by": "admin",
    "note": "Replacement disk ordered.", "cleared_at": None}


class AlertQuery(Paging):
    severity: SEVERITY | None = Field(None, description="Alerts of this severity only.")
    state: STATE_FILTER | None = Field(
        None, description="Alerts in this state only; `open`: active or acknowledged. "
                          "Absent: every state.")
    rule: RULE_ID | None = Field(None, description="Alerts raised by this rule only.")


class Alert(Out):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [EXAMPLE]})

    id: int
    rule: str = Field(description="The id of the rule that raised it.")
    subject: str | None = Field(description="What the alert is about when its rule watches "
                                            "several things (a share, a volume); null: the "
                                            "rule watches one.")
    severity: SEVERITY
    state: STATE = Field(description="`active`: raised, not acknowledged; `acknowledged`: an "
                                     "administrator has seen it; `cleared`: its cause has "
                                     "gone (history).")
    title: str
    message: str = Field(description="What was found, with its values.")
    recommended_action: str = Field(description="What the administrator should do.")
    values: dict[str, Any] = Field(description="The values the rule found, which fill the "
                                               "message.")
    count: int = Field(ge=1, description="How many checks found it while it was open.")
    raised_at: Timestamp
    last_seen_at: Timestamp = Field(description="The latest check that found it.")
    acknowledged_at: Timestamp | None = Field(description="Null: never acknowledged.")
    acknowledged_by: str | None = Field(description="Who acknowledged it; null: nobody.")
    note: str | None = Field(description="The note given when it was acknowledged.")
    cleared_at: Timestamp | None = Field(description="When its cause went; null: still open.")


class Acknowledge(Strict):
    note: str = Field("", max_length=service.NOTE_MAX,
                      description="Why, or what is being done; surrounding spaces are dropped. "
                                  "Acknowledging again replaces it.")
