"""Processors: all present CPUs online, load within what the cores can carry, no throttling."""

from __future__ import annotations

from diagnostics.host import Host
from diagnostics.requires import NOTHING
from diagnostics.result import Result, Status, Verdict
from diagnostics.settings import ProbeSettings

ID = "cpus"
TITLE = "Processors"
DESCRIPTION = ("Every present CPU is online, the load suits the number of cores, and no CPU "
               "has been throttled for heat.")
REQUIRES = NOTHING

CPU_DIR = "/sys/devices/system/cpu"


def parse_cpu_list(text: str | None) -> set[int]:
    """Expand a kernel CPU list such as ``0-3,6,8-9``."""
    cpus: set[int] = set()
    for part in (text or "").strip().split(","):
        if not part:
            continue
        first, _, last = part.partition("-")
        cpus.update(range(int(first), int(last or first) + 1))
    return cpus


def run(host: Host, settings: ProbeSettings) -> Result:
    """Compare online with present CPUs, load with cores, and read throttle counters."""
    verdict = Verdict(ID, TITLE)
    present = parse_cpu_list(host.read_value(f"{CPU_DIR}/present"))
    online = parse_cpu_list(host.read_value(f"{CPU_DIR}/online"))
    if not present:
        return verdict.could_not_run(f"{CPU_DIR}/present cannot be read",
                                     "Check that /sys is mounted.")
    offline = sorted(present - online)
    if offline:
        verdict.problem(Status.WARNING,
                        f"{len(offline)} of {len(present)} CPUs are offline "
                        f"({', '.join(map(str, offline))})",
                        "Bring the CPUs online again, or check the firmware if they were "
                        "taken offline for errors.")
    loadavg = (host.read_value("/proc/loadavg") or "").split()
    load = [float(x) for x in loadavg[:3]] if len(loadavg) >= 3 else None
    cores = len(online) or len(present)
    if load and load[1] / cores > settings.load_warning_per_cpu:
        verdict.problem(Status.WARNING,
                        f"Load {load[1]:.1f} over 5 min is high for {cores} CPUs",
                        "Find what keeps the device busy (processes, copy jobs) and spread or "
                        "stop it.")
    throttled = {}
    for cpu in sorted(online):
        counts = {kind: host.read_int(f"{CPU_DIR}/cpu{cpu}/thermal_throttle/{kind}_throttle_count")
                  for kind in ("core", "package")}
        if any(counts.values()):
            throttled[f"cpu{cpu}"] = counts
    if throttled:
        verdict.problem(Status.WARNING,
                        f"{len(throttled)} CPU(s) were throttled because they ran too hot",
                        "Check the fans, air flow and room temperature of the device.")
    return verdict.result(
        f"{len(online)} of {len(present)} CPUs online"
        + (f", load {load[1]:.2f} over 5 min" if load else ""),
        {"present": sorted(present), "online": sorted(online), "offline": offline,
         "loadavg": load, "load_per_cpu": round(load[1] / cores, 2) if load else None,
         "thermal_throttle": throttled,
         "throttle_counters_available": host.exists(f"{CPU_DIR}/cpu0/thermal_throttle")})
