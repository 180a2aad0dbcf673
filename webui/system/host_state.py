"""What the host's name, time zone and NTP servers are now, as its files say (read only)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from diagnostics.host import Host, HostError
from webui.system.backends import CHRONY, CHRONY_SOURCES, TIMESYNCD, TIMESYNCD_DROP_IN

READ_LIMIT = 64 * 1024
CHRONY_CONFIGS = ("/etc/chrony/chrony.conf", "/etc/chrony.conf")
TIMESYNCD_MARKERS = ("/etc/systemd/timesyncd.conf", "/usr/lib/systemd/systemd-timesyncd",
                     "/lib/systemd/systemd-timesyncd")
TIMESYNCD_CONF = "/etc/systemd/timesyncd.conf"
ZONEINFO = "zoneinfo/"


@dataclass(frozen=True)
class HostState:
    """None where the host does not say."""

    host_name: str | None
    time_zone: str | None
    time_service: str | None
    ntp_servers: list[str] | None


def _text(host: Host, path: str) -> str | None:
    try:
        return host.read_text(path, READ_LIMIT)
    except HostError:
        return None


def host_name(host: Host) -> str | None:
    lines = (_text(host, "/etc/hostname") or "").split()
    return lines[0] if lines else None


def time_zone(host: Host) -> str | None:
    """``/etc/timezone``, else the zone the ``/etc/localtime`` link points into."""
    words = (_text(host, "/etc/timezone") or "").split()
    if words:
        return words[0]
    try:
        target = os.readlink(host.path("/etc/localtime"))
    except OSError:
        return None
    _, found, zone = target.rpartition(ZONEINFO)
    return zone.removeprefix("posix/") if found and zone else None


def time_service(host: Host) -> str | None:
    """chrony when its configuration is there (it replaces timesyncd), else systemd-timesyncd."""
    if any(host.exists(path) for path in CHRONY_CONFIGS):
        return CHRONY
    if any(host.exists(path) for path in TIMESYNCD_MARKERS):
        return TIMESYNCD
    return None


def _timesyncd_servers(host: Host) -> list[str]:
    directory = os.path.dirname(TIMESYNCD_DROP_IN)
    files = [TIMESYNCD_CONF] + [f"{directory}/{name}" for name in host.listdir(directory)
                                if name.endswith(".conf")]
    servers: list[str] = []
    for path in files:
        section = None
        for line in (_text(host, path) or "").splitlines():
            line = line.strip()
            if line.startswith("["):
                section = line
            elif section == "[Time]" and line.startswith("NTP="):
                # A later assignment replaces the earlier ones, as timesyncd reads them.
                servers = line.removeprefix("NTP=").split()
    return servers


def _chrony_servers(host: Host) -> list[str]:
    directory = os.path.dirname(CHRONY_SOURCES)
    files = [*CHRONY_CONFIGS] + [f"{directory}/{name}" for name in host.listdir(directory)
                                 if name.endswith(".sources")]
    servers = []
    for path in files:
        for line in (_text(host, path) or "").splitlines():
            words = line.split()
            if len(words) >= 2 and words[0] in ("server", "pool", "peer"):
                servers.append(words[1])
    return servers


def read(root: str = "/") -> HostState:
    """The host under ``root`` as it is now."""
    host = Host(root)
    service = time_service(host)
    servers = {CHRONY: _chrony_servers, TIMESYNCD: _timesyncd_servers}.get(service)
    return HostState(host_name(host), time_zone(host), service,
                     servers(host) if servers else None)
