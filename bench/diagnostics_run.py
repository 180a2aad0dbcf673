"""Full diagnostic run on this machine with every network target unreachable (target ≤ 3 s)."""

from __future__ import annotations

import socket
import statistics
import time
from collections import Counter

import diagnostics
from diagnostics import ProbeSettings

RUNS = 5
TARGET_SECONDS = 3.0
COMMAND = ".venv/bin/python -m bench.diagnostics_run"


def run() -> str:
    """Time ``RUNS`` full runs; NTP is a loopback port that swallows queries, TCP ports refuse."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent_ntp:
        silent_ntp.bind(("127.0.0.1", 0))  # receives and never answers: SNTP waits its timeout
        ntp = f"127.0.0.1:{silent_ntp.getsockname()[1]}"
        settings = ProbeSettings(ntp_server=ntp, cloud_endpoints=("127.0.0.1:9", "127.0.0.1:7"),
                                 update_endpoints=("127.0.0.1:9",),
                                 # its gateway checks stay on loopback too
                                 management_interface="lo")
        walls, slowest = [], {}
        for _ in range(RUNS):
            results, wall, finished = _timed_run(settings)
            walls.append(wall)
            for test_id, at in finished.items():
                slowest[test_id] = max(slowest.get(test_id, 0.0), at)
    median, worst = statistics.median(walls), max(walls)
    top = sorted(slowest.items(), key=lambda item: -item[1])[:4]
    statuses = ", ".join(f"{s}: {n}" for s, n in Counter(r.status.value for r in results).items())
    verdict = "meets" if worst <= TARGET_SECONDS else "misses"
    return "\n".join([
        "## Full diagnostic run",
        "",
        f"Command: `{COMMAND}` — {RUNS} runs of all 16 tests through `diagnostics.run()` on this "
        f"machine, with the NTP server at a loopback UDP port that never answers ({ntp}), the "
        "cloud and update endpoints at closed loopback TCP ports (127.0.0.1:9, 127.0.0.1:7); "
        f"network timeout {settings.network_timeout:g} s, probe deadline "
        f"{settings.probe_timeout:g} s.",
        "",
        "| figure | value |",
        "|---|---|",
        f"| wall time, median of {RUNS} | {median:.2f} s |",
        f"| wall time, worst of {RUNS} | {worst:.2f} s |",
        f"| target | ≤ {TARGET_SECONDS:g} s ({verdict} it) |",
        "| slowest tests (finished at, worst run) | "
        + ", ".join(f"{test_id} {at:.2f} s" for test_id, at in top) + " |",
        f"| statuses of the last run | {statuses} |",
    ])


def _timed_run(settings: ProbeSettings) -> tuple[list, float, dict[str, float]]:
    """One full run: its results, wall seconds, and when each test finished."""
    finished: dict[str, float] = {}
    start = time.perf_counter()
    results = diagnostics.run(settings=settings, on_result=lambda result, done, total:
                              finished.__setitem__(result.id, time.perf_counter() - start))
    return results, time.perf_counter() - start, finished


if __name__ == "__main__":
    print(run())
