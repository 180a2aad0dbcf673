"""What the overview and the status API show, gathered from what they are given."""

from __future__ import annotations

import sqlite3
from typing import Any

from diagnostics import system
from webui.audit.service import recent_failed_sign_ins
from webui.dashboard import charts, history, usage
from webui.templating import file_size


def overview(conn: sqlite3.Connection) -> dict[str, Any]:
    """The overview page's own facts: the device and failed sign-ins (the cards come ready)."""
    return {
        "identity": system.identity(),
        "failed_sign_ins": recent_failed_sign_ins(conn),
    }


def usage_context(sampler: usage.UsageSampler) -> dict[str, Any]:
    """The latest sample and, for each figure, its sparkline of the last ten minutes with the
    figure now and the highest in that time."""
    history = sampler.history()
    figures = [
        ("cpu", "CPU", [s.cpu_percent for s in history], percent, 100),
        ("memory", "Memory", [s.memory_percent for s in history], percent, 100),
        ("disk", "Disk read + write",
         [s.disk_read_bps + s.disk_write_bps for s in history], rate, None),
        ("network", "Network in + out", [s.net_rx_bps + s.net_tx_bps for s in history], rate,
         None),
    ]
    return {
        "usage": history[-1] if history else None,
        "usage_minutes": round(len(history) * usage.INTERVAL / 60, 1),
        "usage_rows": [
            {"key": key, "label": label, "now": fmt(values[-1]), "highest": fmt(max(values)),
             "points": usage.sparkline(values, ceiling=ceiling)}
            for key, label, values, fmt, ceiling in figures if values],
    }


def percent(value: float) -> str:
    return f"{value:.0f} %"


def rate(value: float) -> str:
    return f"{file_size(round(value))}/s"


def usage_history(conn: sqlite3.Connection, now: float) -> dict[str, Any]:
    """The Usage page: a chart for each figure over the last 24 hours, one point a minute."""
    minutes = history.last_day(conn, now)
    return {
        "minutes": len(minutes),
        "charts": [
            charts.chart("cpu", "CPU", minutes, [("CPU", "cpu_percent")], now, percent, 100),
            charts.chart("memory", "Memory", minutes, [("Memory", "memory_percent")], now,
                         percent, 100),
            charts.chart("disk", "Disk", minutes,
                         [("read", "disk_read_bps"), ("write", "disk_write_bps")], now, rate,
                         base=1024),
            charts.chart("network", "Network", minutes,
                         [("in", "net_rx_bps"), ("out", "net_tx_bps")], now, rate,
                         base=1024),
        ],
    }


def status(device_name: str, version: str) -> dict[str, Any]:
    """``GET /api/v1/status``: cheap facts, no probing."""
    ident = system.identity()
    return {
        "device_name": device_name,
        "software_version": version,
        "hostname": ident.hostname,
        "model": ident.model,
        "os": ident.os_name,
        "kernel": ident.kernel,
        "uptime_seconds": ident.uptime_seconds,
        "boot_id": ident.boot_id,
    }
