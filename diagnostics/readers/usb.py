"""USB devices as sysfs lists them, with vendor, product and speed."""

from __future__ import annotations

from diagnostics.host import Host

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
