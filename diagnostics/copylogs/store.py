"""The copy logs under the configured roots, as the web pages and the API use them.

One :class:`CopyLogStore` per process. It discovers logs, summarises them (cheaply from the
first and last bytes, fully once indexed), pages and filters their entries and streams them for
export. Paging never waits for the index: what is indexed is found through block counts, the
rest is read in order from where the index stops. Indexing runs in
:meth:`CopyLogStore.ensure_index`, meant for a background thread
(:meth:`CopyLogStore.index_in_background` starts one).
"""

from __future__ import annotations

import bisect
import collections
import contextlib
import hashlib
import itertools
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import BinaryIO

from diagnostics.copylogs import formats, reference
from diagnostics.copylogs import index as indexing
from diagnostics.copylogs.discovery import Candidate, open_in_root, read_head, walk
from diagnostics.copylogs.formats import Format, Key
from diagnostics.copylogs.index import Index
from diagnostics.copylogs.models import CopyLog, CopyLogError, Entry, Page

TAIL_BYTES = 64 << 10
PATH_SEARCH_BUDGET = 8 << 20
DISCOVERY_TTL = 10.0
MAX_PER_PAGE = 1000
_CACHED_INDEXES = 16
_MAX_NOT_LOGS = 20_000

KeyFilter = Callable[[Key], bool]


class CopyLogStore:
    """Copy logs under ``roots``; indexes kept in ``index_dir`` (created if missing; None
    keeps no index, so counts stay unknown and paging reads in order).

    Every method taking a ``log_id`` raises ``KeyError`` for an unknown id. Filters:
    ``category`` (exact, case-insensitive), ``code`` (the code as written, its number or its
    symbolic name, e.g. ``2000`` or ``ERROR_ETAG_MISMATCH``), ``q`` (case-insensitive substring
    of the entry path). Category and code filters are answered from the index; ``q`` reads the
    blocks that may match, so its cost grows with the file (a few seconds per GiB when the
    page fills late or never); after its page is filled it counts on for at most
    ``PATH_SEARCH_BUDGET`` bytes, beyond which ``Page.total`` is a lower bound.
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
            fmt = formats.sniff(head)
        except CopyLogError as exc:
            log.error, log.status = str(exc), "unreadable"
            return log
        if fmt is None:
            if candidate.kind_hint is None:
                if len(self._not_logs) > _MAX_NOT_LOGS:
                    self._not_logs.clear()
                self._not_logs.add(stamp)
                return None
            if head.strip():
                log.error = "not a copy log in a known format (no entry or summary element)"
                log.status = "unreadable"
            else:
                log.status = "succeeded"
                log.entries = log.errors = log.warnings = 0
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

    def ensure_index(self, log_id: str) -> dict[str, object]:
        """Build or extend the index of one log; returns :meth:`index_status`.

        Safe to call from any thread: when another thread is already indexing this log, it
        returns at once. Cancelled by :meth:`close`.
        """
        candidate = self._candidate(log_id)
        with self._lock:
            lock = self._building.setdefault(log_id, threading.Lock())
        if not lock.acquire(blocking=False):
            return self.index_status(log_id)
        try:
            self._build(candidate)
        finally:
            lock.release()
        return self.index_status(log_id)

    def _build(self, candidate: Candidate) -> None:
        if candidate.target is None or self.index_dir is None:
            return
        try:
            fd = open_in_root(candidate.root_real, candidate.target)
        except CopyLogError:
            return
        try:
            fmt = formats.sniff(read_head(fd))
            if fmt is None:
                return
            path = self._index_path(candidate)
            if path is None:
                return
            # a private copy: readers keep using the cached one while this one grows
            index = indexing.reusable(indexing.load(path), fmt, fd) or indexing.fresh(fmt, fd)
            if index.complete:
                return
            indexing.update(index, fmt, fd, lambda idx: indexing.store(path, idx), self._cancel,
                            (candidate.root_real, candidate.target))
            self._index_errors.pop(candidate.log.id, None)
        except CopyLogError:
            return
        except OSError as exc:
            # e.g. a full or read-only instance directory: paging still works without it
            self._index_errors[candidate.log.id] = f"the index cannot be written ({exc.strerror})"
        finally:
            os.close(fd)

    def index_in_background(self, log_id: str) -> threading.Thread | None:
        """Start :meth:`ensure_index` in a daemon thread unless that log is being indexed."""
        candidate = self._candidate(log_id)
        lock = self._building.get(candidate.log.id)
        if lock is not None and lock.locked():
            return None
        thread = threading.Thread(target=self.ensure_index, args=(log_id,), daemon=True,
                                  name=f"copylog-index-{log_id}")
        thread.start()
        return thread

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
            reader = _Reader(fmt, fd, self._usable_index(candidate, fmt, fd),
                             _key_filter(fmt, category, code), q)
            try:
                return reader.page(page, per_page)
            except OSError as exc:
                raise CopyLogError(f"the file cannot be read ({exc.strerror})") from exc

    def iter_entries(self, log_id: str, category: str | None = None, code: str | None = None,
                     q: str | None = None) -> Iterator[Entry]:
        """Every matching entry in file order, streamed (for CSV export); bounded memory."""
        candidate = self._candidate(log_id)
        with _OpenLog(candidate) as (fd, fmt):
            reader = _Reader(fmt, fd, self._usable_index(candidate, fmt, fd),
                             _key_filter(fmt, category, code), q)
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
            fmt = formats.sniff(read_head(self.fd))
        except CopyLogError:
            os.close(self.fd)
            raise
        if fmt is None:
            os.close(self.fd)
            raise CopyLogError("not a copy log in a known format")
        return self.fd, fmt

    def __exit__(self, *exc: object) -> None:
        os.close(self.fd)


class _Reader:
    """Pages and streams the matching entries of one open log."""

    def __init__(self, fmt: Format, fd: int, index: Index | None, key_filter: KeyFilter | None,
                 q: str | None):
        self.fmt, self.fd, self.index = fmt, fd, index
        self.key_filter = key_filter
        self.q = q.casefold() if q else None
        needle = q.lower().encode() if q and q.isascii() and not set(q) & set("&<>\"'") \
            else None
        self.needle = needle if fmt.name != "validation" else None
        self.wanted: dict[int, bool] = {}

    def _matches_key(self, key_id: int) -> bool:
        if key_id not in self.wanted:
            assert self.index is not None
            self.wanted[key_id] = self.key_filter is None or self.key_filter(
                self.index.keys[key_id])
        return self.wanted[key_id]

    def _block_matches(self, block: indexing.Block) -> int:
        if self.key_filter is None:
            return block.count
        return sum(n for key_id, n in block.keys.items() if self._matches_key(key_id))

    def _entries_in(self, offset: int, data: bytes, first: int,
                    skip: int = 0) -> Iterator[Entry]:
        """Matching entries of a block; without a path search, the first ``skip`` matches are
        passed over unread."""
        lowered = data.lower() if self.needle is not None and b"&#" not in data else None
        if lowered is not None and self.needle not in lowered:
            return
        spans = self.fmt.spans(data)
        candidates: Iterator[int] | range | list[int] = range(len(spans))
        if lowered is not None:
            # only entries holding the text can match: find it once in the whole block
            candidates = _holding(lowered, self.needle, [a for a, _ in spans])
        if self.key_filter is not None:
            keys = self.fmt.keys(data)
            wanted = {key for key in set(keys) if self.key_filter(key)}
            candidates = [i for i in candidates if keys[i] in wanted]
        for i in candidates:
            if skip:
                skip -= 1
                continue
            a, b = spans[i]
            entry = self.fmt.entry(data[a:b], offset + a, first + i)
            if self.q is None or self.q in entry.path.casefold():
                yield entry

    def _rest(self) -> Iterator[tuple[int, bytes, int]]:
        """Blocks after the indexed part, read in order: (offset, bytes, first ordinal)."""
        start = self.index.scanned_until if self.index else 0
        first = self.index.entries if self.index else 0
        end = os.fstat(self.fd).st_size
        for offset, data in indexing.scan(self.fmt, self.fd, start, end, _ignore, _ignore):
            yield offset, data, first
            first += self.fmt.count(data)

    def _count(self, data: bytes) -> int:
        if self.key_filter is None:
            return self.fmt.count(data)
        return sum(1 for key in self.fmt.keys(data) if self.key_filter(key))

    def all(self) -> Iterator[Entry]:
        for block in self.index.blocks if self.index else []:
            if self._block_matches(block):
                data = os.pread(self.fd, block.length, block.offset)
                yield from self._entries_in(block.offset, data, block.first)
        for offset, data, first in self._rest():
            yield from self._entries_in(offset, data, first)

    def page(self, page: int, per_page: int) -> Page:
        skip = (page - 1) * per_page
        found: list[Entry] = []
        total, exact, budget = 0, True, PATH_SEARCH_BUDGET
        for block in self.index.blocks if self.index else []:
            n = self._block_matches(block)
            if not n:
                continue
            if self.q is None:
                total += n
                if len(found) < per_page and skip >= n:
                    skip -= n
                    continue
                if len(found) >= per_page:
                    continue
            elif len(found) >= per_page:
                budget -= block.length
                if budget < 0:
                    exact = False
                    break
            data = os.pread(self.fd, block.length, block.offset)
            if self.q is None:
                found.extend(itertools.islice(
                    self._entries_in(block.offset, data, block.first, skip), per_page - len(found)))
                skip = 0
            else:
                for entry in self._entries_in(block.offset, data, block.first):
                    total += 1
                    if skip:
                        skip -= 1
                    elif len(found) < per_page:
                        found.append(entry)
        if exact and not (self.index and self.index.complete):
            for offset, data, first in self._rest():
                if self.q is None:
                    n = self._count(data)
                    total += n
                    if skip >= n:
                        skip -= n
                    else:
                        found.extend(itertools.islice(self._entries_in(
                            offset, data, first, skip), per_page - len(found)))
                        skip = 0
                else:
                    for entry in self._entries_in(offset, data, first):
                        total += 1
                        if skip:
                            skip -= 1
                        elif len(found) < per_page:
                            found.append(entry)
                if len(found) >= per_page:
                    exact = False
                    break
        return Page(total=total, page=page, per_page=per_page, entries=found, total_exact=exact)


def _holding(lowered: bytes, needle: bytes, starts: list[int]) -> Iterator[int]:
    """Indexes of the entries (by their start offsets) whose bytes contain ``needle``."""
    last = -1
    pos = lowered.find(needle)
    while pos >= 0:
        i = bisect.bisect_right(starts, pos) - 1
        if i >= 0 and i != last:
            yield i
            last = i
        pos = lowered.find(needle, max(pos + 1, starts[i + 1] if i + 1 < len(starts) else 0))


def _ignore(_text: str) -> None:
    """Problems met while paging are reported by the index and the summary, not per page."""


def _key_filter(fmt: Format, category: str | None, code: str | None) -> KeyFilter | None:
    if not category and not code:
        return None
    wanted_category = category.casefold() if category else None
    wanted_code = code.strip().casefold() if code else None
    cache: dict[Key, bool] = {}

    def matches(key: Key) -> bool:
        if key not in cache:
            key_category, key_code = key
            ok = wanted_category is None or (key_category or "").casefold() == wanted_category
            if ok and wanted_code is not None:
                ok = wanted_code in _code_aliases(fmt, key)
            cache[key] = ok
        return cache[key]

    return matches


def _code_aliases(fmt: Format, key: Key) -> set[str]:
    """The ways a user may write an entry's code: as written, its number, its name."""
    category, code = key
    aliases = {(code or "").casefold()}
    info = reference.code_info(code, category if fmt.name == "copy_log" else None)
    if info:
        aliases |= {str(info["code"]).casefold(), str(info["name"]).casefold()}
    return aliases


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
