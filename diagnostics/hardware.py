"""Hardware inventory for the Hardware page: disks, network ports, USB devices, accelerators,
power supplies and temperature sensors, from udev where it answers and sysfs otherwise."""

from __future__ import annotations

from diagnostics.host import Host
from diagnostics.probes import (
    compute_acceleration,
    disks,
    network_interfaces,
    power_supplies,
    thermal,
)

USB_DIR = "/sys/bus/usb/devices"


def usb_devices(host: Host) -> list[dict]:
    """USB devices (not their interfaces, not the root hubs' interfaces) with vendor and speed."""
    found = []
    for name in host.listdir(USB_DIR):
        if ":" in name:
            continue  # an interface of a device, not a device
        base = f"{USB_DIR}/{name}"
        vendor_id = host.read_value(f"{base}/idVendor")
        if vendor_id is None:
            continue
        found.append({
            "bus_path": name,
            "vendor_id": vendor_id,
            "product_id": host.read_value(f"{base}/idProduct"),
            "manufacturer": host.read_value(f"{base}/manufacturer"),
            "product": host.read_value(f"{base}/product"),
            "speed_mbps": host.read_value(f"{base}/speed"),
            "hub": host.read_value(f"{base}/bDeviceClass") == "09",
        })
    return found


def inventory(host: Host | None = None) -> dict[str, list[dict]]:
    """Every hardware list the Hardware page shows; an empty list means none is visible."""
    host = host or Host()
    return {
        "disks": disks.inventory(host),
        "network_interfaces": [network_interfaces.interface(host, name)
                               for name in network_interfaces.physical_interfaces(host)],
        "usb_devices": usb_devices(host),
        "accelerators": compute_acceleration.accelerators(host),
        "power_supplies": power_supplies.sysfs_supplies(host),
        "temperature_sensors": thermal.sensors(host),
    }
