"""Mounted file systems and the removable drives among them (USB sticks, SD cards).

Drives are found with pyudev: a block device counts when udev says ``ID_BUS=usb`` or its disk
has ``removable=1``; it is offered only when one of its partitions (or the disk itself) is
mounted, as ``/proc/self/mounts`` tells.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any, NamedTuple

from diagnostics.host import Host, HostError

MOUNTS = "/proc/self/mounts"
_OCTAL = re.compile(r"\\([0-7]{3})")


class Mount(NamedTuple):
    """A file system mounted from a device node."""

    device: str
    mount_point: str


@dataclass(frozen=True)
class RemovableDrive:
    """A mounted removable drive: where it is mounted, what to call it, its free bytes."""

    device: str
    mount_point: str
    label: str
    free: int | None

    @property
    def title(self) -> str:
        return f"{self.label} ({self.device}) at {self.mount_point}"


def mounts(host: Host) -> list[Mount]:
    """Device-backed mounts in the kernel's order; an unreadable table gives none."""
    try:
        text = host.read_text(MOUNTS, 1 << 20) or ""
    except HostError:
        return []
    found = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 2 or not fields[0].startswith("/dev/"):
            continue
        # Spaces and tabs in mount points are written as octal escapes.
        found.append(Mount(fields[0], _OCTAL.sub(lambda m: chr(int(m.group(1), 8)), fields[1])))
    return found


def udev_context() -> Any:
    """The host's udev database (None where there is no udev, e.g. in a container)."""
    try:
        import pyudev

        return pyudev.Context()
    except (ImportError, OSError):
        return None


def _removable(device: Any) -> bool:
    if device.properties.get("ID_BUS") == "usb":
        return True
    disk = device if device.properties.get("DEVTYPE") == "disk" else device.find_parent(
        "block", "disk")
    if disk is None:
        return False
    value = disk.attributes.get("removable")
    return value is not None and bytes(value).strip() == b"1"


def _free(host: Host, mount_point: str) -> int | None:
    try:
        stats = host.statvfs(mount_point)
    except OSError:
        return None
    return stats.f_bavail * stats.f_frsize


def removable_drives(host: Host, context: Any = None) -> list[RemovableDrive]:
    """Mounted removable drives, by mount point. ``context`` is a ``pyudev.Context`` (or a
    stand-in with ``list_devices``); default the host's."""
    context = context if context is not None else udev_context()
    if context is None:
        return []
    mounted: dict[str, str] = {}
    for mount in mounts(host):
        mounted.setdefault(os.path.realpath(mount.device), mount.mount_point)
    drives = []
    for device in context.list_devices(subsystem="block"):
        node = device.device_node
        mount_point = mounted.get(os.path.realpath(node)) if node else None
        if mount_point is None or not _removable(device):
            continue
        props = device.properties
        label = (props.get("ID_FS_LABEL") or props.get("ID_MODEL") or "USB drive").replace(
            "_", " ")
        drives.append(RemovableDrive(node, mount_point, label, _free(host, mount_point)))
    return sorted(drives, key=lambda d: d.mount_point)
