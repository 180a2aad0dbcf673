"""The diagnostic tests, one module each, in the order the catalogue shows them.

Every module declares ``ID``, ``TITLE``, ``DESCRIPTION``, ``REQUIRES`` (a
:class:`~diagnostics.requires.Requires` the runner checks first) and
``run(host, settings) -> Result``.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
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


class UnknownTests(ValueError):
    """Some requested ids name no diagnostic test; ``ids`` lists them."""

    def __init__(self, ids: list[str]):
        super().__init__(f"unknown diagnostic test: {', '.join(ids)}")
        self.ids = ids


def load(ids: Sequence[str] | None = None) -> list[ModuleType]:
    """The probe modules for ``ids`` (all when None) in catalogue order.

    Raises :class:`UnknownTests` naming the unknown ids.
    """
    wanted = set(PROBE_IDS if ids is None else ids)
    unknown = sorted(wanted - set(PROBE_IDS))
    if unknown:
        raise UnknownTests(unknown)
    return [importlib.import_module(f"diagnostics.probes.{i}") for i in PROBE_IDS if i in wanted]
