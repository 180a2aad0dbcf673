"""The metric families of ``/metrics``, read fresh on each scrape from SQLite, the host and the
copy-log store, in the terms a fleet operator alerts on.

States are gauges (0/1 per label value for enumerations), moments are Unix timestamps in
seconds (alert on ``time() - x``), and label values come from closed sets: the test catalogue,
the connectivity modes, the power actions, the configured shares.
"""

from __future__ import annotations

import platform
import sqlite3
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import psutil
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily, Metric

import diagnostics
from diagnostics import Host, Status, system
from webui import instance, jobs
from webui.alerts import rules as alert_rules
from webui.connectivity.policy import MODES
from webui.connectivity.state import mode_state
from webui.copylogs.queries import CopyLogs, upload_errors
from webui.health import service as health
from webui.power.service import ACTIONS, restart_required, scheduled
from webui.troubleshooting.service import KIND as DIAGNOSTICS

# edge_device_health: the severity of the worst latest result (diagnostics.Status.severity).
NO_RESULTS = -1
HEALTH_HELP = ("Worst latest result over all tests: 0 healthy or not applicable, 1 warning, "
               "2 unhealthy or could not run, -1 no test has run yet; alert on >= 2")


def gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def one_of(name: str, documentation: str, label: str, values: Iterable[str],
           current: str | None) -> GaugeMetricFamily:
    """An enumeration: one sample per value, 1 for ``current`` and 0 for the others."""
    family = GaugeMetricFamily(name, documentation, labels=[label])
    for value in values:
        family.add_metric([value], 1 if value == current else 0)
    return family


class DeviceCollector:
    """A prometheus-client collector over one database connection, the app's settings, its
    copy logs and the live host."""

    def __init__(self, conn: sqlite3.Connection, config: Mapping[str, Any],
                 copy_logs: CopyLogs, now: float):
        self.conn, self.config, self.copy_logs, self.now = conn, config, copy_logs, now

    def collect(self) -> Iterator[Metric]:
        yield from self._identity()
        yield from self._resources()
        yield from self._diagnostics()
        yield from self._jobs()
        yield from self._connectivity()
        yield from self._power()
        yield from self._uploads()
        yield from self._certificate()
        yield from self._alerts()

    def _identity(self) -> Iterator[Metric]:
        ident = system.identity(Host())
        info = InfoMetricFamily("edge_webui", "Device and software identity")
        info.add_metric([], {"device": self.config["DEVICE_NAME"],
                             "version": self.config["VERSION"], "kernel": ident.kernel,
                             "os": ident.os_name, "boot_id": ident.boot_id or ""})
        yield info
        build = InfoMetricFamily("edge_webui_build", "The web UI's version and its Python")
        build.add_metric([], {"version": self.config["VERSION"],
                              "python": platform.python_version()})
        yield build
        yield gauge("edge_uptime_seconds", "Seconds since the device booted",
                    ident.uptime_seconds or 0)

    def _resources(self) -> Iterator[Metric]:
        yield gauge("edge_cpu_load1", "One-minute load average", psutil.getloadavg()[0])
        memory = psutil.virtual_memory()
        yield gauge("edge_memory_available_bytes", "Memory available", memory.available)
        yield gauge("edge_memory_total_bytes", "Memory installed", memory.total)
        disk = psutil.disk_usage(self.config["INSTANCE"])
        yield gauge("edge_instance_free_bytes", "Free space on the web UI's instance volume",
                    disk.free)
        yield gauge("edge_instance_size_bytes", "Size of the web UI's instance volume",
                    disk.total)

    def _diagnostics(self) -> Iterator[Metric]:
        latest = health.latest_results(self.conn)
        status = GaugeMetricFamily(
            "edge_diagnostic_test_status", "1 for the status of the test's latest result, 0 for "
            "the others; tests that never ran have no samples", labels=["test", "status"])
        last_run = GaugeMetricFamily(
            "edge_diagnostic_test_last_run_timestamp_seconds",
            "When the run holding the test's latest result finished (0: never ran)",
            labels=["test"])
        for test in diagnostics.catalogue():
            result = latest.get(test.id)
            last_run.add_metric([test.id], result.finished_at if result else 0)
            if result is not None:
                for value in Status:
                    status.add_metric([test.id, value], 1 if value == result.status else 0)
        yield status
        yield last_run
        worst = diagnostics.worst(result.status for result in latest.values())
        yield gauge("edge_device_health", HEALTH_HELP,
                    worst.severity if worst is not None else NO_RESULTS)
        row = jobs.latest(self.conn, DIAGNOSTICS, state="succeeded")
        yield gauge("edge_diagnostics_last_run_timestamp_seconds",
                    "When the latest complete diagnostic run finished (0: never)",
                    (row["finished_at"] if row else 0) or 0)

    def _jobs(self) -> Iterator[Metric]:
        family = GaugeMetricFamily("edge_jobs", "Background jobs by kind and state",
                                   labels=["kind", "state"])
        for (kind, state), count in jobs.counts(self.conn).items():
            family.add_metric([kind, state], count)
        yield family

    def _connectivity(self) -> Iterator[Metric]:
        state = mode_state(self.conn)
        yield one_of("edge_connectivity_mode", "1 for the connectivity mode in force", "mode",
                     MODES, state.mode)
        yield gauge("edge_connectivity_mode_changed_timestamp_seconds",
                    "When the connectivity mode was last changed (0: never, the default mode)",
                    state.changed_at or 0)

    def _power(self) -> Iterator[Metric]:
        pending = scheduled(self.conn)
        yield one_of("edge_power_scheduled", "1 for the restart or shut down scheduled, if any",
                     "action", ACTIONS, pending.action if pending else None)
        yield gauge("edge_power_scheduled_timestamp_seconds",
                    "When the scheduled restart or shut down is due (0: none scheduled)",
                    pending.at if pending else 0)
        reasons = restart_required(self.config.get("POWER_HOST_ROOT", "/"))
        yield gauge("edge_restart_required", "1 when updates need a restart to take effect",
                    1 if reasons else 0)
        yield gauge("edge_restart_required_reasons",
                    "How many reasons ask for a restart (updates, a newer kernel)", len(reasons))

    def _uploads(self) -> Iterator[Metric]:
        errors, uncounted = upload_errors(self.copy_logs, self.now)
        family = GaugeMetricFamily(
            "edge_copy_log_upload_errors", "Upload errors in upload and copy logs modified in "
            "the last 24 h, by share and kind of log (logs not counted yet left out)",
            labels=["share", "kind"])
        waiting = GaugeMetricFamily(
            "edge_copy_logs_uncounted", "Upload and copy logs of the last 24 h whose errors "
            "are still being counted", labels=["share", "kind"])
        for (share, kind), count in sorted(errors.items()):
            family.add_metric([share, kind], count)
            waiting.add_metric([share, kind], uncounted[share, kind])
        yield family
        yield waiting

    def _certificate(self) -> Iterator[Metric]:
        # Behind a TLS proxy the device's own certificate is not in use.
        if not self.config["TLS"]:
            return
        _state, expires = instance.certificate_state(Path(self.config["TLS_CERT"]))
        if expires is not None:
            yield gauge("edge_tls_certificate_expiry_timestamp_seconds",
                        "When the web UI's TLS certificate expires", expires.timestamp())

    def _alerts(self) -> Iterator[Metric]:
        open_alerts = Counter(
            (row["state"], row["rule"], row["severity"]) for row in self.conn.execute(
                "SELECT state, rule, severity FROM alerts WHERE state != 'cleared'"))
        families = {
            "active": GaugeMetricFamily(
                "edge_alerts_active", "Alerts raised and not acknowledged, by rule and "
                "severity (open alerts are these and the acknowledged ones)",
                labels=["rule", "severity"]),
            "acknowledged": GaugeMetricFamily(
                "edge_alerts_acknowledged", "Alerts acknowledged by an admin and not cleared "
                "yet, by rule and severity", labels=["rule", "severity"])}
        # Every rule of the catalogue at every severity: bounded, and zero rather than absent.
        for rule in alert_rules.catalogue():
            for severity in alert_rules.SEVERITIES:
                for state, family in families.items():
                    family.add_metric([rule.id, severity], open_alerts[state, rule.id, severity])
        yield from families.values()
