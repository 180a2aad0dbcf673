"""Removable USB drives mounted on the device, and copying a ticket bundle onto one.

Drives are found with pyudev: a block device counts when udev says ``ID_BUS=usb`` or its disk
has ``removable=1``; it is offered only when one of its partitions (or the disk itself) is
mounted, as ``/proc/self/mounts`` tells.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from diagnostics.collect.archive import file_sha256

MOUNTS = "/proc/self/mounts"
_OCTAL = re.compile(r"\\([0-7]{3})")
SPARE_BYTES = 1 << 20


class UsbError(Exception):
    """The bundle could not be copied to the drive; the message says why."""


class DriveFull(UsbError):
    """The drive has too little free space for the bundle."""


@dataclass(frozen=True)
class UsbDrive:
    """A mounted removable drive: where it is mounted and what to call it."""

    device: str
    mount_point: str
    label: str
    free: int | None

    @property
    def title(self) -> str:
        return f"{self.label} ({self.device}) at {self.mount_point}"


def udev_context() -> Any:
    """The host's udev database (None where there is no udev, e.g. in a container)."""
    try:
        import pyudev

        return pyudev.Context()
    except (ImportError, OSError):
        return None


def _mounts(mounts_path: str | os.PathLike) -> dict[str, str]:
    """Device node → first mount point."""
    found: dict[str, str] = {}
    try:
        text = Path(mounts_path).read_text(errors="replace")
    except OSError:
        return found
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 2 or not fields[0].startswith("/dev/"):
            continue
        # Spaces and tabs in mount points are written as octal escapes.
        mount_point = _OCTAL.sub(lambda m: chr(int(m.group(1), 8)), fields[1])
        found.setdefault(os.path.realpath(fields[0]), mount_point)
    return found


def _removable(device: Any) -> bool:
    if device.properties.get("ID_BUS") == "usb":
        return True
    disk = device if device.properties.get("DEVTYPE") == "disk" else device.find_parent(
        "block", "disk")
    if disk is None:
        return False
    value = disk.attributes.get("removable")
    return value is not None and bytes(value).strip() == b"1"


def removable_drives(context: Any = None, mounts_path: str | os.PathLike = MOUNTS
                     ) -> list[UsbDrive]:
    """Mounted removable drives, by mount point. ``context`` is a ``pyudev.Context`` (or a
    stand-in with ``list_devices``); default the host's."""
    context = context if context is not None else udev_context()
    if context is None:
        return []
    mounts = _mounts(mounts_path)
    drives = []
    for device in context.list_devices(subsystem="block"):
        node = device.device_node
        mount_point = mounts.get(os.path.realpath(node)) if node else None
        if mount_point is None or not _removable(device):
            continue
        props = device.properties
        label = (props.get("ID_FS_LABEL") or props.get("ID_MODEL") or "USB drive").replace(
            "_", " ")
        try:
            free = shutil.disk_usage(mount_point).free
        except OSError:
            free = None
        drives.append(UsbDrive(node, mount_point, label, free))
    return sorted(drives, key=lambda d: d.mount_point)


def copy_to_drive(bundle: Path, drive: UsbDrive, sha256: str | None = None) -> Path:
    """Copy ``bundle`` to the top of ``drive`` with ``<name>.sha256`` beside it; answer the
    copy's path. Checks free space first and that the target stays on that mount."""
    mount = Path(os.path.realpath(drive.mount_point))
    target = Path(os.path.realpath(mount / bundle.name))
    if target.parent != mount or not mount.is_dir():
        raise UsbError(f"{drive.mount_point} is not a mounted drive the bundle can go to.")
    size = bundle.stat().st_size
    free = shutil.disk_usage(mount).free
    if free < size + SPARE_BYTES:
        raise DriveFull(f"Not enough free space on {drive.label}: {free / 2**20:.1f} MiB free, "
                       f"{(size + SPARE_BYTES) / 2**20:.1f} MiB needed.")
    partial = target.with_name(target.name + ".partial")
    checksum = target.with_name(target.name + ".sha256")
    try:
        with open(bundle, "rb") as source, open(partial, "wb") as copy:
            shutil.copyfileobj(source, copy, 1 << 20)
            copy.flush()
            os.fsync(copy.fileno())
        os.replace(partial, target)
        checksum.write_text(f"{sha256 or file_sha256(bundle)}  {bundle.name}\n")
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise UsbError(f"Could not write to {drive.label}: {exc.strerror or exc}.") from exc
    return target
