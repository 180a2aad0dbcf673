"""GPUs and accelerators on the PCI bus, each with a driver bound."""

from __future__ import annotations

from diagnostics.host import Host
from diagnostics.readers.pci import accelerators
from diagnostics.requires import Requires
from diagnostics.result import Result, Status, Verdict
from diagnostics.settings import ProbeSettings

ID = "compute_acceleration"
TITLE = "Compute acceleration"
DESCRIPTION = "GPUs and accelerators are detected on the PCI bus and have their driver loaded."
REQUIRES = Requires(paths=("/sys/bus/pci/devices",))


def run(host: Host, settings: ProbeSettings) -> Result:
    """List accelerators and flag any without a driver."""
    verdict = Verdict(ID, TITLE)
    found = accelerators(host)
    if not found:
        return verdict.not_applicable("No GPU or accelerator is installed on the PCI bus")
    for device in found:
        if device["driver"] is None:
            verdict.problem(Status.WARNING,
                            f"{device['vendor']} {device['kind']} at {device['address']} has no "
                            "driver loaded",
                            f"Install or load the driver for the {device['vendor']} device "
                            f"{device['vendor_id']}:{device['device_id']}.")
    described = ", ".join(f"{d['vendor']} {d['kind']} ({d['driver']})" for d in found)
    return verdict.result(f"{len(found)} device(s) with drivers: {described}",
                          {"devices": found})
