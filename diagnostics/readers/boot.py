"""This boot of the host: its id and how long it has been up."""

from __future__ import annotations

import time

from diagnostics.host import Host


def boot_id(host: Host) -> str | None:
    """The kernel's random id of this boot; it changes with every start."""
    return host.read_value("/proc/sys/kernel/random/boot_id")


def uptime(host: Host) -> float | None:
    """Seconds since the host started, or None when it cannot be read."""
    if host.is_live:
        return time.clock_gettime(time.CLOCK_BOOTTIME)  # /proc/uptime without a file read
    value = host.read_value("/proc/uptime")
    try:
        return float(value.split()[0]) if value else None
    except (ValueError, IndexError):
        return None
