"""Hardware inventory for the Hardware page: disks, network ports, USB devices, accelerators,
power supplies and temperature sensors, from udev where it answers and sysfs otherwise."""

from __future__ import annotations

from diagnostics.host import Host
from diagnostics.readers import disks, network, pci, power, sensors, usb


def inventory(host: Host | None = None) -> dict[str, list[dict]]:
    """Every hardware list the Hardware page shows; an empty list means none is visible."""
    host = host or Host()
    return {
        "disks": disks.inventory(host),
        "network_interfaces": [network.interface(host, name)
                               for name in network.physical_interfaces(host)],
        "usb_devices": usb.usb_devices(host),
        "accelerators": pci.accelerators(host),
        "power_supplies": power.power_supplies(host),
        "temperature_sensors": sensors.sensors(host),
    }
