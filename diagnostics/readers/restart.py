"""Why the device needs a restart to finish updating: apt's flag and newer installed kernels."""

from __future__ import annotations

import re

from diagnostics.host import Host

KERNEL_IMAGE = re.compile(r"^(?:vmlinuz|vmlinux|Image)-(.+)$")
KERNEL_NUMBERS = re.compile(r"[\d.\-]*\d")


def kernel_key(version: str) -> tuple[int, ...]:
    """Order kernel versions naturally by their numbers: 6.1.0-10 after 6.1.0-9."""
    match = KERNEL_NUMBERS.match(version)
    return tuple(int(n) for n in re.findall(r"\d+", match.group(0))) if match else ()


def kernel_flavour(version: str) -> str:
    """What follows the numbers (``-amd64``, ``-rt-amd64``): only the same flavour replaces."""
    match = KERNEL_NUMBERS.match(version)
    return version[match.end():] if match else version


def restart_reasons(host: Host) -> tuple[list[str], dict]:
    """Why the device needs a restart to finish updating, with the facts behind it."""
    reasons = []
    facts: dict = {"running_kernel": host.read_value("/proc/sys/kernel/osrelease")}
    if host.exists("/run/reboot-required"):
        packages = (host.read_text("/run/reboot-required.pkgs", 64 * 1024) or "").split()
        facts["reboot_required_packages"] = sorted(set(packages))
        reasons.append("updates asked for a restart"
                       + (f" ({', '.join(sorted(set(packages))[:5])})" if packages else ""))
    installed = {m[1] for name in host.listdir("/boot") if (m := KERNEL_IMAGE.match(name))}
    installed |= {name for d in ("/lib/modules", "/usr/lib/modules")
                  for name in host.listdir(d) if host.exists(f"{d}/{name}/modules.dep")}
    facts["installed_kernels"] = sorted(installed, key=kernel_key)
    running = facts["running_kernel"]
    same_flavour = [k for k in installed
                    if running and kernel_flavour(k) == kernel_flavour(running)]
    if same_flavour:
        newest = max(same_flavour, key=kernel_key)
        if kernel_key(newest) > kernel_key(running):
            reasons.append(f"kernel {newest} is installed but {running} is running")
    return reasons, facts
