"""Software updates: pending "restart required" reasons and a reachable update source."""

from __future__ import annotations

import os
import re
from urllib.parse import urlsplit

from diagnostics.host import Host
from diagnostics.net import concurrently, describe_error
from diagnostics.proxy import Proxy, applies
from diagnostics.readers.restart import restart_reasons
from diagnostics.requires import NOTHING
from diagnostics.result import Result, Status, Verdict
from diagnostics.settings import ProbeSettings, parse_endpoint

ID = "software_update_readiness"
TITLE = "Software update readiness"
DESCRIPTION = ("No restart is pending from earlier updates, and the update source is reachable "
               "when the device is connected.")
REQUIRES = NOTHING

APT_DEFAULTS = {"dir": "/", "dir::etc": "etc/apt/", "dir::etc::sourcelist": "sources.list",
                "dir::etc::sourceparts": "sources.list.d"}
APT_SETTING = re.compile(r'^\s*(Dir(?:::Etc(?:::sourcelist|::sourceparts)?)?)\s+"([^"]*)"\s*;',
                         re.IGNORECASE | re.MULTILINE)

SCHEME_PORTS = {"http": 80, "https": 443}


def update_endpoints(host: Host, settings: ProbeSettings) -> list[str]:
    """``host:port`` of the configured update endpoints, else of the apt sources."""
    if settings.update_endpoints:
        return list(settings.update_endpoints)
    source_list, source_parts = apt_source_paths(host)
    uris = []
    for name in host.listdir(source_parts):
        text = host.read_text(f"{source_parts}/{name}", 256 * 1024) or ""
        if name.endswith(".list"):
            uris += _list_uris(text)
        elif name.endswith(".sources"):
            uris += _deb822_uris(text)
    uris += _list_uris(host.read_text(source_list, 256 * 1024) or "")
    endpoints = []
    for uri in uris:
        parts = urlsplit(uri)
        if parts.scheme in SCHEME_PORTS and parts.hostname:
            endpoints.append(f"{parts.hostname}:{parts.port or SCHEME_PORTS[parts.scheme]}")
    return list(dict.fromkeys(endpoints))


def apt_source_paths(host: Host) -> tuple[str, str]:
    """Where apt reads its sources: ``/etc/apt/sources.list`` and ``sources.list.d``, unless the
    file named by ``APT_CONFIG`` (which apt itself honours on a live host) moves them."""
    values = dict(APT_DEFAULTS)
    config = os.environ.get("APT_CONFIG") if host.is_live else None
    if config:
        values |= {key.lower(): value
                   for key, value in APT_SETTING.findall(host.read_text(config, 64 * 1024) or "")}
    etc = os.path.join(values["dir"], values["dir::etc"])
    return (os.path.join(etc, values["dir::etc::sourcelist"]),
            os.path.join(etc, values["dir::etc::sourceparts"]))


def run(host: Host, settings: ProbeSettings) -> Result:
    """List restart reasons and, unless fully disconnected, try the update sources."""
    verdict = Verdict(ID, TITLE)
    reasons, details = restart_reasons(host)
    details["restart_required"] = reasons
    for reason in reasons:
        verdict.problem(Status.WARNING, f"Restart required: {reason}",
                        "Restart the device at a quiet time (Power > Restart) to finish the "
                        "update.")
    if settings.fully_disconnected:
        details["update_sources"] = "not checked: the device is fully disconnected"
        source_note = "update sources not checked (fully disconnected)"
    else:
        endpoints = update_endpoints(host, settings)
        checks = concurrently(lambda e: _reach(host, e, settings.network_timeout,
                                               settings.proxy), endpoints,
                              settings.network_timeout + 0.5)
        sources = [c or {"endpoint": e, "reachable": False, "error": "no answer in time"}
                   for e, c in zip(endpoints, checks, strict=True)]
        details["update_sources"] = sources
        unreachable = [s for s in sources if not s["reachable"]]
        if sources and len(unreachable) == len(sources):
            verdict.problem(Status.WARNING, "No update source is reachable ("
                            + "; ".join(f"{s['endpoint']}: {s['error']}" for s in unreachable[:3])
                            + ")",
                            "Check DNS, the gateway and the firewall or proxy towards the update "
                            "servers, or update from removable media.")
        source_note = (f"{len(sources) - len(unreachable)} of {len(sources)} update source(s) "
                       "reachable" if sources else "no network update source configured")
    return verdict.result(f"No restart pending; {source_note}", details)


def _reach(host: Host, endpoint: str, timeout: float, proxy: Proxy | None) -> dict:
    name, port = parse_endpoint(endpoint)
    check: dict = {"endpoint": endpoint}
    if applies(proxy, name):
        check["via_proxy"] = proxy.address
    try:
        host.tcp_connect(name, port, timeout, proxy)
    except OSError as exc:
        return {**check, "reachable": False, "error": describe_error(exc)}
    return {**check, "reachable": True}


def _list_uris(text: str) -> list[str]:
    uris = []
    for line in text.splitlines():
        line = re.sub(r"\[[^\]]*\]", " ", line.split("#", 1)[0])
        fields = line.split()
        if len(fields) >= 2 and fields[0] in ("deb", "deb-src"):
            uris.append(fields[1])
    return uris


def _deb822_uris(text: str) -> list[str]:
    uris = []
    for stanza in re.split(r"\n\s*\n", text):
        fields = {}
        for line in stanza.splitlines():
            key, sep, value = line.partition(":")
            if sep and not line.startswith((" ", "\t", "#")):
                fields[key.strip().lower()] = value.strip()
        if fields.get("enabled", "yes").lower() != "no":
            uris += fields.get("uris", "").split()
    return uris
