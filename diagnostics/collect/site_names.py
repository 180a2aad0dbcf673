"""The names of the site found on the host, for obfuscation: host names and people's accounts."""

from __future__ import annotations

from diagnostics.host import Host

_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback",
                "ip6-allnodes", "ip6-allrouters", "ip6-localnet", "ip6-mcastprefix"}


def host_names(host: Host) -> set[str]:
    """The host's own names and those of its ``/etc/hosts``, without the loopback ones."""
    names = {host.read_value("/proc/sys/kernel/hostname") or "",
             host.read_value("/etc/hostname") or ""}
    for line in (host.read_text("/etc/hosts") or "").splitlines():
        names.update(line.split("#", 1)[0].split()[1:])
    return {n for n in names if n and n.lower() not in _LOCAL_NAMES}


def user_names(host: Host) -> set[str]:
    """Accounts of people (uid 1000 and up); system accounts say nothing about the site."""
    names = set()
    for line in (host.read_text("/etc/passwd") or "").splitlines():
        fields = line.split(":")
        if len(fields) > 2 and fields[2].isdigit() and 1000 <= int(fields[2]) < 65534:
            names.add(fields[0])
    return names
