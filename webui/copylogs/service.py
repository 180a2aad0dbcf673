"""What the copy-log pages and the API show, gathered without touching ``request``.

Filters and sort orders arrive as plain mappings (a query string) and are checked here, so the
pages and the API refuse the same values with the same words. Indexing runs in one background
thread, one log at a time; pages never wait for it.
"""

from __future__ import annotations

import collections
import csv
import dataclasses
import datetime as dt
import io
import itertools
import logging
import os
import re
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from flask import current_app

from diagnostics.copylogs import CopyLog, CopyLogError, CopyLogStore, Entry, Page, reference
from webui.downloads import display_name

log = logging.getLogger(__name__)

KIND_LABELS = {"upload": "Upload", "refresh": "Refresh", "copy_log": "Copy log",
               "validation": "Copy-time validation"}
KIND_TITLES = {"upload": "Upload error log", "refresh": "Refresh error log",
               "copy_log": "Copy log", "validation": "Copy-time validation list"}
STATUS_LABELS = {"succeeded": "Succeeded", "warnings": "Warnings", "failed": "Failed",
                 "unreadable": "Unreadable", "unknown": "Not known yet"}
SORTS = {"share": "asc", "kind": "asc", "time": "desc", "errors": "desc"}
PER_PAGE = 100
PER_PAGE_CHOICES = (10, 25, 50, 100, 250, 500)
PER_PAGE_MIN, PER_PAGE_MAX = 10, 500
MAX_PAGE = 10_000_000
Q_MAX = 200
CODE_MAX = 64
UPLOAD_KINDS = ("upload", "copy_log")
CARD_SECONDS = 30.0
CSV_FIELDS = ("path", "category", "code", "code_name", "severity", "message", "type", "local",
              "remote", "cloud_format", "name_encoding", "raw_name", "problem")

NONE = "(none)"  # the store's key for entries without a category or code

_LOG_ID = re.compile(r"[A-Za-z0-9_-]{16}")
_NUMERIC_CODE = re.compile(r"\d{1,10}")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_CACHED_CODE_TABLES = 64


class InvalidFilter(ValueError):
    """A query-string value the page or API refuses: ``field`` and the ``rule`` it broke."""

    def __init__(self, field: str, rule: str):
        super().__init__(f"{field}: {rule}")
        self.field, self.rule = field, rule


@dataclass(frozen=True)
class EntryQuery:
    """Which entries to show: filters (empty string for none), page and page size."""

    category: str = ""
    code: str = ""
    q: str = ""
    page: int = 1
    per_page: int = PER_PAGE

    def filters(self) -> dict[str, str]:
        """The filters in use, as query-string values (for links, exports and the audit)."""
        return {k: v for k, v in (("category", self.category), ("code", self.code),
                                  ("q", self.q)) if v}

    def args(self, **changes: Any) -> dict[str, Any]:
        """Query-string values of this query with ``changes``; defaults left out."""
        values = {**self.filters(), "page": self.page, "per_page": self.per_page, **changes}
        if values["page"] == 1:
            del values["page"]
        if values["per_page"] == PER_PAGE:
            del values["per_page"]
        return values


@dataclass
class CodeRow:
    """One line of the summary by error code."""

    code: str
    count: int
    name: str | None
    meaning: str | None
    action: str | None
    category: str | None = None


@dataclass
class CategoryRow:
    """One line of the summary by category."""

    name: str
    count: int
    severity: str | None
    meaning: str | None
    action: str | None


class Indexer:
    """Builds indexes in one daemon thread, one log at a time; a log being viewed goes first.

    The thread ends when nothing is queued and starts again on the next request.
    """

    def __init__(self, store: CopyLogStore):
        self.store = store
        self._queue: collections.deque[str] = collections.deque()
        self._queued: set[str] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def request(self, log_ids: Iterable[str], first: bool = False) -> None:
        """Queue logs for indexing (``first``: ahead of the others)."""
        with self._lock:
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
            if self._queue and (self._thread is None or not self._thread.is_alive()):
                self._thread = threading.Thread(target=self._run, name="copylog-indexer",
                                                daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            with self._lock:
                if not self._queue:
                    self._thread = None
                    return
                log_id = self._queue.popleft()
                self._queued.discard(log_id)
            try:
                self.store.ensure_index(log_id)
            except Exception:
                # A log that vanished or a full instance disk must not stop the other logs.
                log.warning("indexing copy log %s failed", log_id, exc_info=True)


@dataclass
class CopyLogs:
    """The store, its indexer and small caches; one per app (``app.extensions["copylogs"]``)."""

    store: CopyLogStore
    indexer: Indexer = field(init=False)
    code_tables: collections.OrderedDict = field(default_factory=collections.OrderedDict)
    card: tuple[float, dict[str, Any]] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.indexer = Indexer(self.store)


def copy_logs() -> CopyLogs:
    """This app's copy logs."""
    return current_app.extensions["copylogs"]


def roots() -> list[str]:
    """The configured roots (``WEBUI_COPYLOG_ROOTS``), as shown."""
    return [display_name(root) for root in copy_logs().store.roots]


def unreadable_roots() -> dict[str, str]:
    """Configured roots that cannot be searched (as shown), with why."""
    problems = {}
    for root in copy_logs().store.roots:
        if not os.path.isdir(root):
            problems[display_name(root)] = "not found or not a folder"
        elif not os.access(root, os.R_OK | os.X_OK):
            problems[display_name(root)] = "not readable by the web UI"
    return problems


def shown(copy_log: CopyLog) -> CopyLog:
    """The log with the names it has from the host (root, share, path) as text for people:
    U+FFFD for bytes that are not UTF-8 and for control and format characters."""
    share = display_name(copy_log.share) if copy_log.share is not None else None
    return dataclasses.replace(copy_log, root=display_name(copy_log.root), share=share,
                               path=display_name(copy_log.path))


# the list


def parse_sort(args: Mapping[str, str]) -> tuple[str, str]:
    """``(sort, order)`` from ``?sort=&order=``; raises :class:`InvalidFilter`."""
    sort = args.get("sort") or "time"
    if sort not in SORTS:
        raise InvalidFilter("sort", f"one of {', '.join(SORTS)}")
    order = args.get("order") or SORTS[sort]
    if order not in ("asc", "desc"):
        raise InvalidFilter("order", "asc or desc")
    return sort, order


def list_logs(sort: str = "time", order: str = "desc") -> list[CopyLog]:
    """Every log, sorted; logs whose sort value is not known (errors not counted yet) come last
    either way."""
    logs = [shown(copy_log) for copy_log in copy_logs().store.list()]
    keys = {"share": lambda row: ((row.share or "").casefold(), row.path.casefold()),
            "kind": lambda row: (KIND_LABELS.get(row.kind, row.kind), row.path.casefold()),
            "time": lambda row: (row.modified_at, row.path.casefold()),
            "errors": lambda row: (row.errors or 0, row.path.casefold())}
    known = [row for row in logs if sort != "errors" or row.errors is not None]
    unknown = [row for row in logs if sort == "errors" and row.errors is None]
    return sorted(known, key=keys[sort], reverse=order == "desc") + unknown


def unindexed(logs: Iterable[CopyLog]) -> list[str]:
    """Ids of the logs whose counts are not known yet and that can be read."""
    return [copy_log.id for copy_log in logs
            if copy_log.entries is None and copy_log.error is None]


def indexer() -> Indexer:
    """This app's background indexer."""
    return copy_logs().indexer


def timestamp(iso: str | None) -> float | None:
    """Seconds since the epoch of an ISO 8601 time (None when absent or unreadable)."""
    try:
        return dt.datetime.fromisoformat(iso).timestamp() if iso else None
    except ValueError:
        return None


# one log


def find(log_id: str) -> CopyLog:
    """One log with its summary, names as shown; ``LookupError`` for a malformed or unknown
    id."""
    if not _LOG_ID.fullmatch(log_id):
        raise LookupError(log_id)
    return shown(copy_logs().store.summary(log_id))


def index_progress(log_id: str) -> dict[str, Any]:
    """The library's index status with ``fraction`` (0…1) of the file covered."""
    status = copy_logs().store.index_status(log_id)
    size = status["size"] or 0
    done = status["state"] == "complete"
    status["fraction"] = 1.0 if done or not size else min(1.0, status["indexed_bytes"] / size)
    return status


def category_names() -> list[str]:
    """Every category of the reference, for the filter before a log's own are counted."""
    return sorted(reference.categories())


def category_rows(copy_log: CopyLog) -> list[CategoryRow]:
    """The summary by category, most frequent first, with meaning and recommended action."""
    rows = []
    for name, count in sorted(copy_log.by_category.items(), key=lambda kv: (-kv[1], kv[0])):
        info = reference.category_info(name) or {}
        rows.append(CategoryRow(name, count, info.get("severity"), info.get("meaning"),
                                info.get("action")))
    return rows


def code_rows(copy_log: CopyLog) -> list[CodeRow]:
    """The summary by error code, most frequent first, with name, meaning and action.

    Codes of service copy logs mean something only with their category (409 is an HTTP status
    under ``UploadErrorCloudHttp``), which the counts leave out: the first entry of each code
    says which category it came with, and when the code also comes with others its meaning is
    left to the summary by category.
    """
    cache = copy_logs()
    key = (copy_log.id, copy_log.size, copy_log.modified_at, copy_log.entries)
    with cache.lock:
        cached = cache.code_tables.get(key)
    if cached is not None:
        return cached
    rows = []
    for code, count in sorted(copy_log.by_code.items(), key=lambda kv: (-kv[1], kv[0])):
        category, only = None, True
        if copy_log.format == "copy_log":
            category, only = _category_of(copy_log, code, count)
        info = (reference.code_info(code, category) if code != NONE else None) or {}
        row = CodeRow(code, count, info.get("name"), info.get("meaning"), info.get("action"),
                      category)
        if not only:
            row.category = f"{category} and other categories"
            row.meaning = "Depends on the category; see the summary by category."
            row.action = None
        rows.append(row)
    with cache.lock:
        cache.code_tables[key] = rows
        while len(cache.code_tables) > _CACHED_CODE_TABLES:
            cache.code_tables.popitem(last=False)
    return rows


def _category_of(copy_log: CopyLog, code: str, count: int) -> tuple[str | None, bool]:
    """The category of the first entry with ``code``, and whether every such entry has it."""
    if code == NONE:
        return None, True
    store = copy_logs().store
    try:
        first = store.entries(copy_log.id, per_page=1, code=code).entries
        if not first or first[0].category is None:
            return None, True
        category = first[0].category
        same = store.entries(copy_log.id, per_page=1, category=category, code=code).total
    except (CopyLogError, KeyError):
        return None, True
    return category, same == count


def totals_rows(copy_log: CopyLog) -> list[tuple[str, Any]]:
    """The counters of the log's own summary element, labelled for people."""
    labels = {"total_files": "Total files", "files_errored": "Files with errors",
              "runtime": "Run time", "errors": "Errors", "creates": "Created",
              "deletes": "Deleted", "insync": "In sync", "replaces": "Replaced",
              "pending": "Pending"}
    return [(labels.get(name, name.replace("_", " ").capitalize()), value)
            for name, value in copy_log.totals.items()]


# entries


def parse_query(args: Mapping[str, str], copy_log: CopyLog) -> EntryQuery:
    """The entry filters and page of a query string; raises :class:`InvalidFilter`."""
    category = (args.get("category") or "").strip()
    if category:
        # A log may carry a category the reference does not know; it can still be filtered.
        known = {name.casefold(): name
                 for name in (*reference.categories(), *copy_log.by_category) if name != NONE}
        if category.casefold() not in known:
            raise InvalidFilter("category", "a category of the reference, such as "
                                            "UploadErrorCloudHttp or Upload")
        category = known[category.casefold()]
    code = (args.get("code") or "").strip()
    if code not in copy_log.by_code or code == NONE:
        code = _parse_code(code, copy_log.format)
    q = (args.get("q") or "").strip()
    if len(q) > Q_MAX:
        raise InvalidFilter("q", f"at most {Q_MAX} characters")
    page = _whole_number(args, "page", 1, 1, MAX_PAGE)
    per_page = _whole_number(args, "per_page", PER_PAGE, PER_PAGE_MIN, PER_PAGE_MAX)
    return EntryQuery(category, code, q, page, per_page)


def _parse_code(code: str, log_format: str | None) -> str:
    if not code or _NUMERIC_CODE.fullmatch(code):
        return code
    if log_format == "copy_log":
        raise InvalidFilter("code", "a number, as in the log's ErrorCode (e.g. 409)")
    names = {info["name"] for info in reference.codes().values()}
    if log_format != "share":
        names |= set(reference.symbolic_errors())
    if len(code) > CODE_MAX or code.upper() not in names:
        raise InvalidFilter("code", "a number such as 2004 or an error name such as "
                                    "ERROR_UNABLE_TO_CONNECT")
    return code.upper()


def _whole_number(args: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    text = (args.get(name) or "").strip()
    if not text:
        return default
    if not text.isdigit() or not low <= int(text) <= high:
        raise InvalidFilter(name, f"a whole number from {low} to {high}")
    return int(text)


def entries_page(copy_log: CopyLog, query: EntryQuery) -> Page:
    """One page of matching entries; raises :class:`InvalidFilter` for a page beyond the last
    and :class:`CopyLogError` for a log that cannot be read."""
    page = copy_logs().store.entries(copy_log.id, query.page, query.per_page,
                                     query.category or None, query.code or None,
                                     query.q or None)
    if query.page > 1 and not page.entries:
        raise InvalidFilter("page", f"beyond the last page ({last_page(page)})")
    return page


def last_page(page: Page) -> int:
    """The last page number known for ``page``'s query (a lower bound when not exact)."""
    return max(1, -(-page.total // page.per_page))


def csv_lines(copy_log: CopyLog, query: EntryQuery) -> Iterator[str]:
    """Every matching entry as CSV text, header first, streamed; cells a spreadsheet would run
    as a formula are prefixed with an apostrophe.

    The log is opened before this returns, so a log that cannot be read raises
    :class:`CopyLogError` here rather than in the middle of the response.
    """
    entries = copy_logs().store.iter_entries(copy_log.id, query.category or None,
                                             query.code or None, query.q or None)
    first = next(entries, None)
    return _csv_stream(itertools.chain([first] if first is not None else [], entries))


def _csv_stream(entries: Iterator[Entry]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_FIELDS)
    for n, entry in enumerate(entries, 1):
        writer.writerow(_csv_row(entry))
        if n % 200 == 0:
            yield _drain(buffer)
    yield _drain(buffer)


def _csv_row(entry: Entry) -> list[Any]:
    return [_spreadsheet_safe(getattr(entry, name)) for name in CSV_FIELDS]


def _spreadsheet_safe(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def open_original(copy_log: CopyLog) -> BinaryIO:
    """The log file, opened without leaving its root; raises :class:`CopyLogError`."""
    return copy_logs().store.open_original(copy_log.id)


def file_name(copy_log: CopyLog) -> str:
    """The log's own file name."""
    return copy_log.path.rsplit("/", 1)[-1]


def export_name(copy_log: CopyLog) -> str:
    """The file name of the CSV export of a log: its share and its own name."""
    stem = file_name(copy_log).rsplit(".", 1)[0]
    return f"{copy_log.share or 'log'}-{stem}.csv"


# the overview card


def upload_errors_last_day(now: float) -> dict[str, Any]:
    """Upload errors in upload and copy logs modified in the last 24 h.

    A log not counted yet contributes the errors its summary element declares; ``uncounted``
    says how many logs declared none and are still being counted. Kept for ``CARD_SECONDS``
    so that the overview stays cheap.
    """
    cache = copy_logs()
    with cache.lock:
        if cache.card is not None and now - cache.card[0] < CARD_SECONDS:
            return cache.card[1]
    errors = logs = unreadable = 0
    uncounted: list[str] = []
    for copy_log in copy_logs().store.list():
        modified = timestamp(copy_log.modified_at)
        if copy_log.kind not in UPLOAD_KINDS or modified is None or now - modified > 86400:
            continue
        logs += 1
        if copy_log.error:
            unreadable += 1
        elif copy_log.errors is not None:
            errors += copy_log.errors
        else:
            declared = copy_log.totals.get("errors", copy_log.totals.get("files_errored"))
            if isinstance(declared, int):
                errors += declared
            else:
                uncounted.append(copy_log.id)
    indexer().request(uncounted)
    card = {"configured": bool(roots()), "errors": errors, "logs": logs,
            "uncounted": len(uncounted), "unreadable": unreadable}
    with cache.lock:
        cache.card = (now, card)
    return card
