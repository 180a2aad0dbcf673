"""Free space and inodes on the system and data volumes; volumes unexpectedly read-only."""

from __future__ import annotations

import re

from diagnostics.host import Host
from diagnostics.net import concurrently
from diagnostics.result import Result, Status, Verdict
from diagnostics.settings import ProbeSettings

ID = "storage"
TITLE = "Storage"
DESCRIPTION = ("System and data volumes have free space and inodes (warning below 15 %, "
               "unhealthy below 5 %) and none is unexpectedly read-only.")
NEEDS = ("/proc/self/mounts", "statvfs(3)")

PSEUDO_FILESYSTEMS = frozenset({
    "proc", "sysfs", "devtmpfs", "devpts", "tmpfs", "ramfs", "cgroup", "cgroup2", "securityfs",
    "debugfs", "tracefs", "pstore", "bpf", "mqueue", "hugetlbfs", "configfs", "fusectl",
    "autofs", "binfmt_misc", "rpc_pipefs", "nsfs", "efivarfs", "selinuxfs", "nfsd", "squashfs",
    "iso9660", "udf", "fuse.lxcfs", "fuse.gvfsd-fuse", "fuse.portal", "overlay.sys",
})
PSEUDO_PREFIXES = ("/proc", "/sys", "/dev", "/run")
STATVFS_TIMEOUT = 3.0


def volumes(host: Host) -> list[dict]:
    """Real file systems from ``/proc/self/mounts``, one entry per source device."""
    seen: dict[str, dict] = {}
    for line in (host.read_text("/proc/self/mounts", 1 << 20) or "").splitlines():
        fields = line.split()
        if len(fields) < 4:
            continue
        source, mount_point, fs_type, options = (_unescape(f) for f in fields[:4])
        if fs_type in PSEUDO_FILESYSTEMS or mount_point.startswith(PSEUDO_PREFIXES):
            continue
        volume = {"source": source, "mount_point": mount_point, "fs_type": fs_type,
                  "read_only": "ro" in options.split(",")}
        # Bind mounts repeat a device; the shortest mount point names it best.
        known = seen.get(source)
        if known is None or len(mount_point) < len(known["mount_point"]):
            seen[source] = volume
    return sorted(seen.values(), key=lambda v: v["mount_point"])


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
    measured = concurrently(lambda v: _measure(host, v["mount_point"]), found, STATVFS_TIMEOUT)
    for volume, figures in zip(found, measured, strict=True):
        volume.update(figures or {"error": f"no answer within {STATVFS_TIMEOUT:g} s"})
        _judge(verdict, volume, settings)
    system = next((v for v in found if v["mount_point"] == "/"), None)
    free = f"{system['free_percent']:.0f} % free on /" if system and "free_percent" in system \
        else f"{len(found)} volume(s) checked"
    return verdict.result(f"{free}; every volume above {settings.storage_warning_percent:g} % "
                          "free and writable", {"volumes": found})


def _measure(host: Host, mount_point: str) -> dict:
    try:
        st = host.statvfs(mount_point)
    except OSError as exc:
        return {"error": exc.strerror or str(exc)}
    return {"size_bytes": st.f_blocks * st.f_frsize, "free_bytes": st.f_bavail * st.f_frsize,
            "free_percent": round(100 * st.f_bavail / st.f_blocks, 1) if st.f_blocks else None,
            "inodes": st.f_files,
            "free_inodes_percent": round(100 * st.f_favail / st.f_files, 1)
            if st.f_files else None}


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


def _unescape(field: str) -> str:
    """Undo the octal escapes of /proc/mounts (``\\040`` for a space)."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m[1], 8)), field)
