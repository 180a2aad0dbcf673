"""What the copy-log pages, the API and the overview card read from the store, with the small
caches that keep them cheap. Pages never wait for an index: they ask the indexer for it."""

from __future__ import annotations

import collections
import dataclasses
import os
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from diagnostics.copylogs import CopyLog, CopyLogError, CopyLogStore, Page, reference
from webui.copylogs.indexer import Indexer
from webui.copylogs.model import (
    KIND_LABELS,
    NONE,
    CategoryRow,
    CodeRow,
    EntryQuery,
    InvalidFilter,
    LogEntries,
    PageBeyondLast,
    parse_query,
    timestamp,
)
from webui.downloads import display_name

UPLOAD_KINDS = ("upload", "copy_log")
REFRESH_KINDS = ("refresh",)
UPLOAD_WINDOW_SECONDS = 86400
CARD_SECONDS = 30.0

_LOG_ID = re.compile(r"[A-Za-z0-9_-]{16}")
_CACHED_CODE_TABLES = 64


@dataclass
class CopyLogs:
    """The store, its indexer and small caches; one per app (``app.extensions["copylogs"]``)."""

    store: CopyLogStore
    indexer: Indexer
    code_tables: collections.OrderedDict = field(default_factory=collections.OrderedDict)
    card: tuple[float, dict[str, Any]] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def close(self) -> None:
        """Stop indexing: queued logs are dropped, running builds save what they have."""
        self.indexer.close()
        self.store.close()


def roots(copy_logs: CopyLogs) -> list[str]:
    """The configured roots (``WEBUI_COPYLOG_ROOTS``), as shown."""
    return [display_name(root) for root in copy_logs.store.roots]


def unreadable_roots(copy_logs: CopyLogs) -> dict[str, str]:
    """Configured roots that cannot be searched (as shown), with why."""
    problems = {}
    for root in copy_logs.store.roots:
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


def list_logs(copy_logs: CopyLogs, sort: str = "time", order: str = "desc") -> list[CopyLog]:
    """Every log, sorted; logs whose sort value is not known (errors not counted yet) come last
    either way."""
    logs = [shown(copy_log) for copy_log in copy_logs.store.list()]
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


# one log


def find(copy_logs: CopyLogs, log_id: str) -> CopyLog | None:
    """One log with its summary, names as shown; None for a malformed or unknown id."""
    if not _LOG_ID.fullmatch(log_id):
        return None
    try:
        return shown(copy_logs.store.summary(log_id))
    except KeyError:
        return None


def index_progress(copy_logs: CopyLogs, log_id: str) -> dict[str, Any]:
    """The library's index status with ``fraction`` (0…1) of the file covered."""
    status = copy_logs.store.index_status(log_id)
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


def code_rows(copy_logs: CopyLogs, copy_log: CopyLog) -> list[CodeRow]:
    """The summary by error code, most frequent first, with name, meaning and action.

    Codes of service copy logs mean something only with their category (409 is an HTTP status
    under ``UploadErrorCloudHttp``), which the counts leave out: the first entry of each code
    says which category it came with, and when the code also comes with others its meaning is
    left to the summary by category.
    """
    key = (copy_log.id, copy_log.size, copy_log.modified_at, copy_log.entries)
    with copy_logs.lock:
        cached = copy_logs.code_tables.get(key)
    if cached is not None:
        return cached
    rows = []
    for code, count in sorted(copy_log.by_code.items(), key=lambda kv: (-kv[1], kv[0])):
        category, only = None, True
        if copy_log.format == "copy_log":
            category, only = _category_of(copy_logs.store, copy_log, code, count)
        info = (reference.code_info(code, category) if code != NONE else None) or {}
        row = CodeRow(code, count, info.get("name"), info.get("meaning"), info.get("action"),
                      category)
        if not only:
            row.category = f"{category} and other categories"
            row.meaning = "Depends on the category; see the summary by category."
            row.action = None
        rows.append(row)
    with copy_logs.lock:
        copy_logs.code_tables[key] = rows
        while len(copy_logs.code_tables) > _CACHED_CODE_TABLES:
            copy_logs.code_tables.popitem(last=False)
    return rows


def _category_of(store: CopyLogStore, copy_log: CopyLog, code: str,
                 count: int) -> tuple[str | None, bool]:
    """The category of the first entry with ``code``, and whether every such entry has it."""
    if code == NONE:
        return None, True
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


def log_entries(copy_logs: CopyLogs, copy_log: CopyLog, args: Mapping[str, str],
                refuse_past_end: bool = True) -> LogEntries:
    """The page of entries a query string asks for; a refused filter or a log that cannot be
    read is said in the answer (``error``, ``log.error``), not raised.

    A page beyond the last is a refused filter when ``refuse_past_end`` (the pages offer the
    last one instead), an empty page otherwise (as every list of the API).
    """
    entries = LogEntries(copy_log, EntryQuery())
    try:
        entries.query = parse_query(args, copy_log)
        if copy_log.error is None:
            entries.page = _entries_page(copy_logs.store, copy_log, entries.query,
                                         refuse_past_end)
    except InvalidFilter as exc:
        entries.error = exc
    except CopyLogError as exc:
        copy_log.error = str(exc)
    return entries


def _entries_page(store: CopyLogStore, copy_log: CopyLog, query: EntryQuery,
                  refuse_past_end: bool) -> Page:
    """One page of matching entries; raises :class:`PageBeyondLast` for a page beyond the last
    (when ``refuse_past_end``) and :class:`CopyLogError` for a log that cannot be read."""
    page = store.entries(copy_log.id, query.page, query.per_page, query.category or None,
                         query.code or None, query.q or None)
    if refuse_past_end and query.page > 1 and not page.entries:
        raise PageBeyondLast(last_page(page), page.total_exact)
    return page


def last_page(page: Page) -> int:
    """The last page number known for ``page``'s query (a lower bound when not exact)."""
    return max(1, -(-page.total // page.per_page))


# upload errors: the overview card, the metrics and the alert rules


def upload_errors(copy_logs: CopyLogs, now: float, kinds: tuple[str, ...] = UPLOAD_KINDS
                  ) -> tuple[collections.Counter, collections.Counter]:
    """Errors of the logs of ``kinds`` (upload and copy logs) modified in the last 24 h by
    ``(share, kind)``, and how many of those logs are not counted yet (they are queued for
    indexing)."""
    errors: collections.Counter = collections.Counter()
    uncounted: collections.Counter = collections.Counter()
    waiting = []
    for copy_log in copy_logs.store.list():
        modified = timestamp(copy_log.modified_at)
        if copy_log.kind not in kinds or modified is None \
                or now - modified > UPLOAD_WINDOW_SECONDS:
            continue
        key = (copy_log.share or "", copy_log.kind)
        # Until the index covers a log, its summary element may already say how many.
        declared = copy_log.totals.get("errors", copy_log.totals.get("files_errored"))
        known = copy_log.errors if copy_log.errors is not None else \
            declared if isinstance(declared, int) else None
        errors[key] += known or 0
        if known is None and not copy_log.error:
            uncounted[key] += 1
            waiting.append(copy_log.id)
    copy_logs.indexer.request(waiting)
    return errors, uncounted


def upload_errors_last_day(copy_logs: CopyLogs, now: float) -> dict[str, Any]:
    """Upload errors counted in the upload and copy logs modified in the last 24 h.

    The figure is always the indexer's count of error entries, never the number a log's summary
    element declares: a log not counted yet adds nothing and is queued for indexing, and
    ``uncounted`` says how many such logs leave the figure partial. Kept for ``CARD_SECONDS``
    so that the overview stays cheap.
    """
    with copy_logs.lock:
        if copy_logs.card is not None and now - copy_logs.card[0] < CARD_SECONDS:
            return copy_logs.card[1]
    errors = logs = unreadable = 0
    uncounted: list[str] = []
    for copy_log in copy_logs.store.list():
        modified = timestamp(copy_log.modified_at)
        if copy_log.kind not in UPLOAD_KINDS or modified is None or now - modified > 86400:
            continue
        logs += 1
        if copy_log.error:
            unreadable += 1
        elif copy_log.errors is None:
            uncounted.append(copy_log.id)
        else:
            errors += copy_log.errors
    copy_logs.indexer.request(uncounted)
    card = {"configured": bool(roots(copy_logs)), "errors": errors, "logs": logs,
            "uncounted": len(uncounted), "unreadable": unreadable}
    with copy_logs.lock:
        copy_logs.card = (now, card)
    return card
