"""Support package figures of SPEC §6, measured side by side in one run.

1. Default collectors on this host against ``sos report --batch -o kernel,networking,logs,
   hardware,memory,processor,block,filesys`` (Debian ``sosreport``): wall time and peak RSS.
2. 1 GiB of generated logs through the ``webui_log`` collector with caps lifted against
   ``zip -6 -r`` on the same files: throughput, and our peak RSS for 100 MiB and 1 GiB inputs.

Each command runs under a small wrapper process whose ``RUSAGE_CHILDREN`` ``ru_maxrss`` is the
peak RSS of the largest process the command started. Run: ``.venv/bin/python -m
bench.support_package``.
"""

from __future__ import annotations

import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOS_PLUGINS = "kernel,networking,logs,hardware,memory,processor,block,filesys"
ROUNDS = 3
LOG_ROUNDS = 3
RSS_NOISE_MIB = 8  # read, redacted and deflating blocks in flight, 1 MiB each
MiB = 1 << 20
BLOCK = 4 * MiB
_WRAPPER = (
    "import resource, subprocess, sys, time\n"
    "start = time.monotonic()\n"
    "done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
    "usage = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "print(time.monotonic() - start, usage.ru_maxrss, usage.ru_utime + usage.ru_stime,"
    " done.returncode)\n"
)


@dataclass(frozen=True)
class Measure:
    wall: float
    rss_mib: float
    cpu: float


def measure(argv: list[str], cwd: Path = ROOT) -> Measure:
    """Wall time and peak RSS of one run of ``argv``; raises when it fails."""
    out = subprocess.run([sys.executable, "-c", _WRAPPER, *argv], cwd=cwd, check=True,
                         capture_output=True, text=True).stdout.split()
    wall, rss_kib, cpu, returncode = float(out[0]), int(out[1]), float(out[2]), int(out[3])
    if returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited with {returncode}")
    return Measure(wall, rss_kib / 1024, cpu)


def median_of(runs: list[Measure]) -> Measure:
    """The median of each figure over the rounds."""
    return Measure(statistics.median(r.wall for r in runs),
                   statistics.median(r.rss_mib for r in runs),
                   statistics.median(r.cpu for r in runs))


def spread(values: list[float], digits: int) -> str:
    """``median (lowest–highest)`` of one figure over the rounds."""
    return (f"{statistics.median(values):.{digits}f} ({min(values):.{digits}f}–"
            f"{max(values):.{digits}f})")


def row(name: str, runs: list[Measure], mib: float | None = None) -> str:
    """A table row: wall, [MiB/s,] CPU and peak RSS, each as median (range)."""
    cells = [spread([r.wall for r in runs], 2)]
    if mib is not None:
        cells.append(spread([mib / r.wall for r in runs], 0))
    cells += [spread([r.cpu for r in runs], 1), spread([r.rss_mib for r in runs], 1)]
    return f"| {name} | {' | '.join(cells)} |"


def ours(out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "diagnostics.collect.cli", "--out", str(out), "--device",
            "bench", *extra]


def default_vs_sos(work: Path) -> list[str]:
    lines = ["### Default collectors vs sos report", ""]
    if shutil.which("sos") is None:
        return [*lines, "sos is not installed (Debian package `sosreport`): not measured."]
    mine, sos = [], []
    for n in range(ROUNDS):
        mine.append(measure(ours(work / f"ours-{n}")))
        sos_tmp = work / f"sos-{n}"
        sos_tmp.mkdir()
        sos.append(measure(["sos", "report", "--batch", "-o", SOS_PLUGINS, "--tmp-dir",
                            str(sos_tmp)]))
        shutil.rmtree(sos_tmp)
    a, b = median_of(mine), median_of(sos)
    ratios = [m.wall / s.wall for m, s in zip(mine, sos, strict=True)]
    return [*lines,
            f"Command: `python -m diagnostics.collect.cli --out DIR` (all {len(_ids())} default "
            f"collectors, 24 h journal window) against `sos report --batch -o {SOS_PLUGINS} "
            f"--tmp-dir DIR`, {ROUNDS} rounds alternating the two; each figure is the median "
            "of the rounds with their range.",
            "",
            "| | wall (s) | CPU (s) | peak RSS (MiB) |",
            "|---|---|---|---|",
            row("support package", mine),
            row("sos report", sos),
            "",
            f"Wall ratio {spread(ratios, 3)} (target ≤ 0.25): "
            f"{'met' if statistics.median(ratios) <= 0.25 else 'MISSED'}. "
            f"Peak RSS {a.rss_mib:.1f} vs {b.rss_mib:.1f} MiB (target ≤ sos): "
            f"{'met' if a.rss_mib <= b.rss_mib else 'MISSED'}."]


def _ids() -> tuple[str, ...]:
    from diagnostics.collect import COLLECTOR_IDS
    return COLLECTOR_IDS


def generate_logs(directory: Path, total: int, files: int) -> None:
    """``files`` log files adding up to ``total`` bytes of varied, log-like lines."""
    rng = random.Random(7)
    directory.mkdir(parents=True)
    shares, verbs = ["finance", "cams", "scans", "backup"], ["copied", "uploaded", "skipped"]
    lines = []
    size = 0
    while size < BLOCK:
        n = len(lines)
        if n % 97 == 0:
            line = f"2026-11-26T08:{n % 60:02d}:00Z smbd[{n % 9000}]: pam_unix(samba:session): " \
                   f"session opened for user u{rng.randrange(50)}\n"
        else:
            second, micro = rng.randrange(60), rng.randrange(10**6)
            stamp = f"2026-11-26T08:{n % 60:02d}:{second:02d}.{micro:06d}Z"
            line = (f"{stamp} copy[{rng.randrange(1000, 9000)}]: {rng.choice(verbs)} "
                    f"/{rng.choice(shares)}/d{rng.randrange(100)}/f{rng.randrange(10**6):06d}.bin "
                    f"{rng.randrange(1, 10**9)} bytes in {rng.random():.3f}s\n")
        lines.append(line)
        size += len(line)
    block = "".join(lines).encode()
    per_file = total // files
    for number in range(files):
        with open(directory / f"copy-{number:02d}.log", "wb") as f:
            written = 0
            while written < per_file:
                piece = block[:per_file - written]
                f.write(piece)
                written += len(piece)


def logs_vs_zip(work: Path) -> list[str]:
    big, small = work / "logs-1g", work / "logs-100m"
    generate_logs(big, 1 << 30, 8)
    generate_logs(small, 100 * MiB, 1)
    lines = ["### 1 GiB of logs, caps lifted, vs zip -6", ""]
    mine, theirs = [], []
    for n in range(LOG_ROUNDS):
        theirs.append(measure(["zip", "-6", "-r", "-q", str(work / f"zip-{n}.zip"), "."], cwd=big))
        (work / f"zip-{n}.zip").unlink()
        out = work / f"ours-logs-{n}"
        mine.append(measure(ours(out, "--collector", "webui_log", "--lift-caps", "--log-dir",
                                 str(big))))
        shutil.rmtree(out)
    small_runs = []
    for n in range(LOG_ROUNDS):
        out = work / f"ours-small-{n}"
        small_runs.append(measure(ours(out, "--collector", "webui_log", "--lift-caps",
                                       "--log-dir", str(small))))
        shutil.rmtree(out)
    a, s = median_of(mine), median_of(small_runs)
    gib = (1 << 30) / MiB
    ratios = [z.wall / m.wall for m, z in zip(mine, theirs, strict=True)]
    ratio = statistics.median(ratios)
    return [*lines,
            "Command: `python -m diagnostics.collect.cli --collector webui_log --lift-caps "
            "--log-dir DIR --out OUT` against `zip -6 -r -q OUT.zip .` in DIR, on 8 generated "
            f"log files of 128 MiB (redaction on), {LOG_ROUNDS} rounds alternating zip and ours, "
            "files in page cache; each figure is the median of the rounds with their range. "
            "Deflate level 6 on both sides; ours spreads it over the CPUs.",
            "",
            "| | wall (s) | MiB/s | CPU (s) | peak RSS (MiB) |",
            "|---|---|---|---|---|",
            row("support package, 1 GiB", mine, gib),
            row("zip -6, 1 GiB", theirs, gib),
            row("support package, 100 MiB", small_runs, 100),
            "",
            f"Throughput ratio {spread(ratios, 2)} (target ≥ 0.8): "
            f"{'met' if ratio >= 0.8 else 'MISSED'}. "
            f"Peak RSS {s.rss_mib:.1f} MiB for 100 MiB and {a.rss_mib:.1f} MiB for 1 GiB, "
            f"{a.rss_mib - s.rss_mib:+.1f} MiB for 10× the input (target: no growth beyond "
            f"run-to-run noise of the {RSS_NOISE_MIB} MiB of blocks in flight): "
            f"{'met' if a.rss_mib - s.rss_mib <= RSS_NOISE_MIB else 'MISSED'}."]


def run() -> str:
    """The ``## Support package`` section of BENCHMARKS.md."""
    with tempfile.TemporaryDirectory(prefix="bench-support-") as tmp:
        work = Path(tmp)
        parts = default_vs_sos(work) + [""] + logs_vs_zip(work)
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    return "\n".join(["## Support package", "",
                      "Command: `.venv/bin/python -m bench.support_package`. Load average at the "
                      f"end (1/5/15 min): {load} on {os.cpu_count()} CPUs; wall-time ratios "
                      "follow the CPU share the other load leaves.", "", *parts])


if __name__ == "__main__":
    print(run())
