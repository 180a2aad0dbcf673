"""The plain result objects of the copy-log library, with ``to_dict()`` in the API's JSON shapes."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Entry:
    """One failing item of a log, whatever its format.

    ``code`` is an int for numeric codes and the symbolic name for copy-time errors that have
    none; ``severity`` is ``error`` or ``warning`` (renames, name warnings); ``offset`` is the byte
    offset of the element in the file; ``name_encoding`` is ``"Base64"`` when ``path`` was decoded
    from Base64 (``raw_name`` keeps the encoded text); ``problem`` says why an element was only
    partly readable (None for a clean one).
    """

    ordinal: int
    offset: int
    path: str
    category: str | None
    code: int | str | None
    code_name: str | None
    message: str | None
    type: str | None
    severity: str
    local: bool | None = None
    remote: bool | None = None
    cloud_format: str | None = None
    name_encoding: str | None = None
    raw_name: str | None = None
    invalid_utf8: bool = False
    problem: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """``{path, category, code, code_name, message, type, severity, …}`` (SPEC F6)."""
        return asdict(self)


@dataclass
class CopyLog:
    """A discovered log and what is known of it (the list row and the summary of SPEC F6).

    ``path`` is relative to ``root``; ``root``, ``share`` and ``path`` are names as the host
    gives them, with bytes that are not UTF-8 kept as lone surrogates (``os.fsdecode``), so the
    caller decides how to show them; ``kind`` is ``upload``, ``refresh``, ``copy_log`` or
    ``validation``; ``status`` is ``succeeded``, ``warnings``, ``failed``, ``unreadable`` or
    ``unknown`` (not indexed yet and no summary element); ``entries``/``errors``/``warnings``
    and the ``by_*`` counts are None until the index has covered the whole file
    (``indexed`` is then True). ``totals`` holds the summary element's counters
    (``total_files``, ``files_errored``, ``creates`` …), ``disk`` the nested disk summary of newer
    service logs. ``error`` is None or why the file could not be read; ``problems`` lists
    recoverable oddities (truncated tail, oversize element, invalid UTF-8 …).
    """

    id: str
    root: str
    share: str | None
    kind: str
    path: str
    modified_at: str
    size: int
    format: str | None = None
    status: str = "unknown"
    entries: int | None = None
    errors: int | None = None
    warnings: int | None = None
    by_category: dict[str, int] = field(default_factory=dict)
    by_code: dict[str, int] = field(default_factory=dict)
    container: str | None = None
    device: str | None = None
    timestamp: str | None = None
    totals: dict[str, Any] = field(default_factory=dict)
    disk: dict[str, Any] | None = None
    indexed: bool = False
    problems: list[str] = field(default_factory=list)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """``{id, root, share, kind, path, modified_at, size, status, entries, errors, warnings,
        by_category, by_code, error, …}`` (SPEC F6)."""
        return asdict(self)


@dataclass
class Page:
    """One page of entries. ``total`` counts every matching entry when ``total_exact``;
    otherwise it is a lower bound (index still building, or a path search stopped at its
    read budget)."""

    total: int
    page: int
    per_page: int
    entries: list[Entry]
    total_exact: bool = True

    def to_dict(self) -> dict[str, Any]:
        """``{total, page, per_page, entries: [entry…], total_exact}`` (SPEC F6)."""
        return {"total": self.total, "page": self.page, "per_page": self.per_page,
                "entries": [entry.to_dict() for entry in self.entries],
                "total_exact": self.total_exact}


class CopyLogError(Exception):
    """A log that cannot be read at all; the message says why, in the admin's words."""
