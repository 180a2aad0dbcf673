"""Power supplies the kernel knows: mains adapters, UPS and batteries with their state."""

from __future__ import annotations

from diagnostics.host import Host


def power_supplies(host: Host) -> list[dict]:
    """Power supplies the kernel knows (mains adapters, UPS and batteries) with their state."""
    return [_supply(host, name) for name in host.listdir("/sys/class/power_supply")]


def _supply(host: Host, name: str) -> dict:
    base = f"/sys/class/power_supply/{name}"
    online = host.read_value(f"{base}/online")
    return {"name": name, "type": host.read_value(f"{base}/type"),
            "online": None if online is None else online == "1",
            "status": host.read_value(f"{base}/status"),
            "health": host.read_value(f"{base}/health"),
            "capacity_percent": host.read_int(f"{base}/capacity")}
