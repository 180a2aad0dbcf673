"""The cloud endpoints resolve in DNS and accept a TCP connection on their port (443)."""

from __future__ import annotations

import time

from diagnostics.host import Host
from diagnostics.net import concurrently, describe_error
from diagnostics.proxy import Proxy, applies
from diagnostics.requires import NOTHING
from diagnostics.result import Result, Status, Verdict
from diagnostics.settings import ProbeSettings, parse_endpoint

ID = "internet_connectivity"
TITLE = "Internet connectivity"
DESCRIPTION = ("The configured cloud endpoints resolve in DNS and accept a TCP connection on "
               "port 443, through the web proxy when one is set.")
REQUIRES = NOTHING


def run(host: Host, settings: ProbeSettings) -> Result:
    """Resolve and connect to every cloud endpoint at once, each within the network timeout."""
    verdict = Verdict(ID, TITLE)
    if settings.fully_disconnected:
        return verdict.not_applicable(
            "The device is fully disconnected: it does not use the internet",
            {"connectivity_mode": settings.connectivity_mode})
    if not settings.cloud_endpoints:
        return verdict.not_applicable("No cloud endpoints are configured")
    checks = concurrently(lambda e: check_endpoint(host, e, settings.network_timeout,
                                                   settings.proxy),
                          settings.cloud_endpoints, settings.network_timeout + 0.5)
    endpoints = [c or {"endpoint": e, "reachable": False, "error": "no answer in time"}
                 for e, c in zip(settings.cloud_endpoints, checks, strict=True)]
    failed = [e for e in endpoints if not e["reachable"]]
    for endpoint in failed:
        status = Status.UNHEALTHY if len(failed) == len(endpoints) else Status.WARNING
        verdict.problem(status, f"{endpoint['endpoint']}: {endpoint['error']}",
                        "Check the DNS servers, the gateway and any firewall or proxy between "
                        "the device and the internet (outbound TCP 443 must be allowed).")
    details = {"connectivity_mode": settings.connectivity_mode, "endpoints": endpoints}
    if settings.proxy is not None:
        details["proxy"] = settings.proxy.address
    return verdict.result(f"All {len(endpoints)} cloud endpoint(s) reachable", details)


def check_endpoint(host: Host, endpoint: str, timeout: float, proxy: Proxy | None = None) -> dict:
    """Resolve then connect to ``host:port``; report addresses, time taken or the failure.

    Through a web proxy the proxy resolves the name, so only the tunnel is tried."""
    name, port = parse_endpoint(endpoint)
    check: dict = {"endpoint": endpoint, "reachable": False}
    deadline = time.monotonic() + timeout
    if applies(proxy, name):
        check["via_proxy"] = proxy.address
    else:
        try:
            check["addresses"] = host.resolve(name, timeout)
        except OSError as exc:
            return {**check, "error": f"DNS: {describe_error(exc)}"}
    start = time.monotonic()
    try:
        # DNS and TCP share one timeout, so a slow resolver leaves less time to connect.
        host.tcp_connect(name, port, max(0.1, deadline - start), proxy)
    except OSError as exc:
        return {**check, "error": f"TCP {port}: {describe_error(exc)}"}
    return {**check, "reachable": True, "connect_ms": round((time.monotonic() - start) * 1000)}
