"""Identity and state of the device: model, serial, OS, kernel, uptime, boot id."""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass

from diagnostics.host import Host
from diagnostics.readers.boot import boot_id, uptime


@dataclass(frozen=True)
class SystemIdentity:
    hostname: str
    vendor: str | None
    model: str | None
    serial: str | None
    os_name: str
    kernel: str
    architecture: str
    boot_id: str | None
    booted_at: float | None
    uptime_seconds: float | None

    def to_dict(self) -> dict:
        return asdict(self)


def os_release(host: Host) -> dict[str, str]:
    """Fields of /etc/os-release (falling back to /usr/lib/os-release)."""
    text = host.read_text("/etc/os-release", 65536) or host.read_text("/usr/lib/os-release",
                                                                       65536) or ""
    fields = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() and not key.startswith("#"):
            fields[key.strip()] = value.strip().strip("\"'")
    return fields


def _dmi(host: Host, name: str) -> str | None:
    value = host.read_value(f"/sys/class/dmi/id/{name}")
    # Firmware fills unset fields with placeholders; they say nothing about the device.
    if not value or value.lower() in {"to be filled by o.e.m.", "default string", "none",
                                      "not specified", "system serial number", "0"}:
        return None
    return value


_STATIC: dict[str, dict] = {}


def _static_facts(host: Host) -> dict:
    """Facts that stay the same while this process lives (a reboot ends it), read once per root."""
    key = str(host.root)
    if key not in _STATIC:
        uname = os.uname()
        release = os_release(host)
        _STATIC[key] = {
            "vendor": _dmi(host, "sys_vendor"),
            "model": _dmi(host, "product_name"),
            "serial": _dmi(host, "product_serial"),
            "os_name": release.get("PRETTY_NAME") or release.get("NAME") or "Linux",
            "kernel": host.read_value("/proc/sys/kernel/osrelease") or uname.release,
            "architecture": uname.machine,
            "boot_id": boot_id(host),
        }
    return _STATIC[key]


def identity(host: Host | None = None) -> SystemIdentity:
    """What the overview shows about the device; fields the host lacks are None."""
    host = host or Host()
    seconds = uptime(host)
    return SystemIdentity(
        hostname=os.uname().nodename if host.is_live else (
            host.read_value("/proc/sys/kernel/hostname") or os.uname().nodename),
        booted_at=time.time() - seconds if seconds is not None else None,
        uptime_seconds=seconds,
        **_static_facts(host),
    )
