"""What the copy-log pages and the API show: labels, the filters a query string may ask for, and
the page of entries both of them read.

Filters and sort orders arrive as plain mappings (a query string) and are checked here, so the
pages and the API refuse the same values with the same words.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from diagnostics.copylogs import CopyLog, CopyLogError, Page, reference
from webui.limits import whole_number

KIND_LABELS = {"upload": "Upload", "refresh": "Refresh", "copy_log": "Copy log",
               "validation": "Copy-time validation"}
KIND_TITLES = {"upload": "Upload error log", "refresh": "Refresh error log",
               "copy_log": "Copy log", "validation": "Copy-time validation list"}
STATUS_LABELS = {"succeeded": "Succeeded", "warnings": "Warnings", "failed": "Failed",
                 "unreadable": "Unreadable", "unknown": "Not known yet"}
SORTS = {"share": "asc", "kind": "asc", "time": "desc", "errors": "desc"}
ORDERS = ("asc", "desc")
PER_PAGE = 100
PER_PAGE_CHOICES = (10, 25, 50, 100, 250, 500)
PER_PAGE_MIN, PER_PAGE_MAX = 10, 500
MAX_PAGE = 10_000_000
Q_MAX = 200
CODE_MAX = 64
CODE_RULE = "a number such as 2004 or an error name such as ERROR_UNABLE_TO_CONNECT"

NONE = "(none)"  # the store's key for entries without a category or code

NUMERIC_CODE = r"[0-9]{1,10}"
_NUMERIC_CODE = re.compile(NUMERIC_CODE)

# Copy logs write dates in the device's local time, naming no zone: read them in this device's.
LOG_DATE = "%m/%d/%Y %H:%M:%S"


class InvalidFilter(ValueError):
    """A query-string value the page or API refuses: ``field`` and the ``rule`` it broke."""

    def __init__(self, field: str, rule: str):
        super().__init__(f"{field}: {rule}")
        self.field, self.rule = field, rule


class PageBeyondLast(InvalidFilter):
    """A page number past the last page of entries: there are ``pages`` (or, while the log is
    still being indexed, at least that many: ``exact`` is False)."""

    def __init__(self, pages: int, exact: bool = True):
        last = "the last page" if exact else "the last page found so far"
        super().__init__("page", f"at most {pages}, {last}")
        self.pages, self.exact = pages, exact


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
class LogEntries:
    """A page of one log's entries, as the log page and the API read it.

    ``page`` is None when the filters were refused (``error``) or the log cannot be read
    (``log.error`` says why).
    """

    log: CopyLog
    query: EntryQuery
    page: Page | None = None
    error: InvalidFilter | None = None

    def checked(self) -> Page:
        """The page; raises the refused filter or :class:`CopyLogError` when there is none."""
        if self.error is not None:
            raise self.error
        if self.page is None:
            raise unreadable(self.log.error)
        return self.page


def unreadable(reason: str | None) -> CopyLogError:
    """The error of a log whose entries cannot be read, saying why."""
    return CopyLogError(f"This copy log cannot be read: {reason}")


@dataclass
class CodeRow:
    """One line of the summary by error code."""

    code: str
    count: int
    name: str | None
    meaning: str | None
    action: str | None
    category: str | None = None

    @property
    def number(self) -> str | None:
        """The numeric code: the code itself, or the number the reference gives a copy-time
        error's name; None for an error known only by its name."""
        if self.code.isdigit():
            return self.code
        info = reference.code_info(self.code)
        return str(info["code"]) if info and isinstance(info["code"], int) else None


@dataclass
class CategoryRow:
    """One line of the summary by category."""

    name: str
    count: int
    severity: str | None
    meaning: str | None
    action: str | None


def timestamp(iso: str | None) -> float | None:
    """Seconds since the epoch of an ISO 8601 time (None when absent or unreadable)."""
    try:
        return dt.datetime.fromisoformat(iso).timestamp() if iso else None
    except ValueError:
        return None


def log_date(text: str | None) -> float | None:
    """Seconds since the epoch of a date as the logs write it (``11/20/2026 08:01:02``), read in
    the device's time zone; None when absent or unreadable."""
    try:
        written = dt.datetime.strptime((text or "").strip(), LOG_DATE)
    except ValueError:
        return None
    return written.astimezone().timestamp()


def parse_sort(args: Mapping[str, str]) -> tuple[str, str]:
    """``(sort, order)`` from ``?sort=&order=``; raises :class:`InvalidFilter`."""
    sort = args.get("sort") or "time"
    if sort not in SORTS:
        raise InvalidFilter("sort", f"one of {', '.join(SORTS)}")
    order = args.get("order") or SORTS[sort]
    if order not in ORDERS:
        raise InvalidFilter("order", "asc or desc")
    return sort, order


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


def code_names() -> list[str]:
    """Every error name a code filter may use: the per-share codes' and the copy-time ones."""
    return sorted({info["name"] for info in reference.codes().values()}
                  | set(reference.symbolic_errors()))


def _parse_code(code: str, log_format: str | None) -> str:
    # A name the log's format does not use is a filter that matches nothing, not a mistake.
    if not code or _NUMERIC_CODE.fullmatch(code):
        return code
    names = {name.casefold(): name for name in code_names()}
    if len(code) <= CODE_MAX and code.casefold() in names:
        return names[code.casefold()]
    if log_format == "copy_log":
        raise InvalidFilter("code", "a number, as in the log's ErrorCode (e.g. 409)")
    raise InvalidFilter("code", CODE_RULE)


def _whole_number(args: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    text = (args.get(name) or "").strip()
    if not text:
        return default
    number = whole_number(text, low, high)
    if number is None:
        raise InvalidFilter(name, f"a whole number from {low} to {high}")
    return number
