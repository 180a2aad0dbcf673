"""Copying a ticket bundle onto a mounted removable drive, with its checksum beside it.

Which drives there are is :mod:`diagnostics.readers.drives`' to say.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from diagnostics import Host
from diagnostics.collect.archive import file_sha256
from diagnostics.readers import drives
from diagnostics.readers.drives import RemovableDrive

SPARE_BYTES = 1 << 20


class UsbError(Exception):
    """The bundle could not be copied to the drive; the message says why."""


class DriveFull(UsbError):
    """The drive has too little free space for the bundle."""


def removable_drives() -> list[RemovableDrive]:
    """The removable drives mounted on this device, by mount point."""
    return drives.removable_drives(Host())


def _target(bundle: Path, drive: RemovableDrive) -> Path:
    """Where the copy goes: the top of the drive, never somewhere else through a link."""
    mount = Path(os.path.realpath(drive.mount_point))
    target = Path(os.path.realpath(mount / bundle.name))
    if target.parent != mount or not mount.is_dir():
        raise UsbError(f"{drive.mount_point} is not a mounted drive the bundle can go to.")
    return target


def check_room(bundle: Path, drive: RemovableDrive) -> None:
    """Raise :class:`DriveFull` when ``bundle`` does not fit on ``drive`` (with figures), or
    :class:`UsbError` when the drive cannot take it at all."""
    mount = _target(bundle, drive).parent
    size = bundle.stat().st_size
    free = shutil.disk_usage(mount).free
    if free < size + SPARE_BYTES:
        raise DriveFull(f"Not enough free space on {drive.label}: {free / 2**20:.1f} MiB free, "
                       f"{(size + SPARE_BYTES) / 2**20:.1f} MiB needed.")


def copy_to_drive(bundle: Path, drive: RemovableDrive, sha256: str | None = None) -> Path:
    """Copy ``bundle`` to the top of ``drive`` with ``<name>.sha256`` beside it; answer the
    copy's path. Checks free space first and that the target stays on that mount."""
    check_room(bundle, drive)
    target = _target(bundle, drive)
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
