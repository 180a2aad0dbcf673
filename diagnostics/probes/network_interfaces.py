"""Physical network ports: present, link up, speed and duplex, error and drop counters."""

from __future__ import annotations

from diagnostics.host import Host
from diagnostics.readers.network import default_route_interface, interface, physical_interfaces
from diagnostics.requires import Requires
from diagnostics.result import Result, Status, Verdict
from diagnostics.settings import ProbeSettings

ID = "network_interfaces"
TITLE = "Network interfaces"
DESCRIPTION = "Physical network ports are present, have a link, and show few errors or drops."
REQUIRES = Requires(paths=("/sys/class/net",))

ERROR_RATIO = 0.001  # more than one bad frame in a thousand points at cabling or a port fault
DROP_RATIO = 0.01


def run(host: Host, settings: ProbeSettings) -> Result:
    """Check every physical interface's link and counters."""
    verdict = Verdict(ID, TITLE)
    names = physical_interfaces(host)
    if not names:
        virtual = host.listdir("/sys/class/net")
        return verdict.not_applicable(
            "No physical network interfaces: this system only has virtual ones "
            "(a container or a virtual machine without passed-through ports)",
            {"virtual_interfaces": virtual})
    management = settings.management_interface or default_route_interface(host)
    interfaces = [interface(host, name) for name in names]
    for nic in interfaces:
        name = nic["name"]
        if not nic["enabled"]:
            continue
        if not nic["carrier"]:
            if name == management:
                verdict.problem(Status.UNHEALTHY, f"{name} (management) has no link",
                                f"Check the cable and the switch port of {name}.")
            else:
                verdict.problem(Status.WARNING, f"{name} has no link",
                                f"Check the cable and the switch port of {name}, or disable "
                                "the port if it is unused.")
            continue
        if nic["duplex"] == "half":
            verdict.problem(Status.WARNING, f"{name} runs at half duplex",
                            f"Set the switch port of {name} to auto-negotiation.")
        stats = nic["statistics"]
        packets = stats.get("rx_packets", 0) + stats.get("tx_packets", 0)
        errors = stats.get("rx_errors", 0) + stats.get("tx_errors", 0)
        dropped = stats.get("rx_dropped", 0) + stats.get("tx_dropped", 0)
        if packets and errors / packets > ERROR_RATIO:
            verdict.problem(Status.WARNING, f"{name} has {errors} errors in {packets} packets",
                            f"Replace the cable of {name} or try another switch port.")
        if packets and dropped / packets > DROP_RATIO:
            verdict.problem(Status.WARNING, f"{name} dropped {dropped} of {packets} packets",
                            f"Check the load and the receive buffers of {name}.")
    enabled = [n for n in interfaces if n["enabled"]]
    if enabled and not any(n["carrier"] for n in enabled):
        verdict.problem(Status.UNHEALTHY, "No network port has a link",
                        "Connect at least the management port to the network.")
    up = sum(1 for n in interfaces if n["carrier"])
    return verdict.result(f"{up} of {len(interfaces)} physical interfaces have a link",
                          {"management_interface": management, "interfaces": interfaces})
