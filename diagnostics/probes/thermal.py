"""Temperature sensors (thermal zones and hwmon) against their high and critical thresholds."""

from __future__ import annotations

from diagnostics.host import Host
from diagnostics.readers.sensors import sensors
from diagnostics.requires import NOTHING
from diagnostics.result import Result, Status, Verdict
from diagnostics.settings import ProbeSettings

ID = "thermal"
TITLE = "Temperatures"
DESCRIPTION = "Every temperature sensor reads below its high and critical thresholds."
REQUIRES = NOTHING

COOLING_ACTION = ("Check the fans, clean the air intakes and make sure the room and rack are "
                  "cool enough.")


def run(host: Host, settings: ProbeSettings) -> Result:
    """Compare every sensor with its thresholds."""
    verdict = Verdict(ID, TITLE)
    found = sensors(host)
    if not found:
        return verdict.not_applicable("No temperature sensors are exposed (typical of a virtual "
                                      "machine or container)")
    for sensor in found:
        reading = f"{sensor['sensor']} at {sensor['celsius']:g} °C"
        if sensor["critical"] is not None and sensor["celsius"] >= sensor["critical"]:
            verdict.problem(Status.UNHEALTHY,
                            f"{reading} reached its critical limit {sensor['critical']:g} °C",
                            COOLING_ACTION)
        elif sensor["high"] is not None and sensor["celsius"] >= sensor["high"]:
            verdict.problem(Status.WARNING,
                            f"{reading} is above its high limit {sensor['high']:g} °C",
                            COOLING_ACTION)
    hottest = max(found, key=lambda s: s["celsius"])
    return verdict.result(f"{len(found)} sensor(s) within limits; hottest {hottest['sensor']} "
                          f"at {hottest['celsius']:g} °C", {"sensors": found})

