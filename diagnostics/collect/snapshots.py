"""Python-made items: psutil and pyudev snapshots as JSON or text, for hosts without the tools."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator

import psutil

from diagnostics.host import Host

TOP_PROCESSES = 25


def _json(value: object) -> Iterator[bytes]:
    yield json.dumps(value, indent=1, default=str).encode() + b"\n"


def resources(host: Host) -> Iterator[bytes]:
    """CPU, memory, swap, load, boot time and I/O counters."""
    disk_io = psutil.disk_io_counters(perdisk=True) or {}
    net_io = psutil.net_io_counters(pernic=True) or {}
    yield from _json({
        "taken_at": time.time(),
        "boot_time": psutil.boot_time(),
        "cpu_count": {"logical": psutil.cpu_count(), "physical": psutil.cpu_count(logical=False)},
        "cpu_times": psutil.cpu_times()._asdict(),
        "load_average": os.getloadavg(),
        "memory": psutil.virtual_memory()._asdict(),
        "swap": psutil.swap_memory()._asdict(),
        "disk_io": {name: c._asdict() for name, c in disk_io.items()},
        "net_io": {name: c._asdict() for name, c in net_io.items()},
    })


def top_processes(host: Host) -> Iterator[bytes]:
    """The processes using most memory and most CPU time, with their command lines."""
    attrs = ["pid", "ppid", "name", "username", "status", "create_time", "num_threads",
             "cmdline", "memory_info", "cpu_times"]
    rows = []
    for proc in psutil.process_iter(attrs):
        info = proc.info
        memory, cpu = info.pop("memory_info"), info.pop("cpu_times")
        info["rss"] = memory.rss if memory else None
        info["cpu_seconds"] = round(cpu.user + cpu.system, 2) if cpu else None
        rows.append(info)
    by_rss = sorted(rows, key=lambda r: r["rss"] or 0, reverse=True)[:TOP_PROCESSES]
    by_cpu = sorted(rows, key=lambda r: r["cpu_seconds"] or 0, reverse=True)[:TOP_PROCESSES]
    yield from _json({"process_count": len(rows), "by_memory": by_rss, "by_cpu_time": by_cpu})


def listening_sockets(host: Host) -> Iterator[bytes]:
    """Listening TCP sockets and bound UDP sockets with their process, from psutil."""
    rows = []
    for conn in psutil.net_connections(kind="inet"):
        if conn.status not in (psutil.CONN_LISTEN, psutil.CONN_NONE) or not conn.laddr:
            continue
        try:
            name = psutil.Process(conn.pid).name() if conn.pid else None
        except psutil.Error:
            name = None
        rows.append({"proto": "tcp" if conn.type == 1 else "udp", "address": conn.laddr.ip,
                     "port": conn.laddr.port, "pid": conn.pid, "process": name})
    yield from _json(sorted(rows, key=lambda r: (r["proto"], r["port"])))


def disk_usage(host: Host) -> Iterator[bytes]:
    """Space and inodes of every mounted file system."""
    rows = []
    for part in psutil.disk_partitions(all=False):
        try:
            st = os.statvfs(part.mountpoint)
        except OSError as exc:
            rows.append({"mountpoint": part.mountpoint, "error": exc.strerror})
            continue
        rows.append({
            "device": part.device, "mountpoint": part.mountpoint, "fstype": part.fstype,
            "options": part.opts, "total": st.f_blocks * st.f_frsize,
            "free": st.f_bavail * st.f_frsize, "inodes": st.f_files, "inodes_free": st.f_favail,
        })
    yield from _json(rows)


def dmi(host: Host) -> Iterator[bytes]:
    """Every readable attribute of ``/sys/class/dmi/id`` (serial numbers included: support
    needs them)."""
    values = {}
    for name in host.listdir("/sys/class/dmi/id"):
        path = f"/sys/class/dmi/id/{name}"
        if host.path(path).is_file():
            try:
                values[name] = host.read_value(path)
            except OSError:
                values[name] = None
    yield from _json(values)


def udev_database(host: Host) -> Iterator[bytes]:
    """The udev device database in ``udevadm info --export-db`` shape, read with pyudev."""
    import pyudev

    for device in pyudev.Context().list_devices():
        lines = [f"P: {device.device_path}"]
        if device.device_node:
            lines.append(f"N: {device.device_node}")
        lines += [f"E: {key}={value}" for key, value in device.properties.items()]
        yield ("\n".join(lines) + "\n\n").encode(errors="replace")
