"""Temperature sensors: thermal zones and hwmon chips, each with its high and critical limits."""

from __future__ import annotations

import re

from diagnostics.host import Host

TEMP_INPUT = re.compile(r"^temp(\d+)_input$")


def sensors(host: Host) -> list[dict]:
    """Every readable sensor in °C with its ``high`` and ``critical`` limits (None when unset)."""
    found = []
    for zone in host.listdir("/sys/class/thermal"):
        if not zone.startswith("thermal_zone"):
            continue
        base = f"/sys/class/thermal/{zone}"
        temp = host.read_int(f"{base}/temp")
        if temp is None:
            continue
        trips: dict[str, float] = {}
        for entry in host.listdir(base):
            if entry.startswith("trip_point_") and entry.endswith("_type"):
                kind = host.read_value(f"{base}/{entry}")
                value = host.read_int(f"{base}/{entry[:-5]}_temp")
                if kind and value is not None and value > 0:
                    trips[kind] = min(trips.get(kind, value), value) / 1000
        found.append({"sensor": f"{zone} ({host.read_value(f'{base}/type') or 'unknown'})",
                      "celsius": temp / 1000,
                      "high": trips.get("hot") or trips.get("passive"),
                      "critical": trips.get("critical")})
    for hwmon in host.listdir("/sys/class/hwmon"):
        base = f"/sys/class/hwmon/{hwmon}"
        chip = host.read_value(f"{base}/name") or hwmon
        for entry in host.listdir(base):
            match = TEMP_INPUT.match(entry)
            if not match:
                continue
            prefix = f"{base}/temp{match[1]}"
            temp = host.read_int(f"{prefix}_input")
            if temp is None:
                continue
            label = host.read_value(f"{prefix}_label") or f"temp{match[1]}"
            found.append({"sensor": f"{chip} {label}", "celsius": temp / 1000,
                          "high": _milli(host.read_int(f"{prefix}_max")),
                          "critical": _milli(host.read_int(f"{prefix}_crit"))})
    return found


def _milli(value: int | None) -> float | None:
    return value / 1000 if value else None
