"""Usage history: the sampler's figures averaged per minute, kept for 24 hours in the instance
database as a ring of ``MINUTES`` rows (the oldest minute's slot is written over)."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from statistics import fmean

from webui import db
from webui.dashboard.usage import Sample

MINUTES = 1440
FIELDS = ("cpu_percent", "memory_percent", "disk_read_bps", "disk_write_bps",
          "net_rx_bps", "net_tx_bps")


def minute_of(at: float) -> int:
    return int(at // 60)


def average(samples: list[Sample]) -> Sample:
    """One sample for a minute: the mean of each figure, timed at the minute's start."""
    return Sample(minute_of(samples[0].at) * 60.0,
                  *(fmean(getattr(s, name) for s in samples) for name in FIELDS))


def record(conn: sqlite3.Connection, minute: Sample) -> None:
    """Keep ``minute`` in its slot of the ring, in place of the minute a day before it."""
    conn.execute(
        f"INSERT OR REPLACE INTO usage_history(slot, at, {', '.join(FIELDS)}) "
        f"VALUES (?, ?, {', '.join('?' * len(FIELDS))})",
        (minute_of(minute.at) % MINUTES, minute.at, *(getattr(minute, n) for n in FIELDS)))


def last_day(conn: sqlite3.Connection, now: float) -> list[Sample]:
    """The minutes of the 24 hours before ``now``, oldest first."""
    rows = conn.execute(
        f"SELECT at, {', '.join(FIELDS)} FROM usage_history WHERE at > ? AND at <= ? "
        "ORDER BY at", (now - MINUTES * 60, now)).fetchall()
    return [Sample(*row) for row in rows]


class Recorder:
    """The sampler's ``on_minute``: writes each finished minute on a connection of its own,
    opened for that write (once a minute) so that none outlives the app."""

    def __init__(self, path: Path):
        self.path = path

    def __call__(self, samples: list[Sample]) -> None:
        try:
            with closing(db.connect(self.path)) as conn:
                record(conn, average(samples))
        except sqlite3.Error:
            # Full or read-only storage loses this minute; the live figures go on.
            return
