"""``python -m diagnostics`` and ``edge-webui diagnose``: run the tests from a console."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import textwrap

from diagnostics.probes import UnknownTests
from diagnostics.result import Result, exit_code
from diagnostics.runner import catalogue, run
from diagnostics.settings import ProbeSettings


def main(argv: list[str] | None = None, settings: ProbeSettings | None = None) -> int:
    """Parse ``[--json] [--test ID ...] [--list]``, run, print; return 0, 1 or 2 like exit_code."""
    parser = argparse.ArgumentParser(
        prog="diagnose", description="Run the appliance's diagnostic tests.",
        epilog="Exit code: 0 healthy or not applicable, 1 any warning, 2 any unhealthy or "
               "could not run.")
    parser.add_argument("--json", action="store_true", help='print {"results": [...]} as JSON')
    parser.add_argument("--test", dest="tests", action="extend", nargs="+", metavar="ID",
                        help="run only these tests (repeatable; --list names them)")
    parser.add_argument("--list", action="store_true", help="list the tests and exit")
    args = parser.parse_args(argv)
    if args.list:
        for test in catalogue():
            print(f"{test.id:<27} {test.title}: {test.description}")
        return 0
    try:
        results = run(args.tests, settings=settings)
    except UnknownTests as exc:
        parser.error(str(exc))
    if args.json:
        json.dump({"results": [r.to_dict() for r in results]}, sys.stdout, indent=2)
        print()
    else:
        print(format_table(results))
    return exit_code(results)


def format_table(results: list[Result]) -> str:
    """Results as an aligned text table, with the recommended action under each problem."""
    width = max(80, shutil.get_terminal_size((100, 24)).columns)
    lines = [f"{'STATUS':<15} {'TEST':<27} SUMMARY"]
    for r in results:
        lines += textwrap.wrap(r.summary or "-", width,
                               initial_indent=f"{r.status.label:<15} {r.id:<27} ",
                               subsequent_indent=" " * 44)
        if r.recommended_action:
            lines += textwrap.wrap(f"→ {r.recommended_action}", width - 4,
                                   initial_indent="    ", subsequent_indent="      ")
    return "\n".join(lines)
