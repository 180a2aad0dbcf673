"""Mounted file systems and their free space and inodes."""

from __future__ import annotations

import re

from diagnostics.host import Host

PSEUDO_FILESYSTEMS = frozenset({
    "proc", "sysfs", "devtmpfs", "devpts", "tmpfs", "ramfs", "cgroup", "cgroup2", "securityfs",
    "debugfs", "tracefs", "pstore", "bpf", "mqueue", "hugetlbfs", "configfs", "fusectl",
    "autofs", "binfmt_misc", "rpc_pipefs", "nsfs", "efivarfs", "selinuxfs", "nfsd", "squashfs",
    "iso9660", "udf", "fuse.lxcfs", "fuse.gvfsd-fuse", "fuse.portal", "overlay.sys",
})
PSEUDO_PREFIXES = ("/proc", "/sys", "/dev", "/run")


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


def measure(host: Host, mount_point: str) -> dict:
    """Size and free space and inodes of the volume at ``mount_point``, or its error."""
    try:
        st = host.statvfs(mount_point)
    except OSError as exc:
        return {"error": exc.strerror or str(exc)}
    return {"size_bytes": st.f_blocks * st.f_frsize, "free_bytes": st.f_bavail * st.f_frsize,
            "free_percent": round(100 * st.f_bavail / st.f_blocks, 1) if st.f_blocks else None,
            "inodes": st.f_files,
            "free_inodes_percent": round(100 * st.f_favail / st.f_files, 1)
            if st.f_files else None}


def _unescape(field: str) -> str:
    """Undo the octal escapes of /proc/mounts (``\\040`` for a space)."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m[1], 8)), field)
