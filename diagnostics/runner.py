"""Runs diagnostic tests concurrently, each under a deadline, and always finishes."""

from __future__ import annotations

import functools
import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from diagnostics import probes as probe_modules
from diagnostics.host import Host
from diagnostics.requires import NOTHING
from diagnostics.result import Result, Status
from diagnostics.settings import ProbeSettings

OnResult = Callable[[Result, int, int], None]


class DiagnosticTest(NamedTuple):
    """One entry of the catalogue."""

    id: str
    title: str
    description: str


@functools.cache
def catalogue() -> tuple[DiagnosticTest, ...]:
    """Every diagnostic test, in catalogue order (read once: the probes are code)."""
    return tuple(DiagnosticTest(m.ID, m.TITLE, m.DESCRIPTION) for m in probe_modules.load())


def select(ids: Sequence[str] | None = None) -> list[Any]:
    """The probes of ``ids`` (all when None) in catalogue order, for :func:`run_probes`.

    The one check of requested ids: raises :class:`~diagnostics.probes.UnknownTests` naming
    the unknown ones.
    """
    return probe_modules.load(ids)


def run(ids: Sequence[str] | None = None, host: Host | None = None,
        settings: ProbeSettings | None = None, on_result: OnResult | None = None) -> list[Result]:
    """Run the tests named by ``ids`` (all when None) and return their results in catalogue order.

    ``on_result(result, done, total)`` is called from the calling thread as each test finishes.
    Raises :class:`~diagnostics.probes.UnknownTests` (a ``ValueError``) for an unknown id.
    """
    return run_probes(select(ids), host or Host(), settings or ProbeSettings(), on_result)


def run_probes(probes: Sequence[Any], host: Host, settings: ProbeSettings,
               on_result: OnResult | None = None) -> list[Result]:
    """Run probe objects (``ID``, ``TITLE``, ``run``) in daemon threads with one deadline.

    A probe that raises, or is still running at ``settings.probe_timeout``, gives
    ``could_not_run``; a hung probe's thread is left behind rather than waited for.
    """
    finished: queue.Queue[tuple[int, Result]] = queue.Queue()
    deadline = time.monotonic() + settings.probe_timeout
    for index, probe in enumerate(probes):
        threading.Thread(target=_run_one, args=(probe, host, settings, index, finished),
                         name=f"probe {probe.ID}", daemon=True).start()
    results: dict[int, Result] = {}
    while len(results) < len(probes):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        try:
            index, result = finished.get(timeout=remaining)
        except queue.Empty:
            break
        results[index] = result
        if on_result is not None:
            on_result(result, len(results), len(probes))
    for index, probe in enumerate(probes):
        if index not in results:
            results[index] = Result(
                probe.ID, probe.TITLE, Status.COULD_NOT_RUN,
                f"Did not finish within {settings.probe_timeout:g} s",
                {"timeout_seconds": settings.probe_timeout},
                "Run the test again; if it keeps timing out, create a support package for "
                "support.")
            if on_result is not None:
                on_result(results[index], len(results), len(probes))
    return [results[i] for i in range(len(probes))]


def _run_one(probe: Any, host: Host, settings: ProbeSettings, index: int,
             finished: queue.Queue) -> None:
    try:
        missing = getattr(probe, "REQUIRES", NOTHING).missing(host)
        result = (_not_applicable(probe, missing) if missing
                  else probe.run(host, settings))
        if not isinstance(result, Result):
            raise TypeError(f"returned {type(result).__name__}, not a Result")
    except Exception as exc:  # any failure of one probe must not stop the run
        result = Result(
            probe.ID, probe.TITLE, Status.COULD_NOT_RUN,
            f"The test failed: {type(exc).__name__}: {exc}",
            {"error": f"{type(exc).__name__}: {exc}"},
            "Create a support package and send it to support; the other tests are unaffected.")
    finished.put((index, result))


def _not_applicable(probe: Any, missing: list[str]) -> Result:
    return Result(probe.ID, probe.TITLE, Status.NOT_APPLICABLE,
                  f"This system cannot run this test: {'; '.join(missing)}",
                  {"missing_requirements": missing})
