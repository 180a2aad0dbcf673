"""Indexing of copy logs as background jobs: one log at a time, a log being viewed first.

Each log's index build is a ``copylog_index`` job about that log (its ``subject``), so its
progress is in the jobs table like any other job's and a restart marks an unfinished one
interrupted. The queue of logs still to index is kept here, in the process: the next job is
submitted when the one before it ends, so indexing never takes more than one of the runner's
workers and a log asked for by a page can go ahead of the others.
"""

from __future__ import annotations

import collections
import functools
import logging
import threading
from collections.abc import Iterable
from pathlib import Path

from diagnostics.copylogs import CopyLogStore
from webui import audit, db, jobs

log = logging.getLogger(__name__)

KIND = "copylog_index"
INDEX_DIR = "copylog-index"  # under the instance folder
KEEP_JOBS = 200  # finished index jobs kept: a page views many logs, each once


class Indexer:
    """The queue of logs to index and the one job indexing now (``store.ensure_index``)."""

    def __init__(self, store: CopyLogStore, runner: jobs.JobRunner, db_path: Path):
        self.store, self.runner, self.db_path = store, runner, db_path
        self._queue: collections.deque[str] = collections.deque()
        self._queued: set[str] = set()
        self._lock = threading.Lock()
        self._job: str | None = None  # the job indexing now
        self._closed = False

    def request(self, log_ids: Iterable[str], first: bool = False) -> None:
        """Queue logs for indexing (``first``: ahead of the others)."""
        with self._lock:
            if self._closed:
                return
            for log_id in log_ids:
                if log_id in self._queued:
                    if not first:
                        continue
                    self._queue.remove(log_id)
                self._queued.add(log_id)
                if first:
                    self._queue.appendleft(log_id)
                else:
                    self._queue.append(log_id)
            if self._job is None:
                self._start_next()

    def close(self) -> None:
        """Index nothing more (the app stops)."""
        with self._lock:
            self._closed = True
            self._queue.clear()
            self._queued.clear()

    def _start_next(self) -> None:
        """Submit the job of the next queued log that no job indexes yet (lock held)."""
        self._job = None
        while self._queue and not self._closed:
            log_id = self._queue.popleft()
            self._queued.discard(log_id)
            try:
                self._job = self._submit(log_id)
            except Exception:
                # e.g. a full instance disk: the next page that needs an index asks again.
                log.warning("indexing copy log %s could not start", log_id, exc_info=True)
                return
            if self._job is not None:
                return

    def _submit(self, log_id: str) -> str | None:
        """The id of a new job indexing ``log_id``; None when a job already indexes it."""
        conn = db.connect(self.db_path)
        try:
            if _active(jobs.latest(conn, KIND, subject=log_id)):
                return None
            jobs.keep_newest(conn, KIND, KEEP_JOBS)
        finally:
            conn.close()
        return self.runner.submit(KIND, functools.partial(self._index, log_id),
                                  created_by=audit.SYSTEM.name, subject=log_id)

    def _index(self, log_id: str, ctx: jobs.JobContext) -> dict[str, object]:
        try:
            return self.store.ensure_index(log_id, progress=ctx.progress)
        finally:
            with self._lock:
                self._start_next()


def _active(job) -> bool:
    return job is not None and job["state"] in jobs.ACTIVE_STATES
