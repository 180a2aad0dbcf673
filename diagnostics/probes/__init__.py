"""The diagnostic tests, one module each, in the order the catalogue shows them.

Every module declares ``ID``, ``TITLE``, ``DESCRIPTION``, ``NEEDS`` (what it reads or runs) and
``run(host, settings) -> Result``.
"""

from __future__ import annotations

import importlib
from types import ModuleType

PROBE_IDS = (
    "network_interfaces",
    "network_settings",
    "internet_connectivity",
    "time_sync",
    "disks",
    "storage",
    "cpus",
    "memory",
    "thermal",
    "power_supplies",
    "system_software",
    "certificates",
    "software_update_readiness",
    "compute_acceleration",
    "kernel_log",
    "webui_self",
)


def load(ids: list[str] | tuple[str, ...] | None = None) -> list[ModuleType]:
    """The probe modules for ``ids`` (all when None) in catalogue order.

    Raises ``ValueError`` naming the unknown ids.
    """
    wanted = set(PROBE_IDS if ids is None else ids)
    unknown = sorted(wanted - set(PROBE_IDS))
    if unknown:
        raise ValueError(f"unknown diagnostic test: {', '.join(unknown)}")
    return [importlib.import_module(f"diagnostics.probes.{i}") for i in PROBE_IDS if i in wanted]
