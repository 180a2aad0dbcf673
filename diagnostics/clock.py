"""The kernel's view of clock synchronisation, read with ``adjtimex(2)`` in read-only mode."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from dataclasses import dataclass

STA_UNSYNC = 0x0040
TIME_ERROR = 5
# The kernel gives up on a clock whose error bound reaches 16 s (NTP_PHASE_LIMIT).
MAXERROR_LIMIT_US = 16_000_000


class _Timeval(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_usec", ctypes.c_long)]


class _Timex(ctypes.Structure):
    _fields_ = [
        ("modes", ctypes.c_uint), ("offset", ctypes.c_long), ("freq", ctypes.c_long),
        ("maxerror", ctypes.c_long), ("esterror", ctypes.c_long), ("status", ctypes.c_int),
        ("constant", ctypes.c_long), ("precision", ctypes.c_long),
        ("tolerance", ctypes.c_long), ("time", _Timeval), ("tick", ctypes.c_long),
        ("ppsfreq", ctypes.c_long), ("jitter", ctypes.c_long), ("shift", ctypes.c_int),
        ("stabil", ctypes.c_long), ("jitcnt", ctypes.c_long), ("calcnt", ctypes.c_long),
        ("errcnt", ctypes.c_long), ("stbcnt", ctypes.c_long), ("tai", ctypes.c_int),
        ("_reserved", ctypes.c_int * 11),
    ]


@dataclass(frozen=True)
class KernelClock:
    """What ``adjtimex`` says: synchronised or not, and the error bounds in microseconds."""

    synchronised: bool
    status: int
    state: int
    maxerror_us: int
    esterror_us: int

    def to_dict(self) -> dict:
        return {"synchronised": self.synchronised, "status_flags": hex(self.status),
                "clock_state": self.state, "maxerror_us": self.maxerror_us,
                "esterror_us": self.esterror_us}


def read_kernel_clock() -> KernelClock:
    """Call ``adjtimex`` with ``modes=0`` (changes nothing). Raises ``OSError`` when it fails."""
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    timex = _Timex()
    state = libc.adjtimex(ctypes.byref(timex))
    if state < 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"adjtimex failed: {os.strerror(errno)}")
    synchronised = (not timex.status & STA_UNSYNC and state != TIME_ERROR
                    and timex.maxerror < MAXERROR_LIMIT_US)
    return KernelClock(synchronised, timex.status, state, timex.maxerror, timex.esterror)
