"""The Usage page's charts, drawn by the template as SVG from what these functions measure.

The plot is a ``viewBox`` of one unit per minute across and 100 units up; the axis labels sit
outside it in percentages of the chart's width, so a chart fits any screen without shrinking
its text.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from statistics import fmean

from webui.dashboard.history import MINUTES
from webui.dashboard.usage import Sample

SPAN = MINUTES * 60
HEIGHT = 100
BAND_MINUTES = 10  # one hover value for every ten minutes
TICK_HOURS = 6
GAP = 150  # seconds between two minutes that break the line (the device was off)


@dataclass(frozen=True)
class Series:
    label: str
    lines: list[str]  # polyline points, one line per stretch without a gap
    dashed: bool = False


@dataclass(frozen=True)
class Band:
    x: int
    title: str


@dataclass(frozen=True)
class Tick:
    percent: float
    label: str
    anchor: str


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    series: list[Series]
    bands: list[Band]
    ticks: list[Tick]
    top: str
    middle: str
    now: str | None
    highest: str | None

    @property
    def summary(self) -> str:
        if self.now is None:
            return f"{self.title} over the last 24 hours: no figures yet"
        return f"{self.title} over the last 24 hours: now {self.now}, highest {self.highest}"


def nice_ceiling(value: float, base: int = 10) -> float:
    """The smallest of 1, 2, 5 times a power of ten that is at least ``value``; with
    ``base=1024``, in the binary unit (KiB, MiB, ...) of ``value``'s size."""
    if value <= 0:
        return 1.0
    unit = base ** math.floor(math.log(value, base)) if base != 10 else 1
    scaled = value / unit
    power = 10 ** math.floor(math.log10(scaled))
    return unit * next(m * power for m in (1, 2, 5, 10) if m * power >= scaled)


def _lines(samples: list[Sample], field: str, start: float, top: float) -> list[str]:
    lines: list[list[str]] = []
    previous = None
    for s in samples:
        if previous is None or s.at - previous > GAP:
            lines.append([])
        previous = s.at
        y = HEIGHT - min(getattr(s, field), top) / top * HEIGHT
        lines[-1].append(f"{(s.at - start) / 60:.0f},{y:.1f}")
    return [" ".join(points) for points in lines]


def _bands(samples: list[Sample], fields: list[tuple[str, str]], start: float,
           fmt: Callable[[float], str]) -> list[Band]:
    groups: dict[int, list[Sample]] = {}
    for s in samples:
        groups.setdefault(int((s.at - start) // (BAND_MINUTES * 60)), []).append(s)
    bands = []
    for index, group in sorted(groups.items()):
        begin = start + index * BAND_MINUTES * 60
        span = f"{_clock(begin)}–{_clock(begin + BAND_MINUTES * 60)}"
        figures = ", ".join(f"{label} {fmt(fmean(getattr(s, name) for s in group))}"
                            for label, name in fields)
        bands.append(Band(index * BAND_MINUTES, f"{span}: {figures} (average)"))
    return bands


def _clock(at: float) -> str:
    return dt.datetime.fromtimestamp(at).astimezone().strftime("%H:%M")


def ticks(start: float) -> list[Tick]:
    """Every sixth hour of the device's clock within the day after ``start``."""
    found = []
    at = math.ceil(start / 1800) * 1800  # half hours: some time zones are offset by 30 min
    while at < start + SPAN:
        local = dt.datetime.fromtimestamp(at).astimezone()
        if local.minute == 0 and local.hour % TICK_HOURS == 0:
            percent = (at - start) / SPAN * 100
            anchor = "start" if percent < 5 else "end" if percent > 95 else "middle"
            found.append(Tick(round(percent, 2), local.strftime("%H:%M"), anchor))
        at += 1800
    return found


def chart(key: str, title: str, samples: list[Sample], fields: list[tuple[str, str]],
          now: float, fmt: Callable[[float], str], ceiling: float | None = None,
          base: int = 10) -> Chart:
    """One chart of ``fields`` (label, sample field) over the 24 hours before ``now``; its
    top is ``ceiling`` or a round figure (in ``base``) above the highest value."""
    start = now - SPAN
    values = [getattr(s, name) for s in samples for _label, name in fields]
    top = ceiling or nice_ceiling(max(values, default=0), base)
    recent = samples[-1] if samples and now - samples[-1].at <= GAP else None
    current = None
    if recent:
        current = (fmt(getattr(recent, fields[0][1])) if len(fields) == 1 else
                   ", ".join(f"{label} {fmt(getattr(recent, name))}" for label, name in fields))
    return Chart(
        key, title,
        [Series(label, _lines(samples, name, start, top), dashed=i > 0)
         for i, (label, name) in enumerate(fields)],
        _bands(samples, fields, start, fmt), ticks(start),
        top=fmt(top), middle=fmt(top / 2), now=current,
        highest=fmt(max(values)) if values else None)
