"""Models of the power operations: the state, asking for an action, and what was asked."""

from __future__ import annotations

import functools
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field

from webui.api.contract import Out, Strict
from webui.api.schemas import Timestamp
from webui.power import service
from webui.power.backends import BACKENDS

ACTION = Literal[tuple(service.ACTIONS)]
BACKEND = Literal[tuple(BACKENDS)]
# Planes 4-13 are unassigned and 15-16 private use: only these can hold a message character.
# Ranges, not a tuple of their 327,680 code points: that would hold 12 MiB for the process's life.
TEXT_PLANES = (range(0x0, 0x40000), range(0xE0000, 0xF0000))
CLASS_SPECIALS = "\\]^-[&~|"


def _escaped(character: str) -> str:
    return "\\" + character if character in CLASS_SPECIALS else character


@functools.cache
def message_pattern() -> str:
    """The message rule as a regular expression: any run of the characters it allows."""
    codes = [code for plane in TEXT_PLANES for code in plane]
    allowed = bytes(service.message_character_ok(chr(code)) for code in codes)
    ranges = []
    for run in re.finditer(rb"\x01+", allowed):
        first, last = chr(codes[run.start()]), chr(codes[run.end() - 1])
        ranges.append(_escaped(first) if first == last
                      else f"{_escaped(first)}-{_escaped(last)}")
    return f"^[{''.join(ranges)}]*$"


def _with_message_pattern(schema: dict) -> None:
    # Written only with the document: the pattern takes a moment to build.
    schema["pattern"] = message_pattern()


def _one_line(message: str) -> str:
    rule = service.message_problem(message)
    if rule:
        raise ValueError(rule)
    return message


def _not_a_boolean(value: Any) -> Any:
    # JSON true is not the number 1, though Python's True == 1.
    if isinstance(value, bool):
        raise ValueError(f"one of {', '.join(map(str, service.DELAYS))}")
    return value


Message = Annotated[str, Field(max_length=service.MESSAGE_MAX,
                               json_schema_extra=_with_message_pattern),
                    AfterValidator(_one_line)]


class PowerRequest(Strict):
    action: ACTION
    delay_minutes: Annotated[Literal[service.DELAYS], BeforeValidator(_not_a_boolean)] = Field(
        0, description="0: now.")
    message: Message | None = Field(
        None, description="Shown to logged-in users; one line without control, format, "
                          "private-use or unassigned characters.")


class PowerAction(Out):
    action: ACTION
    at: Timestamp = Field(description="When it happens (or happened).")
    message: str
    requested_by: str
    requested_at: Timestamp
    backend: BACKEND
    state: Literal[service.STATES] = Field(
        description="`simulated`: its time passed on the dry-run backend, nothing happened.")
    cancelled_at: Timestamp | None
    cancelled_by: str | None


class PowerState(Out):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"backend": "systemd", "restart_required": ["A newer kernel is installed"],
         "scheduled": {"action": "restart", "at": "2026-11-26T10:15:00Z",
                       "message": "Patch day", "requested_by": "admin",
                       "requested_at": "2026-11-26T10:00:00Z", "backend": "systemd",
                       "state": "scheduled", "cancelled_at": None, "cancelled_by": None},
         "last_request": None}]})
    backend: BACKEND = Field(description="`dry-run` records requests and never acts.")
    scheduled: PowerAction | None = Field(description="The action still to happen, if any.")
    restart_required: list[str] = Field(description="Why the device should restart.")
    last_request: PowerAction | None = Field(description="The latest request, in any state.")


class PowerRequested(PowerState):
    request: PowerAction = Field(description="The request just accepted.")
