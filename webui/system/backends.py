"""How the host's name, time zone and NTP servers are changed: through systemd's tools, or
simulated (dry-run).

Every value is checked again here, whoever asks, and reaches a command only as one argument
of an argument list (never through a shell) or as a line of a file this module writes.
"""

from __future__ import annotations

import ipaddress
import os
import string
import tempfile
import zoneinfo
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from diagnostics.host import CommandResult, Host

COMMAND_TIMEOUT = 20.0
HOST_NAME_MAX = 64  # Linux's HOST_NAME_MAX: hostnamectl refuses a longer static name
DNS_NAME_MAX = 253
LABEL_MAX = 63
LABEL_CHARACTERS = frozenset(string.ascii_letters + string.digits + "-")
ZONE_MAX = 64
NTP_SERVERS_MAX = 4
TIMESYNCD = "systemd-timesyncd"
CHRONY = "chrony"
TIMESYNCD_DROP_IN = "/etc/systemd/timesyncd.conf.d/50-edge-webui.conf"
CHRONY_SOURCES = "/etc/chrony/sources.d/edge-webui.sources"
FILE_MODE = 0o644
MANAGED = "# Written by edge-webui (Configuration > Host); changes made here are replaced.\n"


class Refused(ValueError):
    """A value the host must not be given; names the field and the rule it breaks."""

    def __init__(self, field: str, rule: str):
        super().__init__(f"{field}: {rule}")
        self.field, self.rule = field, rule


def _label_ok(label: str) -> bool:
    return (1 <= len(label) <= LABEL_MAX and set(label) <= LABEL_CHARACTERS
            and not label.startswith("-") and not label.endswith("-"))


def dns_name_ok(name: str, longest: int = DNS_NAME_MAX) -> bool:
    """An RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens."""
    return 1 <= len(name) <= longest and all(_label_ok(label) for label in name.split("."))


HOST_NAME_RULE = (f"an RFC 1123 host name: labels of 1–{LABEL_MAX} letters, digits or hyphens "
                  f"(no hyphen first or last) joined by dots, at most {HOST_NAME_MAX} characters")
TIME_ZONE_RULE = "an IANA time zone name such as Europe/Berlin or UTC"
NTP_RULE = (f"1 to {NTP_SERVERS_MAX} different host names or IP addresses, without ports")


def check_host_name(name: str) -> str:
    if not dns_name_ok(name, HOST_NAME_MAX):
        raise Refused("host name", HOST_NAME_RULE)
    return name


@cache
def known_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def check_time_zone(zone: str) -> str:
    if len(zone) > ZONE_MAX or zone not in known_zones():
        raise Refused("time zone", TIME_ZONE_RULE)
    return zone


def _server_ok(server: str) -> bool:
    # ipaddress takes any text after "%" as an IPv6 scope, line breaks included.
    if "%" in server:
        return False
    try:
        ipaddress.ip_address(server)
    except ValueError:
        return dns_name_ok(server)
    return True


def check_ntp_servers(servers: list[str]) -> list[str]:
    if (not 1 <= len(servers) <= NTP_SERVERS_MAX or len(set(servers)) != len(servers)
            or not all(_server_ok(server) for server in servers)):
        raise Refused("NTP servers", NTP_RULE)
    return servers


@dataclass(frozen=True)
class Change:
    """What a host change does: files written (host path, contents), then commands run."""

    operation: str
    value: str
    commands: tuple[tuple[str, ...], ...]
    files: tuple[tuple[str, str], ...] = ()

    def to_dict(self) -> dict:
        return {"operation": self.operation, "value": self.value,
                "commands": [list(argv) for argv in self.commands],
                "files": [{"path": path, "content": content} for path, content in self.files]}


def host_name_change(name: str) -> Change:
    name = check_host_name(name)
    return Change("hostname", name, (("hostnamectl", "set-hostname", name),))


def time_zone_change(zone: str) -> Change:
    zone = check_time_zone(zone)
    return Change("timezone", zone, (("timedatectl", "set-timezone", zone),))


def ntp_change(servers: list[str], service: str) -> Change:
    """The drop-in or sources file for ``service`` (systemd-timesyncd or chrony) and its reload."""
    servers = check_ntp_servers(servers)
    shown = " ".join(servers)
    if service == CHRONY:
        content = MANAGED + "".join(f"server {server} iburst\n" for server in servers)
        return Change("ntp", shown, (("chronyc", "reload", "sources"),),
                      ((CHRONY_SOURCES, content),))
    content = f"{MANAGED}[Time]\nNTP={shown}\n"
    return Change("ntp", shown, (("systemctl", "restart", TIMESYNCD),),
                  ((TIMESYNCD_DROP_IN, content),))


@dataclass(frozen=True)
class Outcome:
    """What became of a change: carried out, simulated, or failed with the reason."""

    change: Change
    backend: str
    simulated: bool
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict:
        return {**self.change.to_dict(), "backend": self.backend, "simulated": self.simulated,
                "error": self.error}


class _Backend:
    name: str
    simulated: bool

    def __init__(self, root: str = "/"):
        self.root = root


class DryRunBackend(_Backend):
    """Records what would be done and never touches the host (the default)."""

    name = "dry-run"
    simulated = True

    def apply(self, change: Change) -> Outcome:
        return Outcome(change, self.name, simulated=True)


class SystemdBackend(_Backend):
    """Writes the change's files under ``root`` atomically, then runs its commands from PATH."""

    name = "systemd"
    simulated = False

    def apply(self, change: Change) -> Outcome:
        host = Host(self.root)
        for path, content in change.files:
            try:
                write_atomically(host.path(path), content)
            except OSError as exc:
                return self._failed(change, f"Could not write {path}: {exc.strerror or exc}")
        for argv in change.commands:
            # A fresh Host reads PATH now, so the command is looked up where the service runs.
            result = Host().run(argv, timeout=COMMAND_TIMEOUT, limit=64 * 1024)
            if not result.ok:
                return self._failed(change, command_failure(argv, result))
        return Outcome(change, self.name, simulated=False)

    def _failed(self, change: Change, error: str) -> Outcome:
        return Outcome(change, self.name, simulated=False, error=error)


def command_failure(argv: tuple[str, ...], result: CommandResult) -> str:
    """Why a command failed, in one line: the exit status and the first line it printed."""
    shown = " ".join(argv)
    if result.missing:
        return (f"The systemd backend needs the {argv[0]} command, which is not installed on "
                "this device (not found on PATH).")
    if result.timed_out:
        return f"{shown} did not finish within {COMMAND_TIMEOUT:g} s and was stopped."
    lines = (result.stderr or result.stdout).strip().splitlines()
    status = (f"exit status {result.returncode}" if result.returncode is not None
              else result.error)
    return f"{shown} failed ({status}): {lines[0] if lines else 'no message'}"


def write_atomically(path: Path, content: str) -> None:
    """Replace ``path`` with ``content`` (mode 0644) so no reader sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
    fd, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(content)
            f.flush()
            os.fchmod(f.fileno(), FILE_MODE)
            os.fsync(f.fileno())
        os.replace(partial, path)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise


BACKENDS = {backend.name: backend for backend in (DryRunBackend, SystemdBackend)}


def backend_for(name: str, root: str = "/") -> DryRunBackend | SystemdBackend:
    """The backend a ``WEBUI_SYSTEM_BACKEND`` value names, acting on the host under ``root``."""
    return BACKENDS[name](root)
