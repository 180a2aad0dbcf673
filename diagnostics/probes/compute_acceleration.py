"""GPUs and accelerators on the PCI bus, each with a driver bound."""

from __future__ import annotations

from diagnostics.host import Host
from diagnostics.result import Result, Status, Verdict
from diagnostics.settings import ProbeSettings

ID = "compute_acceleration"
TITLE = "Compute acceleration"
DESCRIPTION = "GPUs and accelerators are detected on the PCI bus and have their driver loaded."
NEEDS = ("/sys/bus/pci/devices",)

PCI_DIR = "/sys/bus/pci/devices"
# PCI base classes: 0x03 display controllers (GPUs), 0x12 processing accelerators;
# 0x0b40 is a co-processor.
ACCELERATOR_CLASSES = {"03": "display controller", "12": "processing accelerator",
                       "0b40": "co-processor"}
VENDORS = {"10de": "NVIDIA", "1002": "AMD", "8086": "Intel", "1a03": "ASPEED",
           "102b": "Matrox", "1234": "QEMU", "1af4": "virtio", "1b36": "QEMU", "15ad": "VMware",
           "1d0f": "Amazon", "1e52": "Tenstorrent", "1fc9": "Tehuti", "177d": "Cavium",
           "1ded": "Alibaba", "19e5": "Huawei", "1bd4": "Inspur", "1e3e": "Iluvatar"}


def accelerators(host: Host) -> list[dict]:
    """PCI devices whose class is a display controller, accelerator or co-processor."""
    found = []
    for address in host.listdir(PCI_DIR):
        base = f"{PCI_DIR}/{address}"
        pci_class = (host.read_value(f"{base}/class") or "").removeprefix("0x").lower()
        kind = ACCELERATOR_CLASSES.get(pci_class[:2]) or ACCELERATOR_CLASSES.get(pci_class[:4])
        if kind is None:
            continue
        vendor = (host.read_value(f"{base}/vendor") or "").removeprefix("0x").lower()
        device = (host.read_value(f"{base}/device") or "").removeprefix("0x").lower()
        found.append({"address": address, "kind": kind, "class": f"0x{pci_class}",
                      "vendor_id": vendor, "device_id": device,
                      "vendor": VENDORS.get(vendor, f"vendor {vendor}"),
                      "driver": host.readlink(f"{base}/driver")})
    return found


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
