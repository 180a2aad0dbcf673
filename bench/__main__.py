"""Run every benchmark module and write BENCHMARKS.md.

Each module in ``MODULES`` offers ``run() -> str``: a Markdown section that names the command
that produced its figures and states them. Ratios are measured side by side in the same run.
"""

from __future__ import annotations

import datetime as dt
import importlib
import os
import platform
import sys
from pathlib import Path

import psutil

MODULES = ["diagnostics_run", "copylogs", "support_package", "http"]


def machine() -> str:
    mem = psutil.virtual_memory().total / 2**30
    cpu = platform.processor() or platform.machine()
    return (f"{platform.node()}: {os.cpu_count()} CPUs ({cpu}), {mem:.0f} GiB RAM, "
            f"Linux {platform.release()}, Python {platform.python_version()}")


def main(argv: list[str]) -> int:
    wanted = argv or MODULES
    sections = []
    for name in wanted:
        try:
            module = importlib.import_module(f"bench.{name}")
        except ModuleNotFoundError:
            continue
        print(f"bench: {name} …", file=sys.stderr, flush=True)
        sections.append(module.run())
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    text = "\n\n".join([
        "# Benchmarks",
        f"Produced by `make bench` (`python -m bench {' '.join(wanted)}`) on {now}.\n\n"
        f"Machine: {machine()}.",
        *sections,
    ]) + "\n"
    Path(__file__).resolve().parent.parent.joinpath("BENCHMARKS.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
