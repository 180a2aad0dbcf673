"""Models of the support operations: packages, tickets, their uploads and USB copies."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)

from diagnostics.collect import COLLECTOR_IDS
from diagnostics.collect.options import MAX_SINCE_HOURS
from webui import jobs
from webui.api.contract import Out, Strict
from webui.api.schemas import Timestamp
from webui.formats import HEX_ID
from webui.support import packages, tickets

COLLECTOR = Literal[COLLECTOR_IDS]
JOB_STATE = Literal[jobs.ACTIVE_STATES + jobs.FINAL_STATES]
TICKET_STATE = Literal[tickets.STATES]
PROBLEM_TYPE = Literal[tuple(tickets.PROBLEM_TYPES)]
SEVERITY = Literal[tuple(tickets.SEVERITIES)]
CONTACT_METHOD = Literal[tuple(tickets.CONTACT_METHODS)]
ID = Annotated[str, Field(pattern=f"^{HEX_ID.pattern}$", examples=["3f9c2a1b7d4e6f80"])]


def _whole_hours(hours: float) -> float:
    # 24, not 24.0, is what the package records when the client sent 24.
    return int(hours) if hours.is_integer() else hours


Hours = Annotated[float, Field(gt=0, le=MAX_SINCE_HOURS,
                               description="The journal and kernel log window, in hours."),
                  AfterValidator(_whole_hours)]


# Packages


class Collector(Out):
    id: COLLECTOR
    description: str
    default: bool = Field(description="Run when a package names no collectors.")


class Collectors(Out):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "collectors": [{"id": "system", "description": "Operating system, kernel, host name, "
                        "uptime and clock", "default": True}],
        "time_windows": list(packages.TIME_WINDOWS)}]})
    collectors: list[Collector]
    time_windows: list[int] = Field(description="The windows the page offers, in hours; "
                                                "any number of hours up to the maximum is taken.")


class NewPackage(Strict):
    collectors: list[COLLECTOR] | None = Field(
        None, min_length=1, description="What to collect (repeats count once); null or "
                                        "absent: every default collector.")
    since_hours: Hours = packages.DEFAULT_WINDOW
    obfuscate: bool = Field(False, description="Replace IP and MAC addresses, host and user "
                                               "names with consistent stand-ins.")


class PackageChoices(Out):
    collectors: list[COLLECTOR]
    since_hours: float
    obfuscate: bool


class Package(Out):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "id": "3f9c2a1b7d4e6f80", "state": "succeeded", "progress": 1.0,
        "current_collector": None, "created_at": "2026-11-20T22:15:00Z",
        "finished_at": "2026-11-20T22:16:10Z", "created_by": "admin",
        "filename": "supportpackage-edge-01-20261120T221500Z.zip", "size": 2_415_883,
        "sha256": "9b1c" + "0" * 60,
        "options": {"collectors": ["system", "journal"], "since_hours": 24, "obfuscate": False},
        "error": None}]})
    id: str
    state: JOB_STATE
    progress: float = Field(ge=0, le=1, description="Share of the collectors done.")
    current_collector: str | None = Field(description="The collector at work, while it runs.")
    created_at: Timestamp
    finished_at: Timestamp | None
    created_by: str | None
    filename: str | None = Field(description="The zip's name, once it is ready.")
    size: int | None = Field(ge=0, description="The zip's bytes, once it is ready.")
    sha256: str | None
    options: PackageChoices
    error: str | None = Field(description="Why it failed.")


# Tickets


def _rfc3339(value: str) -> str:
    match = RFC3339.fullmatch(value)
    if match is None:
        raise ValueError("a date and time with its offset (RFC 3339), e.g. 2026-11-20T22:15:00Z")
    day, clock, fraction, offset = match.groups()
    text = f"{day}T{clock}{fraction or ''}{offset.upper()}"
    try:
        dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("a date and time that exists, e.g. 2026-11-20T22:15:00Z") from None
    return text


# Fractions beyond microseconds are dropped: the ticket keeps whole seconds anyway.
RFC3339 = re.compile(r"(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(\.\d{1,6})?\d*"
                     r"([Zz]|[+-]\d{2}:\d{2})")
StartedAt = Annotated[str, AfterValidator(_rfc3339), WithJsonSchema({
    "type": "string", "format": "date-time",
    "description": "When the problem started. A time after the device's clock (5 minutes' "
                   "grace) is answered 409."})]


def _text(limit: int, description: str | None = None, required: bool = True):
    rule = {"pattern": tickets.NOT_BLANK} if required else {}
    return Field(max_length=limit, description=description, **rule)


class NewTicket(Strict):
    # The Python engine, as tickets.check uses: the two must agree on every string.
    model_config = ConfigDict(extra="forbid", regex_engine="python-re", json_schema_extra={
        "if": {"properties": {"contact_method": {"const": "phone"}},
               "required": ["contact_method"]},
        "then": {"properties": {"phone": {"type": "string", "pattern": tickets.NOT_BLANK}},
                 "required": ["phone"]}})
    summary: str = _text(tickets.SUMMARY_MAX)
    problem_type: PROBLEM_TYPE
    severity: SEVERITY = Field(description="A: critical impact, B: moderate, C: minimal.")
    started_at: StartedAt
    description: str = _text(tickets.DESCRIPTION_MAX)
    contact_name: str = _text(tickets.NAME_MAX)
    email: str = Field(max_length=tickets.EMAIL_MAX, pattern=tickets.EMAIL_PATTERN,
                       json_schema_extra={"format": "email"})
    contact_method: CONTACT_METHOD
    phone: str | None = Field(None, max_length=tickets.PHONE_MAX, pattern=tickets.PHONE_PATTERN,
                              validate_default=True,
                              description="Required when contact_method is phone.")
    package_id: ID | None = Field(None, description="A ready support package to bundle; null "
                                                    "or absent: a new one is made first. One "
                                                    "that is not (or no longer) ready is "
                                                    "answered 409.")

    @field_validator("phone")
    @classmethod
    def _phone_when_called(cls, phone: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("contact_method") == "phone" and not (phone or "").strip():
            raise ValueError("required when the preferred contact method is phone")
        return phone


class Bundle(Out):
    filename: str
    size: int = Field(ge=0)
    sha256: str


class TicketJob(Out):
    id: str
    state: JOB_STATE
    error: str | None = Field(description="Why it failed.")
    created_at: Timestamp
    finished_at: Timestamp | None


class UsbCopy(TicketJob):
    mount_point: str | None
    path: str | None = Field(description="The copy on the drive, once it is made.")
    checksum_path: str | None = Field(description="Its .sha256 file beside it.")


class Ticket(Out):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "id": "a81c0e5f2b9d4473", "state": "ready", "created_at": "2026-11-20T22:20:00Z",
        "created_by": "admin", "summary": "Uploads stall every night",
        "problem_type": "data_transfer", "severity": "B", "started_at": "2026-11-20T22:15:00Z",
        "description": "Share uploads stop at 02:00 and resume at 06:00.",
        "contact_name": "Ada Field", "email": "ada@example.com", "phone": "",
        "contact_method": "email", "package_id": "3f9c2a1b7d4e6f80",
        "bundle": {"filename": "supportticket-edge-01-20261120T222000Z.zip", "size": 2_420_112,
                   "sha256": "5e2a" + "0" * 60},
        "error": None, "uploaded_at": None, "uploaded_by": None, "upload": None,
        "usb_copy": None}]})
    id: str
    state: TICKET_STATE = Field(description="waiting (for its package), ready, failed, or "
                                            "removed (the bundle was pruned).")
    created_at: Timestamp
    created_by: str
    summary: str
    problem_type: PROBLEM_TYPE
    severity: SEVERITY
    started_at: Timestamp
    description: str
    contact_name: str
    email: str
    phone: str
    contact_method: CONTACT_METHOD
    package_id: str | None
    bundle: Bundle | None = Field(description="The bundle, once it is ready.")
    error: str | None
    uploaded_at: Timestamp | None
    uploaded_by: str | None
    upload: TicketJob | None = Field(description="The latest upload (one ticket only).")
    usb_copy: UsbCopy | None = Field(description="The latest USB copy (one ticket only).")


class Upload(Strict):
    confirm_size: bool = Field(False, description="Send over a partially disconnected link "
                                                  "although it counts against its data.")


class UsbTarget(Strict):
    mount_point: str = Field(description="A mount point from GET /api/v1/support/usb-drives; "
                                         "one where no USB drive is mounted is answered 409.")


class UsbDrive(Out):
    device: str
    mount_point: str
    label: str
    free: int | None = Field(description="Free bytes.")
