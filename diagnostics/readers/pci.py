"""GPUs and accelerators on the PCI bus, with their vendor and bound driver."""

from __future__ import annotations

from diagnostics.host import Host

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
