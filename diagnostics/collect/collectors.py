"""The collectors of a support package, declared like sos plugins.

A :class:`Collector` names the files, commands and Python producers it takes, each with its own
size cap and timeout, and runs under an outside deadline. Items that depend on the host or the
caller (one ``smartctl`` per disk, the files of a log directory, the app's audit export) come from
an ``expand`` function. Collector ids are API values.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from diagnostics.collect import snapshots
from diagnostics.collect.context import CollectContext
from diagnostics.host import Host

MiB = 1 << 20
FILE_CAP = 25 * MiB
OUTPUT_CAP = 8 * MiB
COMMAND_TIMEOUT = 30.0
COLLECTOR_DEADLINE = 120.0
JOURNAL_LINES = 150_000
SINCE = "{since}"  # replaced by the start of the journal window (``@<epoch>``)
SYSTEMD = "/run/systemd/system"


@dataclass(frozen=True)
class FileSpec:
    """A host file (or glob) to take; when larger than ``cap`` only its tail is kept.

    ``on_host=False`` marks a path the app gave (a log directory), taken as it is rather than
    under the host's root; ``name`` is then its member name.
    """

    pattern: str
    cap: int | None = FILE_CAP
    name: str | None = None
    on_host: bool = True


@dataclass(frozen=True)
class CommandSpec:
    """A command to run; ``keep`` says which end of an output larger than ``cap`` survives.

    ``requires`` is a host path that must exist for the command to make sense (``reason`` says
    why it is skipped otherwise); ``fallback`` is taken when the program is not installed.
    """

    argv: tuple[str, ...]
    name: str
    timeout: float = COMMAND_TIMEOUT
    cap: int | None = OUTPUT_CAP
    keep: str = "head"
    requires: str | None = None
    reason: str | None = None
    fallback: CommandSpec | ProducerSpec | None = None


@dataclass(frozen=True)
class ProducerSpec:
    """Bytes made in Python (a psutil snapshot, the caller's audit export)."""

    name: str
    produce: Callable[[Host], Iterable[bytes]]
    source: str
    cap: int | None = None
    requires: str | None = None
    reason: str | None = None


ItemSpec = FileSpec | CommandSpec | ProducerSpec


@dataclass(frozen=True)
class Absent:
    """An item that cannot be collected here, recorded in the manifest with its reason."""

    source: str
    reason: str
    kind: str = "file"


@dataclass(frozen=True)
class Collector:
    """One part of a support package: an id, what it takes, and a deadline for all of it."""

    id: str
    description: str
    items: tuple[ItemSpec, ...] = ()
    expand: Callable[[Host, CollectContext], list[ItemSpec | Absent]] | None = None
    deadline: float = COLLECTOR_DEADLINE

    def plan(self, host: Host, context: CollectContext) -> list[ItemSpec | Absent]:
        """Every item this collector takes on ``host`` for ``context``, in order."""
        planned: list[ItemSpec | Absent] = list(self.items)
        if self.expand is not None:
            planned += self.expand(host, context)
        for extra in context.extra_items.get(self.id, ()):
            planned.append(ProducerSpec(extra.name, _call(extra.producer), "supplied by the app"))
        return planned


def _call(producer: Callable[[], Iterable[bytes]]) -> Callable[[Host], Iterable[bytes]]:
    return lambda host: producer()


def tree_files(root: Path, prefix: str, cap: int | None = FILE_CAP) -> list[ItemSpec | Absent]:
    """Regular files under ``root`` as items named ``[<prefix>/]<relative path>``.

    Symbolic links that lead outside ``root`` are skipped: a log directory must not become a way
    to ship ``/etc/shadow``.
    """
    if not root.is_dir():
        return [Absent(str(root), "directory does not exist")]
    real_root = root.resolve()
    found: list[ItemSpec | Absent] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for filename in sorted(filenames):
            path = Path(dirpath, filename)
            if not path.resolve().is_relative_to(real_root) or not path.is_file():
                continue
            name = str(path.relative_to(root))
            found.append(FileSpec(str(path), cap, f"{prefix}/{name}" if prefix else name,
                                  on_host=False))
    return found


def _disks(host: Host, context: CollectContext) -> list[ItemSpec | Absent]:
    if host.which("smartctl") is None:
        return [Absent("smartctl", "smartctl is not installed (smartmontools)", "command")]
    skip = ("loop", "ram", "zram", "dm-", "md", "sr", "nbd", "fd")
    return [CommandSpec(("smartctl", "-j", "-a", f"/dev/{name}"), f"smartctl-{name}.json")
            for name in host.listdir("/sys/block") if not name.startswith(skip)]


def _webui_log(host: Host, context: CollectContext) -> list[ItemSpec | Absent]:
    if context.log_dir is None:
        return [Absent("log directory", "no web UI log directory configured", "file")]
    return tree_files(Path(context.log_dir), "")


def _copylogs(host: Host, context: CollectContext) -> list[ItemSpec | Absent]:
    if not context.copylog_roots and not context.extra_items.get("copylogs"):
        return [Absent("copy-log roots", "no copy-log roots configured")]
    found: list[ItemSpec | Absent] = []
    for number, root in enumerate(context.copylog_roots, 1):
        root = Path(root)
        found += tree_files(root, f"{number}-{root.name or 'root'}")
    return found


def _supplied(what: str) -> Callable[[Host, CollectContext], list[ItemSpec | Absent]]:
    def expand(host: Host, context: CollectContext) -> list[ItemSpec | Absent]:
        return [] if context.extra_items.get(what) else [Absent(what, "not supplied by the app")]
    return expand


def _systemd(argv: tuple[str, ...], name: str) -> CommandSpec:
    return CommandSpec(argv, name, requires=SYSTEMD, reason="systemd is not running")


COLLECTORS: tuple[Collector, ...] = (
    Collector("system", "Operating system, kernel, host name, uptime and clock", (
        FileSpec("/etc/os-release"), FileSpec("/proc/version"), FileSpec("/proc/cmdline"),
        FileSpec("/proc/uptime"), FileSpec("/proc/loadavg"), FileSpec("/etc/hostname"),
        FileSpec("/etc/timezone"),
        CommandSpec(("uname", "-a"), "uname.txt"),
        CommandSpec(("hostname", "--fqdn"), "hostname.txt"),
        CommandSpec(("uptime",), "uptime.txt"),
        _systemd(("timedatectl", "status"), "timedatectl.txt"),
    )),
    Collector("hardware", "Devices (udev database), DMI, CPUs, PCI and USB devices", (
        CommandSpec(("udevadm", "info", "--export-db"), "udev-db.txt", cap=16 * MiB,
                    fallback=ProducerSpec("udev-db.txt", snapshots.udev_database, "pyudev",
                                          cap=16 * MiB)),
        ProducerSpec("dmi.json", snapshots.dmi, "/sys/class/dmi/id", requires="/sys/class/dmi/id",
                     reason="no DMI on this host"),
        FileSpec("/proc/cpuinfo"), FileSpec("/proc/meminfo"),
        CommandSpec(("lscpu", "-J"), "lscpu.json"),
        CommandSpec(("lspci", "-nn", "-vmm"), "lspci.txt"),
        CommandSpec(("lsusb",), "lsusb.txt"),
    )),
    Collector("resources", "CPU, memory and I/O snapshot and the top processes", (
        ProducerSpec("resources.json", snapshots.resources, "psutil"),
        ProducerSpec("top-processes.json", snapshots.top_processes, "psutil"),
        FileSpec("/proc/pressure/cpu"), FileSpec("/proc/pressure/memory"),
        FileSpec("/proc/pressure/io"),
    )),
    Collector("network", "Addresses, routes, links, resolver and listening sockets", (
        CommandSpec(("ip", "-j", "addr"), "ip-addr.json"),
        CommandSpec(("ip", "-j", "route"), "ip-route.json"),
        CommandSpec(("ip", "-j", "-6", "route"), "ip-6-route.json"),
        CommandSpec(("ip", "-j", "link"), "ip-link.json"),
        CommandSpec(("ip", "-j", "neigh"), "ip-neigh.json"),
        FileSpec("/etc/resolv.conf"), FileSpec("/etc/hosts"), FileSpec("/etc/network/interfaces"),
        FileSpec("/etc/netplan/*.yaml"),
        CommandSpec(("ss", "-tulnp"), "ss-listening.txt",
                    fallback=ProducerSpec("listening-sockets.json", snapshots.listening_sockets,
                                          "psutil")),
    )),
    Collector("storage", "Block devices, mounts, space and SMART health", (
        CommandSpec(("lsblk", "-J", "-O"), "lsblk.json"),
        FileSpec("/proc/self/mounts"), FileSpec("/proc/partitions"), FileSpec("/proc/mdstat"),
        ProducerSpec("usage.json", snapshots.disk_usage, "psutil"),
    ), expand=_disks),
    Collector("services", "Failed and loaded systemd units", (
        _systemd(("systemctl", "--failed", "--no-pager", "--full"), "failed-units.txt"),
        _systemd(("systemctl", "list-units", "--all", "--no-pager", "--full"), "units.txt"),
    )),
    Collector("journal", "System journal and kernel log of the chosen window", (
        CommandSpec(("journalctl", "--no-pager", "-o", "short-iso-precise", "--since", SINCE,
                     "-n", str(JOURNAL_LINES)), "journal.txt", cap=FILE_CAP, timeout=60),
        CommandSpec(("journalctl", "--no-pager", "-k", "-o", "short-iso-precise", "--since",
                     SINCE), "kernel.txt", cap=FILE_CAP, timeout=60,
                    fallback=CommandSpec(("dmesg", "--time-format", "iso"), "dmesg.txt")),
        FileSpec("/var/log/syslog"), FileSpec("/var/log/messages"), FileSpec("/var/log/kern.log"),
    ), deadline=180.0),
    Collector("webui_log", "Log files of the web UI", expand=_webui_log),
    Collector("audit", "Audit log export of the web UI", expand=_supplied("audit")),
    Collector("diagnostic_history", "Diagnostic test runs", expand=_supplied("diagnostic_history")),
    Collector("copylogs", "Copy-log summaries and raw copy logs (each capped)", expand=_copylogs,
              deadline=600.0),
    Collector("firewall", "Firewall rules", (
        CommandSpec(("nft", "list", "ruleset"), "nft-ruleset.txt"),
        CommandSpec(("iptables-save",), "iptables-save.txt"),
        CommandSpec(("ip6tables-save",), "ip6tables-save.txt"),
    )),
)
COLLECTOR_IDS: tuple[str, ...] = tuple(c.id for c in COLLECTORS)
DEFAULT: frozenset[str] = frozenset(COLLECTOR_IDS)

