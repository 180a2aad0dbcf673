"""Free space and inodes on the system and data volumes; volumes unexpectedly read-only."""

from __future__ import annotations

from diagnostics.host import Host
from diagnostics.net import concurrently
from diagnostics.readers.mounts import measure, volumes
from diagnostics.requires import Requires
from diagnostics.result import Result, Status, Verdict
from diagnostics.settings import ProbeSettings

ID = "storage"
TITLE = "Storage"
DESCRIPTION = ("System and data volumes have free space and inodes (warning below 15 %, "
               "unhealthy below 5 %) and none is unexpectedly read-only.")
REQUIRES = Requires(paths=("/proc/self/mounts",))

STATVFS_TIMEOUT = 3.0


def run(host: Host, settings: ProbeSettings) -> Result:
    """Measure every volume against the thresholds and check that data volumes are mounted."""
    verdict = Verdict(ID, TITLE)
    found = volumes(host)
    mounted = {v["mount_point"] for v in found}
    for mount_point in settings.data_mounts:
        if mount_point not in mounted:
            verdict.problem(Status.UNHEALTHY, f"Data volume {mount_point} is not mounted",
                            f"Check the disk behind {mount_point} and mount it again.")
    # A hung network mount blocks statvfs for good: measure each volume in its own thread.
    measured = concurrently(lambda v: measure(host, v["mount_point"]), found, STATVFS_TIMEOUT)
    for volume, figures in zip(found, measured, strict=True):
        volume.update(figures or {"error": f"no answer within {STATVFS_TIMEOUT:g} s"})
        _judge(verdict, volume, settings)
    system = next((v for v in found if v["mount_point"] == "/"), None)
    free = f"{system['free_percent']:.0f} % free on /" if system and "free_percent" in system \
        else f"{len(found)} volume(s) checked"
    return verdict.result(f"{free}; every volume above {settings.storage_warning_percent:g} % "
                          "free and writable", {"volumes": found})


def _judge(verdict: Verdict, volume: dict, settings: ProbeSettings) -> None:
    where = volume["mount_point"]
    if "error" in volume:
        verdict.problem(Status.WARNING, f"{where} could not be measured: {volume['error']}",
                        f"Check that {where} is responsive (a hung network mount?).")
        return
    for key, what, action in (
            ("free_percent", "free space", f"Free space on {where}: delete old support packages "
                                           "and logs, or move data off it."),
            ("free_inodes_percent", "free inodes", f"Remove many small files from {where}.")):
        value = volume.get(key)
        if value is None:
            continue
        if value < settings.storage_unhealthy_percent:
            verdict.problem(Status.UNHEALTHY, f"{where} has {value:g} % {what} left", action)
        elif value < settings.storage_warning_percent:
            verdict.problem(Status.WARNING, f"{where} has {value:g} % {what} left", action)
    if volume["read_only"] and where not in settings.read_only_mounts:
        verdict.problem(Status.UNHEALTHY, f"{where} is mounted read-only",
                        f"Check the kernel log for file-system errors on {volume['source']}, "
                        "repair it (fsck) and remount it read-write.")
