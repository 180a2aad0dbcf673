"""The metric families of ``/metrics``, read fresh on each scrape from SQLite and psutil."""

from __future__ import annotations

import json
import sqlite3

import psutil
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily

from diagnostics import Host, Status, system
from webui import jobs
from webui.connectivity.policy import MODES
from webui.connectivity.state import current_mode


class DeviceCollector:
    """A prometheus-client collector over one database connection and the live host."""

    def __init__(self, conn: sqlite3.Connection, device_name: str, version: str,
                 instance_dir: str):
        self.conn, self.device_name, self.version = conn, device_name, version
        self.instance_dir = instance_dir

    def collect(self):
        ident = system.identity(Host())
        info = InfoMetricFamily("edge_webui", "Device and software identity")
        info.add_metric([], {"device": self.device_name, "version": self.version,
                             "kernel": ident.kernel, "os": ident.os_name,
                             "boot_id": ident.boot_id or ""})
        yield info
        yield GaugeMetricFamily("edge_uptime_seconds", "Seconds since the device booted",
                                value=ident.uptime_seconds or 0)
        yield from self._resources()
        yield from self._diagnostics()
        yield from self._jobs()
        yield from self._connectivity()
        yield from self._sign_ins()

    def _resources(self):
        yield GaugeMetricFamily("edge_cpu_load1", "One-minute load average",
                                value=psutil.getloadavg()[0])
        memory = psutil.virtual_memory()
        yield GaugeMetricFamily("edge_memory_available_bytes", "Memory available",
                                value=memory.available)
        yield GaugeMetricFamily("edge_memory_total_bytes", "Memory installed", value=memory.total)
        disk = psutil.disk_usage(self.instance_dir)
        yield GaugeMetricFamily("edge_instance_free_bytes",
                                "Free space on the web UI's instance volume", value=disk.free)

    def _diagnostics(self):
        row = jobs.latest(self.conn, "diagnostics", state="succeeded")
        counts = dict.fromkeys((status.value for status in Status), 0)
        if row and row["result"]:
            for result in json.loads(row["result"]).get("results", []):
                if result.get("status") in counts:
                    counts[result["status"]] += 1
        family = GaugeMetricFamily("edge_diagnostics_results",
                                   "Results of the latest diagnostic run by status",
                                   labels=["status"])
        for status, count in counts.items():
            family.add_metric([status], count)
        yield family
        yield GaugeMetricFamily("edge_diagnostics_last_run_timestamp_seconds",
                                "When the latest diagnostic run finished (0: never)",
                                value=(row["finished_at"] if row else 0) or 0)

    def _jobs(self):
        family = GaugeMetricFamily("edge_jobs", "Background jobs by kind and state",
                                   labels=["kind", "state"])
        for (kind, state), count in jobs.counts(self.conn).items():
            family.add_metric([kind, state], count)
        yield family

    def _connectivity(self):
        current = current_mode(self.conn)
        family = GaugeMetricFamily("edge_connectivity_mode", "1 for the current mode",
                                   labels=["mode"])
        for mode in MODES:
            family.add_metric([mode], 1 if mode == current else 0)
        yield family

    def _sign_ins(self):
        row = self.conn.execute(
            "SELECT count(*) FROM audit WHERE action = 'sign_in' AND outcome != 'success' "
            "AND at >= strftime('%s', 'now') - 86400").fetchone()
        yield GaugeMetricFamily("edge_failed_sign_ins_24h", "Failed sign-ins in the last 24 h",
                                value=row[0])
