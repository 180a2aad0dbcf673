"""Disks: every expected disk present, SMART health, I/O error counters, encryption state."""

from __future__ import annotations

from diagnostics.host import Host
from diagnostics.net import concurrently
from diagnostics.readers.disks import SMART_TIMEOUT, encrypted_volumes, inventory, smart_report
from diagnostics.requires import NOTHING
from diagnostics.result import Result, Status, Verdict
from diagnostics.settings import ProbeSettings

ID = "disks"
TITLE = "Disks"
DESCRIPTION = ("Every expected disk is present, SMART reports it healthy, it has no I/O errors, "
               "and its encryption (dm-crypt/LUKS) state is known.")
REQUIRES = NOTHING

REPLACE_ACTION = "Back up the data on {disk} and replace the disk."


def run(host: Host, settings: ProbeSettings) -> Result:
    """Inventory the disks and check each one's health signals."""
    verdict = Verdict(ID, TITLE)
    block = host.devices("block")
    encrypted = encrypted_volumes(host)
    disks = inventory(host, block)
    opened = {slave for volume in encrypted for slave in volume["backing_devices"]}
    # udev marks LUKS containers; one no dm-crypt mapping sits on is locked.
    locked = [d.sys_name for d in block
              if d.properties.get("ID_FS_TYPE") == "crypto_LUKS" and d.sys_name not in opened]
    smart_installed = host.which("smartctl") is not None
    reports = (concurrently(lambda d: smart_report(host, d["name"]), disks, SMART_TIMEOUT + 1)
               if smart_installed else [None] * len(disks))
    for disk, report in zip(disks, reports, strict=True):
        disk["smart"] = report
    details = {"disks": disks, "encrypted_volumes": encrypted, "locked_luks_devices": locked,
               "smartctl": "installed" if smart_installed else "not installed",
               # Without udev's database, models and serials come from sysfs alone.
               "udev_database": host.exists("/run/udev/data")}

    missing = [e for e in settings.expected_disks if not any(_matches(d, e) for d in disks)]
    for expected in missing:
        verdict.problem(Status.UNHEALTHY, f"Expected disk {expected} is missing",
                        f"Check that disk {expected} is seated and its cable or slot works.")
    if not disks and not settings.expected_disks:
        return verdict.not_applicable("No physical disks are visible to this system "
                                      "(a container or a diskless virtual machine)", details)
    for disk in disks:
        _judge(verdict, disk)
    notes = [f"{len(encrypted)} encrypted volume(s) open"] if encrypted else []
    notes += [f"locked LUKS device(s): {', '.join(locked)}"] if locked else []
    notes += [] if smart_installed else ["SMART not checked (smartctl is not installed)"]
    return verdict.result("; ".join([f"{len(disks)} disk(s) present and healthy", *notes]),
                          details)


def _judge(verdict: Verdict, disk: dict) -> None:
    name = disk["name"]
    smart = disk["smart"]
    if smart and (smart["passed"] is False or smart.get("critical_warning")):
        verdict.problem(Status.UNHEALTHY, f"{name}: SMART reports the disk is failing",
                        REPLACE_ACTION.format(disk=name))
    if smart:
        bad = {k: v for k, v in smart["bad_sector_counts"].items() if v}
        if bad:
            counts = ", ".join(f"{v} {k}" for k, v in bad.items())
            verdict.problem(Status.WARNING, f"{name}: {counts}",
                            f"Watch {name}: plan its replacement if the counts grow.")
    if disk["io_errors"]:
        verdict.problem(Status.WARNING, f"{name}: {disk['io_errors']} I/O errors since start-up",
                        f"Check the cable or slot of {name} and the kernel log for details.")


def _matches(disk: dict, expected: str) -> bool:
    return expected in (disk["name"], disk["serial"], disk["wwn"], f"/dev/{disk['name']}")
