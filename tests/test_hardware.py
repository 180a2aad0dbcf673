"""Hardware inventory on a canned host tree."""

from diagnostics import hardware
from diagnostics.readers import usb

from canned_host import canned


def test_inventory_of_the_canned_appliance(tmp_path):
    host = canned(tmp_path, "appliance")
    found = hardware.inventory(host)
    assert found["disks"], "the appliance tree has disks"
    assert all(d["size_bytes"] > 0 for d in found["disks"])
    assert {n["name"] for n in found["network_interfaces"]}
    assert all(not n["name"].startswith(("lo", "veth")) for n in found["network_interfaces"])


def test_usb_devices_skip_interfaces(tmp_path):
    host = canned(tmp_path, "appliance")
    base = host.path("/sys/bus/usb/devices")
    (base / "1-1").mkdir(parents=True)
    (base / "1-1" / "idVendor").write_text("0781\n")
    (base / "1-1" / "idProduct").write_text("5583\n")
    (base / "1-1" / "manufacturer").write_text("SanDisk\n")
    (base / "1-1" / "product").write_text("Ultra Fit\n")
    (base / "1-1" / "speed").write_text("5000\n")
    (base / "1-1:1.0").mkdir()
    devices = usb.usb_devices(host)
    assert devices == [{"bus_path": "1-1", "vendor_id": "0781", "product_id": "5583",
                        "manufacturer": "SanDisk", "product": "Ultra Fit", "speed_mbps": "5000",
                        "hub": False}]


def test_inventory_of_an_empty_container(tmp_path):
    found = hardware.inventory(canned(tmp_path, "container"))
    assert found["usb_devices"] == [] and found["accelerators"] == []
