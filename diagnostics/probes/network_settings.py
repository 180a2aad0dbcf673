"""IP settings: an address on the management port, a default route, DNS servers, the gateway."""

from __future__ import annotations

import json
import socket

from diagnostics.host import Host
from diagnostics.net import concurrently
from diagnostics.readers.network import default_routes, dns_servers
from diagnostics.requires import NOTHING
from diagnostics.result import Result, Status, Verdict
from diagnostics.settings import ProbeSettings

ID = "network_settings"
TITLE = "Network settings"
DESCRIPTION = ("The management interface has an address, a default route and DNS servers are "
               "configured, and the gateway answers.")
REQUIRES = NOTHING

ATF_COM = 0x2
ANSWERING_STATES = {"REACHABLE", "STALE", "DELAY", "PROBE", "PERMANENT"}
GATEWAY_PORTS = (53, 80, 443)


def run(host: Host, settings: ProbeSettings) -> Result:
    """Check the management interface's address, routes, DNS and gateway."""
    verdict = Verdict(ID, TITLE)
    connected = not settings.fully_disconnected
    routes = default_routes(host)
    interface = settings.management_interface or (routes[0]["interface"] if routes else None)
    details: dict = {"management_interface": interface, "default_routes": routes}
    if interface is None:
        verdict.problem(Status.WARNING, "No management interface configured and no default route",
                        "Set the management interface in the settings or configure a default "
                        "route.")
        return verdict.result("", details)
    if not host.exists(f"/sys/class/net/{interface}"):
        verdict.problem(Status.UNHEALTHY, f"Management interface {interface} does not exist",
                        "Correct the management interface in the settings.")
        return verdict.result("", details)

    addresses, source = _addresses(host, interface)
    details.update(addresses=addresses, address_source=source)
    if source is None:
        details["addresses_error"] = "neither ip (iproute2) nor psutil could list addresses"
    elif not addresses:
        verdict.problem(Status.UNHEALTHY, f"{interface} has no IP address",
                        f"Configure a static address on {interface} or check the DHCP server.")

    if not routes and connected:
        verdict.problem(Status.WARNING, "No default route",
                        "Configure a gateway so the device can reach the cloud.")

    servers = dns_servers(host)
    details["dns_servers"] = servers
    if not servers and connected:
        verdict.problem(Status.WARNING, "No DNS servers configured",
                        "Configure at least one DNS server (DHCP or static).")

    neighbours = _neighbours(host)
    gateways = []
    # With a management port named, only its own gateways are asked (a lab box's other
    # ports may lead to routers that are none of the device's business).
    for route in routes:
        if settings.management_interface and route["interface"] != interface:
            continue
        if route["gateway"] is None or route["gateway"] in (g["address"] for g in gateways):
            continue
        gateways.append(_gateway_check(host, route, neighbours, settings.network_timeout))
    # One silent gateway of two (say IPv6 only) degrades; no answering gateway cuts the device off.
    silent_status = (Status.UNHEALTHY if connected and not any(g["answers"] for g in gateways)
                     else Status.WARNING)
    for gateway in gateways:
        if not gateway["answers"]:
            verdict.problem(silent_status, f"Gateway {gateway['address']} does not answer",
                            f"Check that the router {gateway['address']} is on and reachable "
                            f"from {gateway['interface']}.")
    details["gateways"] = gateways

    address_text = (", ".join(a["address"] for a in addresses) or "no address") if source \
        else "addresses not listed"
    route_text = f"gateway {routes[0]['gateway']}" if routes else "no default route"
    return verdict.result(
        f"{interface}: {address_text}; {route_text}; {len(servers)} DNS server(s)", details)


def _addresses(host: Host, interface: str) -> tuple[list[dict], str | None]:
    result = host.run(["ip", "-j", "addr", "show", "dev", interface], timeout=2,
                      limit=256 * 1024)
    if result.ok:
        try:
            links = json.loads(result.stdout or "[]")
        except json.JSONDecodeError:
            links = None
        if links is not None:
            return [{"address": a.get("local"), "prefix": a.get("prefixlen"),
                     "family": "ipv6" if a.get("family") == "inet6" else "ipv4"}
                    for link in links for a in link.get("addr_info", [])
                    if a.get("scope") != "link" and a.get("local")], "ip"
    if host.is_live:
        import psutil

        families = {socket.AF_INET: "ipv4", socket.AF_INET6: "ipv6"}
        return [{"address": a.address.split("%")[0], "prefix": None, "family": families[a.family]}
                for a in psutil.net_if_addrs().get(interface, [])
                if a.family in families and not a.address.startswith("fe80")], "psutil"
    return [], None


def _neighbours(host: Host) -> dict[str, str]:
    result = host.run(["ip", "-j", "neigh", "show"], timeout=2, limit=1 << 20)
    if result.ok:
        try:
            return {n["dst"]: (n.get("state") or ["UNKNOWN"])[0]
                    for n in json.loads(result.stdout or "[]") if "dst" in n}
        except (json.JSONDecodeError, TypeError, KeyError):
            pass
    neighbours = {}
    for line in (host.read_text("/proc/net/arp", 1 << 20) or "").splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 4:
            neighbours[fields[0]] = "REACHABLE" if int(fields[2], 16) & ATF_COM else "INCOMPLETE"
    return neighbours


def _gateway_check(host: Host, route: dict, neighbours: dict[str, str], timeout: float) -> dict:
    address = route["gateway"]
    state = neighbours.get(address)
    check = {"address": address, "interface": route["interface"], "neighbour_state": state}
    if state in ANSWERING_STATES:
        return {**check, "answers": True, "by": "neighbour table"}

    def knock(port: int) -> bool:
        try:
            host.tcp_connect(address, port, timeout)
        except ConnectionRefusedError:
            return True  # a refusal is still an answer from the router
        except OSError:
            return False
        return True

    answered = [p for p, ok in zip(GATEWAY_PORTS, concurrently(knock, GATEWAY_PORTS, timeout),
                                   strict=True) if ok]
    return {**check, "answers": bool(answered), "by": f"TCP port {answered[0]}" if answered
            else f"TCP ports {', '.join(map(str, GATEWAY_PORTS))} (no answer)"}
