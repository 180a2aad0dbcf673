"""Network ports, default routes and name servers, from sysfs, procfs and resolv.conf."""

from __future__ import annotations

import ipaddress
import socket
import struct

from diagnostics.host import Host

IFF_UP = 0x1
RTF_UP, RTF_GATEWAY = 0x1, 0x2
COUNTERS = ("rx_packets", "tx_packets", "rx_errors", "tx_errors", "rx_dropped", "tx_dropped")
RESOLVED_STUB = "127.0.0.53"


def physical_interfaces(host: Host) -> list[str]:
    """Interfaces backed by hardware: sysfs gives them a ``device`` link; lo, veth, bridges none."""
    return [name for name in host.listdir("/sys/class/net")
            if host.exists(f"/sys/class/net/{name}/device")
            and not host.exists(f"/sys/class/net/{name}/bridge")]


def interface(host: Host, name: str) -> dict:
    """One network port: address, driver, link, speed, duplex and counters."""
    base = f"/sys/class/net/{name}"
    flags = host.read_value(f"{base}/flags")
    speed = host.read_int(f"{base}/speed")
    return {
        "name": name,
        "mac": host.read_value(f"{base}/address"),
        "driver": host.readlink(f"{base}/device/driver"),
        "enabled": bool(int(flags, 16) & IFF_UP) if flags else True,
        "operstate": host.read_value(f"{base}/operstate"),
        # Reading carrier of a port that is down fails with EINVAL: no link either way.
        "carrier": host.read_value(f"{base}/carrier") == "1",
        "speed_mbps": speed if speed is not None and speed > 0 else None,
        "duplex": host.read_value(f"{base}/duplex"),
        "mtu": host.read_int(f"{base}/mtu"),
        "statistics": {c: host.read_int(f"{base}/statistics/{c}") or 0 for c in COUNTERS},
    }


def default_routes(host: Host) -> list[dict]:
    """Default routes of IPv4 and IPv6 as ``{interface, gateway, family, metric}``."""
    routes = []
    for line in (host.read_text("/proc/net/route", 256 * 1024) or "").splitlines()[1:]:
        fields = line.split()
        if len(fields) < 8 or fields[1] != "00000000" or fields[7] != "00000000":
            continue
        flags = int(fields[3], 16)
        if flags & RTF_UP:
            gateway = socket.inet_ntoa(struct.pack("<I", int(fields[2], 16)))
            routes.append({"interface": fields[0], "family": "ipv4", "metric": int(fields[6]),
                           "gateway": gateway if flags & RTF_GATEWAY else None})
    for line in (host.read_text("/proc/net/ipv6_route", 256 * 1024) or "").splitlines():
        fields = line.split()
        if len(fields) < 10 or fields[0] != "0" * 32 or fields[1] != "00" or fields[9] == "lo":
            continue
        gateway = str(ipaddress.IPv6Address(bytes.fromhex(fields[4])))
        routes.append({"interface": fields[9], "family": "ipv6", "metric": int(fields[5], 16),
                       "gateway": None if gateway == "::" else gateway})
    return sorted(routes, key=lambda r: (r["family"], r["metric"]))


def default_route_interface(host: Host) -> str | None:
    """The interface the preferred default route leaves through, if there is one."""
    routes = default_routes(host)
    return routes[0]["interface"] if routes else None


def dns_servers(host: Host) -> list[str]:
    """Name servers of resolv.conf; behind systemd-resolved's stub, its upstream servers."""
    servers = _nameservers(host.read_text("/etc/resolv.conf", 64 * 1024) or "")
    if servers == [RESOLVED_STUB]:
        servers = _nameservers(host.read_text("/run/systemd/resolve/resolv.conf", 64 * 1024)
                               or "") or servers
    return servers


def _nameservers(text: str) -> list[str]:
    servers = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[0] == "nameserver":
            servers.append(fields[1])
    return servers
