"""Physical disks: model, serial, size, transport, I/O counters, encryption and SMART."""

from __future__ import annotations

import json
import re

from diagnostics.host import Device, Host

NOT_DISKS = re.compile(r"^(loop|ram|zram|dm-|md|sr|fd|nbd|drbd)")
# ATA attributes whose raw value counts sectors the disk could not read or had to move.
BAD_SECTOR_ATTRIBUTES = {5: "reallocated sectors", 197: "pending sectors",
                         198: "offline uncorrectable sectors"}
SMART_FAILING_BIT = 0x08
SMART_TIMEOUT = 5.0


def inventory(host: Host, block: list[Device] | None = None) -> list[dict]:
    """Physical disks (no partitions, loop, RAM or device-mapper devices) with their facts."""
    block = host.devices("block") if block is None else block
    devices = [d for d in block
               if d.devtype in (None, "disk") and not NOT_DISKS.match(d.sys_name)
               and not host.exists(f"/sys/class/block/{d.sys_name}/partition")]
    encrypted = encrypted_volumes(host)
    return [_disk(host, d, encrypted) for d in devices]


def _disk(host: Host, device: Device, encrypted: list[dict]) -> dict:
    base = f"/sys/class/block/{device.sys_name}"
    props = device.properties
    sectors = host.read_int(f"{base}/size") or 0
    ioerr = host.read_value(f"{base}/device/ioerr_cnt")
    stat = (host.read_value(f"{base}/stat") or "").split()
    return {
        "name": device.sys_name,
        "model": props.get("ID_MODEL") or host.read_value(f"{base}/device/model"),
        "serial": props.get("ID_SERIAL_SHORT") or host.read_value(f"{base}/device/serial"),
        "wwn": props.get("ID_WWN") or host.read_value(f"{base}/device/wwid"),
        "size_bytes": sectors * 512,
        "rotational": host.read_value(f"{base}/queue/rotational") == "1",
        "transport": _transport(device),
        "driver": device.driver,
        "io_errors": int(ioerr, 16) if ioerr and ioerr.startswith("0x") else None,
        "reads_completed": int(stat[0]) if len(stat) > 4 else None,
        "writes_completed": int(stat[4]) if len(stat) > 4 else None,
        "encrypted": [v["name"] for v in encrypted
                      if any(s.startswith(device.sys_name) for s in v["backing_devices"])],
    }


def _transport(device: Device) -> str | None:
    bus = device.properties.get("ID_BUS")
    if bus:
        return bus
    for marker, transport in (("/nvme", "nvme"), ("/usb", "usb"), ("/ata", "ata"),
                              ("/virtio", "virtio"), ("/mmc", "mmc"), ("/host", "scsi")):
        if marker in device.sys_path:
            return transport
    return None


def encrypted_volumes(host: Host) -> list[dict]:
    """Open dm-crypt mappings: device-mapper uuids start with CRYPT- (CRYPT-LUKS2-… for LUKS)."""
    volumes = []
    for name in host.listdir("/sys/block"):
        uuid = host.read_value(f"/sys/block/{name}/dm/uuid") or ""
        if uuid.startswith("CRYPT-"):
            volumes.append({"name": host.read_value(f"/sys/block/{name}/dm/name") or name,
                            "device": name, "type": uuid.split("-")[1].lower(),
                            "backing_devices": host.listdir(f"/sys/block/{name}/slaves")})
    return volumes


def smart_report(host: Host, name: str) -> dict:
    """What ``smartctl -j`` says of one disk: overall verdict, bad-sector and media counts."""
    result = host.run(["smartctl", "-j", "-H", "-A", f"/dev/{name}"], timeout=SMART_TIMEOUT,
                      limit=512 * 1024)
    try:
        report = json.loads(result.stdout) if result.stdout else {}
    except json.JSONDecodeError:
        report = {}
    messages = [m.get("string", "") for m in report.get("smartctl", {}).get("messages", [])]
    smart: dict = {"exit_status": result.returncode, "passed": None,
                   "messages": messages[:5] or ([result.error] if result.error else [])}
    if "smart_status" in report:
        smart["passed"] = bool(report["smart_status"].get("passed"))
    elif result.returncode is not None and result.returncode & SMART_FAILING_BIT:
        smart["passed"] = False
    counts = {}
    for attribute in report.get("ata_smart_attributes", {}).get("table", []):
        what = BAD_SECTOR_ATTRIBUTES.get(attribute.get("id"))
        if what:
            counts[what] = attribute.get("raw", {}).get("value", 0)
    nvme = report.get("nvme_smart_health_information_log", {})
    if nvme:
        counts["media errors"] = nvme.get("media_errors", 0)
        smart["critical_warning"] = nvme.get("critical_warning", 0)
    smart["bad_sector_counts"] = counts
    return smart
