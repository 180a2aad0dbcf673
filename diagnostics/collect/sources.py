"""Where item bytes come from: files read tail-first, and producers run under a deadline."""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator

from diagnostics.host import CHUNK, Cancelled


class DeadlineReached(Exception):
    """A producer did not finish before its collector's deadline."""


def read_file(path: str | os.PathLike, limit: int | None, facts: dict) -> Iterator[bytes]:
    """Yield the content of ``path``, only its last ``limit`` bytes when it is larger.

    ``facts`` receives ``source_size`` and ``truncated``. Files such as those in ``/proc`` report a
    size of 0 and are read to the end.
    """
    with open(path, "rb", buffering=0) as f:
        size = os.fstat(f.fileno()).st_size
        facts["source_size"] = size
        if limit is not None and size > limit:
            f.seek(size - limit)
            facts["truncated"] = True
        remaining = limit
        while remaining is None or remaining > 0:
            chunk = f.read(CHUNK if remaining is None else min(CHUNK, remaining))
            if not chunk:
                return
            if remaining is not None:
                remaining -= len(chunk)
            yield chunk
        if f.read(1):
            facts["truncated"] = True


def pumped(produce: Callable[[], Iterable[bytes]], deadline: float,
           should_stop: Callable[[], bool] | None = None) -> Iterator[bytes]:
    """Yield what ``produce()`` yields, running it in a thread so a hang cannot outlive
    ``deadline`` (then :class:`DeadlineReached`) or a cancel (then :class:`Cancelled`).

    A stuck producer thread is abandoned: it can only block on its own read, never on us.
    """
    handoff: queue.Queue = queue.Queue(maxsize=2)
    abandoned = threading.Event()
    done = object()

    def work() -> None:
        outcome: object = done
        try:
            for chunk in produce():
                if chunk and not _offer(handoff, chunk, abandoned):
                    return
        except Exception as exc:  # reported to the consumer, which records it
            outcome = exc
        _offer(handoff, outcome, abandoned)

    threading.Thread(target=work, name="support-package-item", daemon=True).start()
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DeadlineReached
            if should_stop is not None and should_stop():
                raise Cancelled
            try:
                item = handoff.get(timeout=min(remaining, 0.5))
            except queue.Empty:
                continue
            if item is done:
                return
            if isinstance(item, Exception):
                raise item
            yield item
    finally:
        abandoned.set()


def _offer(handoff: queue.Queue, item: object, abandoned: threading.Event) -> bool:
    while not abandoned.is_set():
        try:
            handoff.put(item, timeout=0.2)
            return True
        except queue.Full:
            continue
    return False
