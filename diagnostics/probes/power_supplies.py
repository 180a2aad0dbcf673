"""Power supplies, UPS and batteries as sysfs and the BMC (IPMI) report them."""

from __future__ import annotations

from diagnostics.host import Host
from diagnostics.readers.power import power_supplies
from diagnostics.requires import NOTHING
from diagnostics.result import Result, Status, Verdict
from diagnostics.settings import ProbeSettings

ID = "power_supplies"
TITLE = "Power supplies"
DESCRIPTION = "Power supplies, UPS and batteries report power present and good health."
REQUIRES = NOTHING

BAD_HEALTH = {"Dead", "Over voltage", "Overvoltage", "Unspecified failure", "Overheat",
              "Watchdog timer expire", "Safety timer expire", "Over current", "Cold", "Hot"}
LOW_BATTERY_PERCENT = 10
IPMI_FAILURE_WORDS = ("failure detected", "ac lost", "predictive failure", "config error",
                      "input lost")
REPLACE_ACTION = "Check the power cabling of {name}, and replace the unit if it stays failed."


def run(host: Host, settings: ProbeSettings) -> Result:
    """Read every power supply from sysfs, and from the BMC when ipmitool is installed."""
    verdict = Verdict(ID, TITLE)
    supplies = power_supplies(host)
    ipmi, ipmi_note = _ipmi_supplies(host)
    details = {"sysfs": supplies, "ipmi": ipmi if ipmi_note is None else ipmi_note}
    if not supplies and not ipmi:
        return verdict.not_applicable(
            "No power supply is reported by sysfs or IPMI (typical of a virtual machine)",
            details)
    mains = [s for s in supplies if s["type"] in ("Mains", "USB")]
    on_mains = any(s["online"] for s in mains) if mains else None
    for supply in supplies:
        name = supply["name"]
        if supply["health"] in BAD_HEALTH:
            verdict.problem(Status.UNHEALTHY, f"{name} health is {supply['health']}",
                            REPLACE_ACTION.format(name=name))
        # Without a mains entry in sysfs, a discharging UPS is the sign of lost power.
        on_battery = on_mains is False or (on_mains is None and supply["status"] == "Discharging")
        if supply["type"] in ("Battery", "UPS") and on_battery:
            capacity = supply["capacity_percent"]
            status = (Status.UNHEALTHY if capacity is not None and capacity < LOW_BATTERY_PERCENT
                      else Status.WARNING)
            verdict.problem(status, f"Running on {name}"
                            + (f" at {capacity} %" if capacity is not None else ""),
                            "Restore mains power, or shut the device down before the battery "
                            "runs out.")
    if on_mains is False and not any(s["type"] in ("Battery", "UPS") for s in supplies):
        verdict.problem(Status.WARNING, "No mains supply reports power",
                        "Check the power cables.")
    for sensor in ipmi:
        if sensor["failed"]:
            verdict.problem(Status.UNHEALTHY, f"{sensor['name']}: {sensor['state']}",
                            REPLACE_ACTION.format(name=sensor["name"]))
    count = len(supplies) + len(ipmi)
    return verdict.result(f"{count} power supply reading(s), all good", details)


def _ipmi_supplies(host: Host) -> tuple[list[dict], str | None]:
    """Power-supply sensors of the BMC; the note says why there are none to read."""
    if host.which("ipmitool") is None:
        return [], "ipmitool is not installed"
    if not host.exists("/dev/ipmi0") and not host.exists("/dev/ipmi/0"):
        return [], "no BMC device (/dev/ipmi0)"
    result = host.run(["ipmitool", "sdr", "type", "Power Supply"], timeout=5, limit=256 * 1024)
    if not result.ok:
        return [], f"ipmitool failed: {(result.error or result.stderr).strip()[:200]}"
    sensors = []
    for line in result.stdout.splitlines():
        fields = [f.strip() for f in line.split("|")]
        if len(fields) < 5:
            continue
        state = fields[4] or fields[2]
        sensors.append({"name": fields[0], "status": fields[2], "state": state,
                        "failed": fields[2] in ("cr", "nr")
                        or any(w in state.lower() for w in IPMI_FAILURE_WORDS)})
    return sensors, None
