"""Console front of :func:`build_package`, for ``edge-webui support-package`` and by hand.

The app's command adds :func:`add_arguments` to its own sub-parser and calls :func:`run` with a
context built from its configuration; ``python -m diagnostics.collect.cli`` works without the
app (no audit log, no diagnostic history).
"""

from __future__ import annotations

import argparse
import socket
import sys
from collections.abc import Callable, Sequence

from diagnostics.collect.archive import PackageError
from diagnostics.collect.collectors import COLLECTOR_IDS
from diagnostics.collect.context import CollectContext
from diagnostics.collect.options import PackageOptions
from diagnostics.collect.package import PackageInfo, build_package


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``support-package``: ``--out``, ``--collector``, ``--since``,
    ``--obfuscate`` (and ``--device``, ``--lift-caps``)."""
    parser.add_argument("--out", default=".", metavar="PATH",
                        help="directory to write the package in (default: current directory)")
    parser.add_argument("--collector", action="append", choices=COLLECTOR_IDS, metavar="ID",
                        dest="collectors", help="collector to run (repeatable; default: all): "
                        + ", ".join(COLLECTOR_IDS))
    parser.add_argument("--since", type=float, default=24, metavar="HOURS",
                        help="journal window in hours (default: 24)")
    parser.add_argument("--obfuscate", action="store_true",
                        help="replace addresses, host and user names by consistent tokens")
    parser.add_argument("--device", default=None, help="device name (default: host name)")
    parser.add_argument("--lift-caps", action="store_true",
                        help="take whole files and command outputs, without size caps")


def run(args: argparse.Namespace, context: CollectContext) -> PackageInfo:
    """Build the package the parsed ``args`` describe; raises ``ValueError`` (bad option) or
    :class:`PackageError`."""
    options = PackageOptions(args.collectors, since_hours=args.since, obfuscate=args.obfuscate,
                             lift_caps=args.lift_caps)
    progress = _show_progress if sys.stderr.isatty() else None
    return build_package(args.out, options, device_name=args.device or socket.gethostname(),
                         context=context, progress=progress)


def main(argv: Sequence[str] | None = None,
         context_factory: Callable[[argparse.Namespace], CollectContext] | None = None) -> int:
    """Parse ``argv``, build the package, print its path; 0 on success, 1 on failure."""
    parser = argparse.ArgumentParser(prog="support-package",
                                     description="Make a support package of this device.")
    add_arguments(parser)
    parser.add_argument("--log-dir", help="web UI log directory to include")
    parser.add_argument("--copylog-root", action="append", default=[], metavar="DIR",
                        help="copy-log root to include (repeatable)")
    parser.add_argument("--obfuscation-map", metavar="PATH",
                        help="where the obfuscation map is kept on this device (mode 0600)")
    args = parser.parse_args(argv)
    context = (context_factory(args) if context_factory is not None else
               CollectContext(log_dir=args.log_dir, copylog_roots=args.copylog_root,
                              obfuscation_map_path=args.obfuscation_map))
    try:
        info = run(args, context)
    except (ValueError, PackageError) as exc:
        print(f"support-package: {exc}", file=sys.stderr)
        return 1
    print(info.path)
    return 0


def _show_progress(done: int, total: int, current: str | None) -> None:
    print(f"[{done}/{total}] {current or 'done'}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
