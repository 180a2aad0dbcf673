"""Live usage: one background sampler per app, whatever the number of browser tabs.

Every ``INTERVAL`` seconds it records CPU, memory, disk and network throughput, keeping the last
ten minutes for the sparklines, and hands each finished minute's samples to ``on_minute`` (the
24-hour history, :mod:`webui.dashboard.history`). It starts on first use, so console commands
never run it. The dashboard's ``init_app`` puts it in ``app.extensions["usage"]``;
:func:`sampler` finds it.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass

import psutil
from flask import Flask

INTERVAL = 2.0
FIRST_SAMPLE_AFTER = 0.25
KEEP = int(600 / INTERVAL)


@dataclass(frozen=True)
class Sample:
    at: float
    cpu_percent: float
    memory_percent: float
    disk_read_bps: float
    disk_write_bps: float
    net_rx_bps: float
    net_tx_bps: float

    def to_dict(self) -> dict:
        return asdict(self)


def _counters() -> tuple[float, tuple[int, int], tuple[int, int]]:
    disk = psutil.disk_io_counters()
    net = psutil.net_io_counters()
    return (time.monotonic(),
            (disk.read_bytes, disk.write_bytes) if disk else (0, 0),
            (net.bytes_recv, net.bytes_sent) if net else (0, 0))


class UsageSampler:
    def __init__(self, interval: float = INTERVAL, keep: int = KEEP,
                 on_minute: Callable[[list[Sample]], None] | None = None):
        self.interval = interval
        self.samples: deque[Sample] = deque(maxlen=keep)
        self.on_minute = on_minute
        self._minute: list[Sample] = []
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._previous = None

    def ensure_running(self) -> None:
        # Called before every request: once the sampler runs, that costs no lock.
        thread = self._thread
        if thread is not None and thread.is_alive():
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._previous = _counters()
                psutil.cpu_percent(None)  # the first call only sets the reference point
                self._thread = threading.Thread(target=self._loop, name="usage sampler",
                                                daemon=True)
                self._thread.start()

    def _loop(self) -> None:
        # A first sample soon, so a page opened right after start-up has figures at its refresh.
        time.sleep(min(self.interval, FIRST_SAMPLE_AFTER))
        while True:
            self.take()
            time.sleep(self.interval)

    def take(self) -> Sample:
        now, disk, net = _counters()
        # Before any reference point (a sample taken without the thread) the rates are 0.
        then, disk_before, net_before = self._previous or (now, disk, net)
        self._previous = (now, disk, net)
        elapsed = max(now - then, 1e-3)
        sample = Sample(
            at=time.time(), cpu_percent=psutil.cpu_percent(None),
            memory_percent=psutil.virtual_memory().percent,
            disk_read_bps=max(0, disk[0] - disk_before[0]) / elapsed,
            disk_write_bps=max(0, disk[1] - disk_before[1]) / elapsed,
            net_rx_bps=max(0, net[0] - net_before[0]) / elapsed,
            net_tx_bps=max(0, net[1] - net_before[1]) / elapsed)
        self.samples.append(sample)
        self._collect_minute(sample)
        return sample

    def _collect_minute(self, sample: Sample) -> None:
        """Gather the samples of the current minute; hand them on once the next one begins."""
        if self._minute and int(self._minute[0].at // 60) != int(sample.at // 60):
            finished, self._minute = self._minute, []
            if self.on_minute:
                self.on_minute(finished)
        self._minute.append(sample)

    def history(self) -> list[Sample]:
        self.ensure_running()
        return list(self.samples)


def sampler(app: Flask) -> UsageSampler:
    """The usage sampler of ``app``."""
    return app.extensions["usage"]


def sparkline(values: list[float], width: int = 160, height: int = 32,
              ceiling: float | None = None) -> str:
    """SVG polyline points for ``values`` scaled into the box (the newest on the right)."""
    if not values:
        return ""
    top = ceiling if ceiling else max(max(values), 1e-9)
    step = width / max(len(values) - 1, 1)
    return " ".join(f"{i * step:.1f},{height - min(v, top) / top * (height - 2) - 1:.1f}"
                    for i, v in enumerate(values))
