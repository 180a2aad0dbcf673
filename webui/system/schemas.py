"""Models of the host change operations: what to set, and what was (or would be) done."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, WithJsonSchema

from webui.api.contract import Out, Strict
from webui.system import backends, service

LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
DNS_NAME = rf"^{LABEL}(?:\.{LABEL})*$"
BACKEND = Literal[tuple(backends.BACKENDS)]
OPERATION = Literal[service.OPERATIONS]
ZONE = Literal[tuple(sorted(backends.known_zones()))]
# The backend checks a server as a whole; the document says the same as a choice of forms.
SERVER_SCHEMA = {"anyOf": [
    {"type": "string", "minLength": 1, "maxLength": backends.DNS_NAME_MAX, "pattern": DNS_NAME},
    {"type": "string", "format": "ipv4"},
    {"type": "string", "format": "ipv6", "pattern": "^[^%]*$"}]}


class HostNameRequest(Strict):
    host_name: str = Field(min_length=1, max_length=backends.HOST_NAME_MAX, pattern=DNS_NAME,
                           description=f"The host name: {backends.HOST_NAME_RULE}.")


class TimeZoneRequest(Strict):
    time_zone: ZONE = Field(description="An IANA time zone name.")


class NtpRequest(Strict):
    servers: Annotated[list[Annotated[str, WithJsonSchema(SERVER_SCHEMA)]], Field(
        min_length=1, max_length=backends.NTP_SERVERS_MAX,
        json_schema_extra={"uniqueItems": True},
        description=f"The NTP servers, primary first: {backends.NTP_RULE}.")]


class HostFile(Out):
    path: str = Field(description="Where on the host.")
    content: str


class HostChange(Out):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"operation": "ntp", "value": "ntp1.example.net", "backend": "dry-run",
         "simulated": True, "error": None,
         "commands": [["systemctl", "restart", "systemd-timesyncd"]],
         "files": [{"path": backends.TIMESYNCD_DROP_IN,
                    "content": backends.MANAGED + "[Time]\nNTP=ntp1.example.net\n"}]}]})
    operation: OPERATION
    value: str = Field(description="The value set, as the host is given it.")
    backend: BACKEND = Field(description="`dry-run` records what it would do and never acts.")
    simulated: bool = Field(description="True: nothing was changed (dry-run).")
    commands: list[list[str]] = Field(description="Each command run (or that would be), "
                                                  "as its argument list, in order.")
    files: list[HostFile] = Field(description="Files written (or that would be), before the "
                                              "commands.")
    error: str | None = Field(description="Why the change failed; null when it did not.")
