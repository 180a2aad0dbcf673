"""The copy logs under the configured roots, as the web pages and the API use them.

One :class:`CopyLogStore` per process. It discovers logs, summarises them (cheaply from the
first and last bytes, fully once indexed), pages and filters their entries and streams them for
export. Paging never waits for the index: what is indexed is found through block counts, the
rest is read in order from where the index stops. Indexing runs in
:meth:`CopyLogStore.ensure_index`, meant for a background job.
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import BinaryIO

from diagnostics.copylogs import formats
from diagnostics.copylogs import index as indexing
from diagnostics.copylogs.discovery import Candidate, open_in_root, read_head, walk
from diagnostics.copylogs.formats import Format
from diagnostics.copylogs.index import Index
from diagnostics.copylogs.models import CopyLog, CopyLogError, Entry, Page
from diagnostics.copylogs.paging import Reader, key_filter_for

TAIL_BYTES = 64 << 10
DISCOVERY_TTL = 10.0
MAX_PER_PAGE = 1000
_CACHED_INDEXES = 16
_CACHED_SEARCHES = 16
_MAX_NOT_LOGS = 20_000

class CopyLogStore:
    """Copy logs under ``roots``; indexes kept in ``index_dir`` (created if missing; None
    keeps no index, so counts stay unknown and paging reads in order).

    Every method taking a ``log_id`` raises ``KeyError`` for an unknown id. Filters:
    ``category`` (exact, case-insensitive), ``code`` (the code as written, its number or its
    symbolic name, e.g. ``2000`` or ``ERROR_ETAG_MISMATCH``), ``q`` (case-insensitive substring
    of the entry path). Category and code filters are answered from the index; ``q`` counts its
    matches in the path columns of the index (about a tenth of the log's bytes, searched in C)
    and reads only the blocks its page needs; where there is no index yet it reads the blocks
    that may match. Once its page is filled it counts on in the columns for at most
    ``COLUMN_COUNT_BUDGET`` matches and reads at most ``PATH_SEARCH_BUDGET`` bytes, beyond which
    ``Page.total`` is a lower bound.
    """

    def __init__(self, roots: list[str], index_dir: str | None):
        self.roots = list(roots)
        self.index_dir = index_dir
        if index_dir is not None:
            with contextlib.suppress(OSError):  # reported by index_status when it bites
                os.makedirs(index_dir, mode=0o700, exist_ok=True)
        self._lock = threading.Lock()
        self._building: dict[str, threading.Lock] = {}
        self._cancel = threading.Event()
        self._index_errors: dict[str, str] = {}
        self._not_logs: set[tuple[str, int, str]] = set()  # other *.xml files, by size and time
        self._found: dict[str, Candidate] = {}
        self._found_at = -DISCOVERY_TTL
        self._searches: collections.OrderedDict[tuple, dict[int, int]] = \
            collections.OrderedDict()
        self._indexes: collections.OrderedDict[str, tuple[tuple[int, int], Index]] = \
            collections.OrderedDict()

    # discovery and summaries

    def list(self) -> list[CopyLog]:
        """Every log under the roots, newest first, with what is known of each."""
        logs = [self._summarise(c) for c in self._candidates(refresh=True).values()]
        logs = [log for log in logs if log is not None]
        return sorted(logs, key=lambda log: log.modified_at, reverse=True)

    def summary(self, log_id: str) -> CopyLog:
        """Status, totals, counts by category and code (once indexed), header and summary
        element fields, problems and error of one log."""
        log = self._summarise(self._candidate(log_id))
        if log is None:
            raise KeyError(log_id)
        return log

    def _candidates(self, refresh: bool = False) -> dict[str, Candidate]:
        with self._lock:
            if refresh or time.monotonic() - self._found_at > DISCOVERY_TTL:
                self._found = {c.log.id: c for c in walk(self.roots)}
                self._found_at = time.monotonic()
            return self._found

    def _candidate(self, log_id: str) -> Candidate:
        found = self._candidates().get(log_id)
        if found is None and time.monotonic() - self._found_at > 1.0:
            # a log that appeared since the last walk; unknown ids cannot force a walk each
            found = self._candidates(refresh=True).get(log_id)
        if found is None:
            raise KeyError(log_id)
        return found

    def _summarise(self, candidate: Candidate) -> CopyLog | None:
        log = CopyLog(**candidate.log.to_dict())
        if candidate.target is None:
            return log
        try:
            fd = open_in_root(candidate.root_real, candidate.target)
        except CopyLogError as exc:
            log.error, log.status = str(exc), "unreadable"
            return log
        try:
            return self._fill(log, candidate, fd)
        except OSError as exc:
            log.error, log.status = f"the file cannot be read ({exc.strerror})", "unreadable"
            return log
        finally:
            os.close(fd)

    def _fill(self, log: CopyLog, candidate: Candidate, fd: int) -> CopyLog | None:
        stamp = (log.id, log.size, log.modified_at)
        if stamp in self._not_logs:
            return None
        head = read_head(fd)
        try:
            fmt = formats.sniff(head, candidate.kind_hint)
        except CopyLogError as exc:
            log.error, log.status = str(exc), "unreadable"
            return log
        if fmt is None:
            if candidate.kind_hint is None:
                if len(self._not_logs) > _MAX_NOT_LOGS:
                    self._not_logs.clear()
                self._not_logs.add(stamp)
                return None
            log.error = "not a copy log in a known format (no entry or summary element)"
            log.status = "unreadable"
            return log
        log.format = fmt.name
        log.kind = _kind(fmt, candidate.kind_hint)
        attrs = formats.header(head) if fmt.name == "share" else {}
        log.container, log.device = attrs.get("container"), attrs.get("machine")
        log.timestamp = attrs.get("timestamp")
        log.share = candidate.share_hint or log.container
        size = os.fstat(fd).st_size
        end = formats.trailer(fmt, os.pread(fd, TAIL_BYTES, max(0, size - TAIL_BYTES)))
        log.totals = end.get("totals") or {}
        log.disk = end.get("disk")
        if end.get("problem"):
            log.problems.append(end["problem"])
        index = self._usable_index(candidate, fmt, fd)
        if index is not None:
            log.problems.extend(index.problems)
            if index.truncated:
                log.problems.append(index.truncated)
        if index is not None and index.complete:
            _counts(log, fmt, index)
        log.status = _status(log, end.get("status"))
        return log

    # indexing

    def _index_path(self, candidate: Candidate) -> str | None:
        if self.index_dir is None:
            return None
        name = hashlib.sha256(f"{candidate.root_real}\0{candidate.target}".encode(
            "utf-8", "surrogateescape")).hexdigest()[:32]
        return os.path.join(self.index_dir, f"{name}.json")

    @staticmethod
    def _columns_path(path: str, index: Index) -> str | None:
        """The column file of ``index`` stored at ``path``: ``<name>.<token>.paths``."""
        return f"{path.removesuffix('.json')}.{index.columns}.paths" if index.columns else None

    def _usable_index(self, candidate: Candidate, fmt: Format, fd: int) -> Index | None:
        path = self._index_path(candidate)
        if path is None:
            return None
        try:
            st = os.stat(path)
        except OSError:
            return None
        stamp = (st.st_mtime_ns, st.st_size)
        with self._lock:
            cached = self._indexes.get(path)
            if cached is not None and cached[0] == stamp:
                self._indexes.move_to_end(path)
                found: Index | None = cached[1]
            else:
                found = indexing.load(path)
                if found is not None:
                    self._indexes[path] = (stamp, found)
                    while len(self._indexes) > _CACHED_INDEXES:
                        self._indexes.popitem(last=False)
        return indexing.reusable(found, fmt, fd)

    def ensure_index(self, log_id: str,
                     progress: Callable[[float], None] | None = None) -> dict[str, object]:
        """Build or extend the index of one log; returns :meth:`index_status`.

        Safe to call from any thread: when another thread is already indexing this log, it
        returns at once. ``progress(fraction)`` hears how much of the file is indexed each time
        the index is saved. Cancelled by :meth:`close`.
        """
        candidate = self._candidate(log_id)
        with self._lock:
            lock = self._building.setdefault(log_id, threading.Lock())
        if not lock.acquire(blocking=False):
            return self.index_status(log_id)
        try:
            self._build(candidate, progress)
        finally:
            lock.release()
        return self.index_status(log_id)

    def _build(self, candidate: Candidate, progress: Callable[[float], None] | None) -> None:
        if candidate.target is None or self.index_dir is None:
            return
        try:
            fd = open_in_root(candidate.root_real, candidate.target)
        except CopyLogError:
            return
        try:
            fmt = formats.sniff(read_head(fd), candidate.kind_hint)
            if fmt is None:
                return
            path = self._index_path(candidate)
            if path is None:
                return
            # a private copy: readers keep using the cached one while this one grows
            index = indexing.reusable(indexing.load(path), fmt, fd)
            columns_path = self._columns_path(path, index) if index is not None else None
            if index is None or columns_path is None or index.blocks and \
                    not os.path.exists(columns_path):
                index = indexing.fresh(fmt, fd)  # new, changed, or its columns were lost
                columns_path = self._columns_path(path, index)
            if index.complete:
                return
            size = os.fstat(fd).st_size

            def save(idx: Index) -> None:
                indexing.store(path, idx)
                if progress is not None:
                    progress(min(1.0, idx.scanned_until / size) if size else 1.0)

            columns = indexing.ColumnFile(columns_path, index.columns_end)
            try:
                indexing.update(index, fmt, fd, save, self._cancel,
                                (candidate.root_real, candidate.target), columns)
            finally:
                columns.close()
            _remove_other_columns(path, index.columns)
            self._index_errors.pop(candidate.log.id, None)
        except CopyLogError:
            return
        except OSError as exc:
            # e.g. a full or read-only instance directory: paging still works without it
            self._index_errors[candidate.log.id] = f"the index cannot be written ({exc.strerror})"
        finally:
            os.close(fd)

    def index_status(self, log_id: str) -> dict[str, object]:
        """``{state, indexed_bytes, size, entries, building, error}``; ``state`` is ``none``,
        ``partial``, ``complete`` or ``unavailable`` (the log cannot be read); ``error`` says why
        the last build could not save its index (None when it could)."""
        candidate = self._candidate(log_id)
        lock = self._building.get(log_id)
        status: dict[str, object] = {"state": "unavailable", "indexed_bytes": 0,
                                     "size": candidate.log.size, "entries": None,
                                     "building": bool(lock and lock.locked()),
                                     "error": self._index_errors.get(log_id)}
        try:
            with _OpenLog(candidate) as (fd, fmt):
                status["size"] = os.fstat(fd).st_size
                index = self._usable_index(candidate, fmt, fd)
        except CopyLogError:
            return status
        if index is None:
            status["state"] = "none"
        else:
            status.update(state="complete" if index.complete else "partial",
                          indexed_bytes=index.scanned_until, entries=index.entries)
        return status

    def close(self) -> None:
        """Ask running index builds to stop (they save what they have)."""
        self._cancel.set()

    # entries

    def entries(self, log_id: str, page: int = 1, per_page: int = 100,
                category: str | None = None, code: str | None = None,
                q: str | None = None) -> Page:
        """One page (1-based) of the entries matching the filters.

        Raises ``ValueError`` for a page below 1 or ``per_page`` outside 1…1000, and
        :class:`CopyLogError` for a log that cannot be read.
        """
        if page < 1 or not 1 <= per_page <= MAX_PER_PAGE:
            raise ValueError(f"page must be ≥ 1 and per_page 1…{MAX_PER_PAGE}")
        candidate = self._candidate(log_id)
        with _OpenLog(candidate) as (fd, fmt):
            index = self._usable_index(candidate, fmt, fd)
            with self._open_columns(candidate, index, q) as columns:
                reader = Reader(fmt, fd, index, key_filter_for(fmt, category, code), q,
                                self._searched(candidate, index, category, code, q), columns)
                try:
                    return reader.page(page, per_page)
                except OSError as exc:
                    raise CopyLogError(f"the file cannot be read ({exc.strerror})") from exc

    @contextlib.contextmanager
    def _open_columns(self, candidate: Candidate, index: Index | None,
                      q: str | None) -> Iterator[int]:
        """The column file of ``index`` open for reading, for a path search; -1 when there is
        none (its blocks are then read)."""
        path = self._index_path(candidate)
        columns = self._columns_path(path, index) if q and path and index is not None else None
        fd = -1
        if columns is not None:
            with contextlib.suppress(OSError):
                fd = os.open(columns, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        try:
            yield fd
        finally:
            if fd >= 0:
                os.close(fd)

    def _searched(self, candidate: Candidate, index: Index | None, category: str | None,
                  code: str | None, q: str | None) -> dict[int, int] | None:
        """Matches per indexed block of a recent path search on this very index."""
        if not q or index is None:
            return None
        key = (candidate.log.id, index.size, index.mtime_ns, index.scanned_until, category,
               code, q.casefold())
        with self._lock:
            searched = self._searches.pop(key, {})
            self._searches[key] = searched
            while len(self._searches) > _CACHED_SEARCHES:
                self._searches.popitem(last=False)
        return searched

    def iter_entries(self, log_id: str, category: str | None = None, code: str | None = None,
                     q: str | None = None) -> Iterator[Entry]:
        """Every matching entry in file order, streamed (for CSV export); bounded memory."""
        candidate = self._candidate(log_id)
        with _OpenLog(candidate) as (fd, fmt):
            index = self._usable_index(candidate, fmt, fd)
            with self._open_columns(candidate, index, q) as columns:
                reader = Reader(fmt, fd, index, key_filter_for(fmt, category, code), q,
                                columns=columns)
                try:
                    yield from reader.all()
                except OSError as exc:
                    raise CopyLogError(f"the file cannot be read ({exc.strerror})") from exc

    def open_original(self, log_id: str) -> BinaryIO:
        """The log file opened for reading in binary, without leaving its root."""
        candidate = self._candidate(log_id)
        if candidate.target is None:
            raise CopyLogError(candidate.log.error or "the log cannot be opened")
        return os.fdopen(open_in_root(candidate.root_real, candidate.target), "rb")


class _OpenLog:
    """``with`` block giving ``(fd, format)`` of a readable log, else :class:`CopyLogError`."""

    def __init__(self, candidate: Candidate):
        self.candidate = candidate
        self.fd = -1

    def __enter__(self) -> tuple[int, Format]:
        if self.candidate.target is None:
            raise CopyLogError(self.candidate.log.error or "the log cannot be opened")
        self.fd = open_in_root(self.candidate.root_real, self.candidate.target)
        try:
            fmt = formats.sniff(read_head(self.fd), self.candidate.kind_hint)
        except CopyLogError:
            os.close(self.fd)
            raise
        if fmt is None:
            os.close(self.fd)
            raise CopyLogError("not a copy log in a known format")
        return self.fd, fmt

    def __exit__(self, *exc: object) -> None:
        os.close(self.fd)


def _remove_other_columns(path: str, token: str) -> None:
    """Delete the column files (and a killed build's worker files) of other builds of the index
    at ``path``."""
    folder, stem = os.path.split(path.removesuffix(".json"))
    keep = f"{stem}.{token}.paths"
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        if name.startswith(f"{stem}.") and ".paths" in name and name != keep \
                and not name.startswith(f"{keep}."):
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(folder, name))


def _kind(fmt: Format, hint: str | None) -> str:
    if fmt.name == "share":
        return hint if hint in ("upload", "refresh") else "upload"
    return fmt.name


def _counts(log: CopyLog, fmt: Format, index: Index) -> None:
    by_category: dict[str, int] = {}
    by_code: dict[str, int] = {}
    errors = warnings = 0
    for key, n in index.key_totals().items():
        category, code = key
        by_category[category or "(none)"] = by_category.get(category or "(none)", 0) + n
        by_code[code or "(none)"] = by_code.get(code or "(none)", 0) + n
        if fmt.severity(key) == "warning":
            warnings += n
        else:
            errors += n
    log.entries, log.errors, log.warnings = index.entries, errors, warnings
    log.by_category, log.by_code, log.indexed = by_category, by_code, True


def _status(log: CopyLog, declared: object) -> str:
    if log.error:
        return "unreadable"
    if isinstance(declared, str) and declared.casefold() == "failed":
        return "failed"
    if log.errors is not None:
        if log.errors:
            return "failed"
        return "warnings" if log.warnings else "succeeded"
    summary_errors = log.totals.get("errors")
    if isinstance(summary_errors, int):
        return "failed" if summary_errors else "succeeded"
    if isinstance(declared, str) and declared.casefold() == "succeeded":
        return "succeeded"
    return "unknown"


def discover(roots: list[str]) -> list[CopyLog]:
    """Every log under ``roots`` with what its first and last bytes say (no index)."""
    return CopyLogStore(roots, None).list()
