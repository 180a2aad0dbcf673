"""Run benchmark modules and write BENCHMARKS.md.

Each module in ``MODULES`` offers ``run() -> str``: a Markdown section that names the command
that produced its figures and states them. Ratios are measured side by side in the same run.
``python -m bench [MODULE …]`` runs some or all; every section is kept in
``bench/results/<module>.md`` with the machine and time it ran on, and BENCHMARKS.md is made of
all of them, so running one module never drops the others' figures.
"""

from __future__ import annotations

import datetime as dt
import importlib
import os
import platform
import sys
from pathlib import Path

import psutil

MODULES = ["diagnostics_run", "copylogs", "support_package", "http", "soak", "history"]
HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def machine() -> str:
    mem = psutil.virtual_memory().total / 2**30
    cpu = platform.processor() or platform.machine()
    return (f"{platform.node()}: {os.cpu_count()} CPUs ({cpu}), {mem:.0f} GiB RAM, "
            f"Linux {platform.release()}, Python {platform.python_version()}")


def main(argv: list[str]) -> int:
    wanted = argv or MODULES
    unknown = [name for name in wanted if name not in MODULES]
    if unknown:
        print(f"bench: unknown module(s) {', '.join(unknown)}; one of {', '.join(MODULES)}",
              file=sys.stderr)
        return 2
    RESULTS.mkdir(exist_ok=True)
    for name in wanted:
        print(f"bench: {name} …", file=sys.stderr, flush=True)
        section = importlib.import_module(f"bench.{name}").run()
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        where = (", in a network namespace holding only loopback" if os.environ.get(
            "EDGE_TEST_NETNS") else "")
        stamp = f"_Measured {now} by `python -m bench {name}` on {machine()}{where}._"
        (RESULTS / f"{name}.md").write_text(f"{section.strip()}\n\n{stamp}\n")
        print(section, flush=True)
    sections = [(RESULTS / f"{name}.md").read_text().strip() for name in MODULES
                if (RESULTS / f"{name}.md").exists()]
    text = "\n\n".join([
        "# Benchmarks",
        "The targets of SPEC §6, measured by `make bench` (`python -m bench`, every module) or "
        "`python -m bench MODULE` (one section). Each section says when and on what machine it "
        "ran; ratios are measured side by side in the same run. `make bench` runs them in a "
        "network namespace that holds only loopback, as `make test` runs the tests: nothing "
        "a benchmark sends can leave the machine.",
        *sections,
    ]) + "\n"
    (HERE.parent / "BENCHMARKS.md").write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
