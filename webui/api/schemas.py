"""Models of the device, token, user and audit operations, and types every feature shares."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, PlainSerializer, WithJsonSchema, field_validator

from webui.api.contract import Out, Paging, Strict
from webui.dashboard.usage import Sample
from webui.formats import iso

ROLE = Literal["administrator", "viewer"]


def _from_epoch(value: Any) -> Any:
    # The database keeps seconds since the epoch; the API speaks ISO 8601 UTC.
    if isinstance(value, int | float) and not isinstance(value, bool):
        return dt.datetime.fromtimestamp(value, dt.UTC)
    return value


def _to_iso(value: dt.datetime) -> str:
    return iso(value.timestamp())


Timestamp = Annotated[dt.datetime, BeforeValidator(_from_epoch),
                      PlainSerializer(_to_iso, return_type=str),
                      WithJsonSchema({"type": "string", "format": "date-time",
                                      "description": "ISO 8601, UTC, to the second."})]


# Device


class Status(Out):
    device_name: str
    software_version: str
    hostname: str | None
    model: str | None
    os: str | None
    kernel: str | None
    uptime_seconds: float | None = Field(ge=0)
    boot_id: str | None


class Disk(Out):
    name: str
    model: str | None
    serial: str | None
    wwn: str | None
    size_bytes: int = Field(ge=0)
    rotational: bool
    transport: str | None
    driver: str | None
    io_errors: int | None
    reads_completed: int | None
    writes_completed: int | None
    encrypted: list[str] = Field(description="Encrypted volumes on this disk.")


class NetworkInterface(Out):
    name: str
    mac: str | None
    driver: str | None
    enabled: bool
    operstate: str | None
    carrier: bool
    speed_mbps: int | None
    duplex: str | None
    mtu: int | None
    statistics: dict[str, int]


class UsbDevice(Out):
    bus_path: str
    vendor_id: str | None
    product_id: str | None
    manufacturer: str | None
    product: str | None
    speed_mbps: str | None
    hub: bool


class Accelerator(Out):
    address: str
    kind: str
    pci_class: str = Field(alias="class")
    vendor_id: str
    device_id: str
    vendor: str
    driver: str | None


class PowerSupply(Out):
    name: str
    type: str | None
    online: bool | None
    status: str | None
    health: str | None
    capacity_percent: int | None


class TemperatureSensor(Out):
    sensor: str
    celsius: float
    high: float | None
    critical: float | None


class Hardware(Out):
    disks: list[Disk]
    network_interfaces: list[NetworkInterface]
    usb_devices: list[UsbDevice]
    accelerators: list[Accelerator]
    power_supplies: list[PowerSupply]
    temperature_sensors: list[TemperatureSensor]


class Usage(Out):
    """Samples as the sampler keeps them: ``at`` in seconds since the epoch, rates per second."""

    latest: Sample | None
    history: list[Sample] = Field(description="The last ten minutes, oldest first.")


# Tokens


class NewToken(Strict):
    name: str = Field(min_length=1, max_length=64, pattern=r"\S",
                      description="What the token is for; shown in the audit log.")
    role: ROLE = "viewer"
    expires_days: int | None = Field(None, ge=1, le=3650,
                                     description="Days until it expires; null: never.")


class Token(Out):
    id: int
    name: str
    role: ROLE
    created_by: str
    created_at: Timestamp
    expires_at: Timestamp | None
    last_used_at: Timestamp | None
    last_used_addr: str | None
    revoked_at: Timestamp | None


class CreatedToken(Out):
    id: int
    name: str
    role: ROLE
    expires_at: Timestamp | None
    token: str = Field(description="The token itself: shown this once, never again.")


# Users


class User(Out):
    id: int
    username: str
    role: ROLE
    must_change_password: bool
    created_at: Timestamp
    password_changed_at: Timestamp | None


# Audit


class AuditQuery(Paging):
    user: str | None = Field(None, max_length=64, description="Entries by this actor.")
    action: str | None = Field(None, max_length=64,
                               description="Entries whose action starts with this.")
    from_: dt.date | None = Field(None, alias="from",
                                  description="From this day (the device's time zone).")
    to: dt.date | None = Field(None, description="Up to and including this day.")

    @field_validator("from_", "to", mode="before")
    @classmethod
    def _day_only(cls, value: Any) -> Any:
        # A date, written YYYY-MM-DD: pydantic alone would take a number of seconds too.
        if isinstance(value, str) and not (len(value) == 10 and value[4] == value[7] == "-"):
            raise ValueError("a date, YYYY-MM-DD")
        return value


class AuditEntry(Out):
    id: int
    at: Timestamp
    actor: str
    client_addr: str | None
    action: str
    target: str | None
    outcome: str
    detail: str | None

