"""Memory: available memory, swap pressure, EDAC corrected and uncorrected error counters."""

from __future__ import annotations

from diagnostics.host import Host
from diagnostics.requires import NOTHING
from diagnostics.result import Result, Status, Verdict
from diagnostics.settings import ProbeSettings

ID = "memory"
TITLE = "Memory"
DESCRIPTION = ("Enough memory is available, swap is not under pressure, and the memory "
               "controllers (EDAC) report no corrected or uncorrected errors.")
REQUIRES = NOTHING

EDAC_DIR = "/sys/devices/system/edac/mc"
SWAP_USED_WARNING = 80.0  # percent
PRESSURE_WARNING = 10.0  # percent of the last minute some task waited for memory


def meminfo(host: Host) -> dict[str, int]:
    """``/proc/meminfo`` as bytes per field."""
    values = {}
    for line in (host.read_text("/proc/meminfo", 64 * 1024) or "").splitlines():
        key, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            values[key] = int(parts[0]) * (1024 if parts[1:] == ["kB"] else 1)
    return values


def run(host: Host, settings: ProbeSettings) -> Result:
    """Check available memory, swap and pressure, and EDAC counters."""
    verdict = Verdict(ID, TITLE)
    info = meminfo(host)
    total = info.get("MemTotal")
    if not total:
        return verdict.could_not_run("/proc/meminfo cannot be read", "Check that /proc is mounted.")
    available = info.get("MemAvailable", info.get("MemFree", 0))
    available_percent = round(100 * available / total, 1)
    details: dict = {"total_bytes": total, "available_bytes": available,
                     "available_percent": available_percent,
                     "swap_total_bytes": info.get("SwapTotal", 0),
                     "swap_free_bytes": info.get("SwapFree", 0)}
    action = "Find the processes using the most memory and reduce their load, or add memory."
    if available_percent < settings.memory_unhealthy_percent:
        verdict.problem(Status.UNHEALTHY, f"Only {available_percent:g} % of memory is available",
                        action)
    elif available_percent < settings.memory_warning_percent:
        verdict.problem(Status.WARNING, f"Only {available_percent:g} % of memory is available",
                        action)
    swap_total = info.get("SwapTotal", 0)
    if swap_total:
        swap_used = round(100 * (swap_total - info.get("SwapFree", 0)) / swap_total, 1)
        details["swap_used_percent"] = swap_used
        if swap_used > SWAP_USED_WARNING:
            verdict.problem(Status.WARNING, f"Swap is {swap_used:g} % used", action)
    pressure = _pressure(host)
    details["pressure_some_avg60"] = pressure
    if pressure is not None and pressure > PRESSURE_WARNING:
        verdict.problem(Status.WARNING,
                        f"Tasks waited for memory {pressure:g} % of the last minute", action)

    controllers = _edac(host)
    details["edac"] = controllers if controllers else "not available"
    corrected = sum(c["ce_count"] for c in controllers)
    uncorrected = sum(c["ue_count"] for c in controllers)
    if uncorrected:
        verdict.problem(Status.UNHEALTHY, f"{uncorrected} uncorrected memory error(s)",
                        "Replace the failing memory module (the EDAC details name the "
                        "controller); uncorrected errors can corrupt data.")
    if corrected:
        verdict.problem(Status.WARNING, f"{corrected} corrected memory error(s)",
                        "Plan to replace the memory module that reports corrected errors.")
    edac_note = (f"; {len(controllers)} memory controller(s) without errors" if controllers
                 else "; no EDAC error counters on this system")
    return verdict.result(f"{available_percent:g} % of {total / 2**30:.1f} GiB available"
                          + edac_note, details)


def _pressure(host: Host) -> float | None:
    for line in (host.read_text("/proc/pressure/memory", 4096) or "").splitlines():
        if line.startswith("some "):
            fields = dict(f.split("=", 1) for f in line.split()[1:] if "=" in f)
            try:
                return float(fields["avg60"])
            except (KeyError, ValueError):
                return None
    return None


def _edac(host: Host) -> list[dict]:
    controllers = []
    for name in host.listdir(EDAC_DIR):
        if not name.startswith("mc") or not name[2:].isdigit():
            continue
        base = f"{EDAC_DIR}/{name}"
        controllers.append({"controller": name, "type": host.read_value(f"{base}/mc_name"),
                            "size_mb": host.read_int(f"{base}/size_mb"),
                            "ce_count": host.read_int(f"{base}/ce_count") or 0,
                            "ue_count": host.read_int(f"{base}/ue_count") or 0})
    return controllers
