"""Models of the ``/api/v1/copylogs`` operations: the list, one log's summary, its entries."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import ConfigDict, Field, field_validator

from diagnostics.copylogs import reference
from webui.api.contract import Out, Page, Paging, QueryNumber
from webui.api.schemas import Timestamp
from webui.copylogs import model

SORT = Literal[tuple(model.SORTS)]
ORDER = Literal[model.ORDERS]
KIND = Literal[tuple(model.KIND_LABELS)]
STATUS = Literal[tuple(model.STATUS_LABELS)]
CATEGORY = Literal[tuple(sorted(reference.categories()))]
# A code filter is the number or the error name; one pattern, so that a refusal names `code`.
CODE = f"^({model.NUMERIC_CODE}|{'|'.join(model.code_names())})$"
INDEX_STATE = Literal["none", "partial", "complete", "unavailable"]
NAME_AS_TEXT = ("As text: bytes that are not UTF-8 and control or format characters are "
                "U+FFFD.")
COUNTED = "Null until the whole log has been indexed."


# The list


class LogListQuery(Paging):
    sort: SORT = Field("time", description="What the list is sorted by.")
    order: ORDER | None = Field(None, description="Default: ascending for share and kind, "
                                                  "descending (newest, most errors) otherwise.")


class CopyLog(Out):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "id": "Zk3q9v0cXbT1aH2e", "root": "/var/log/databox", "share": "share1",
        "kind": "upload", "path": "share1/Microsoft Data Box Edge/Upload/upload-2019-03-18.xml",
        "modified_at": "2019-03-18T10:22:01Z", "size": 5120, "format": "share",
        "status": "failed", "entries": 24, "errors": 24, "warnings": 0,
        "by_category": {"Upload": 20, "BlobOrFileName": 4}, "by_code": {"2000": 1},
        "container": "share1", "device": "DBE-1", "timestamp": "2019-03-18T10:00:00",
        "totals": {"errors": 24, "creates": 100}, "disk": None, "indexed": True,
        "problems": [], "error": None}]})

    id: str = Field(description="How to reach this log in the API; stable across restarts.")
    root: str = Field(description=f"The configured root the log was found under. "
                                  f"{NAME_AS_TEXT}")
    share: str | None = Field(description=f"The share the log is about. {NAME_AS_TEXT}")
    kind: KIND
    path: str = Field(description=f"Relative to its root. {NAME_AS_TEXT}")
    modified_at: Timestamp | None = Field(
        description="When the file last changed; null when it cannot be examined.")
    size: int = Field(ge=0, description="Bytes.")
    format: str | None = Field(description="How the file is written (share, copy_log, "
                                           "validation); null when it cannot be read.")
    status: STATUS
    entries: int | None = Field(ge=0, description=f"Entries in the log. {COUNTED}")
    errors: int | None = Field(ge=0, description=COUNTED)
    warnings: int | None = Field(ge=0, description=COUNTED)
    by_category: dict[str, int] = Field(description="Entries per category; `(none)` for "
                                                    "entries without one. Empty until indexed.")
    by_code: dict[str, int] = Field(description="Entries per error code, as written; `(none)` "
                                                "for entries without one. Empty until indexed.")
    container: str | None = Field(description="The container named by the log's header.")
    device: str | None = Field(description="The device named by the log's header.")
    timestamp: str | None = Field(description="The time the log's header gives, as written.")
    totals: dict[str, int | str | None] = Field(
        description="The counters of the log's own summary element (total_files, "
                    "files_errored, creates …).")
    disk: dict[str, Any] | None = Field(description="The disk summary of newer service logs.")
    indexed: bool = Field(description="Whether the counts cover the whole file.")
    problems: list[str] = Field(description="Recoverable oddities: a truncated tail, an "
                                            "oversize element, invalid UTF-8 …")
    error: str | None = Field(description="Why the file cannot be read; null when it can.")

    @field_validator("modified_at", mode="before")
    @classmethod
    def _not_examined(cls, value: Any) -> Any:
        # The library says "" for a file it could not stat.
        return None if value == "" else value


# One log


class CategoryRow(Out):
    name: str
    count: int = Field(ge=0)
    severity: str | None = Field(description="error or warning; null for a category the "
                                             "reference does not know.")
    meaning: str | None
    action: str | None = Field(description="The recommended action.")


class CodeRow(Out):
    code: str = Field(description="As written in the log; `(none)` for entries without one.")
    count: int = Field(ge=0)
    name: str | None
    meaning: str | None
    action: str | None = Field(description="The recommended action.")
    category: str | None = Field(description="The category the code comes with in service "
                                             "copy logs (it decides what the code means).")


class IndexProgress(Out):
    state: INDEX_STATE = Field(description="unavailable: the log cannot be read.")
    indexed_bytes: int = Field(ge=0)
    size: int = Field(ge=0, description="Bytes.")
    entries: int | None = Field(ge=0, description="Entries indexed so far.")
    building: bool = Field(description="Whether the index is being built now.")
    error: str | None = Field(description="Why the last build could not save its index.")
    fraction: float = Field(ge=0, le=1, description="How much of the file is indexed.")


class CopyLogSummary(CopyLog):
    categories: list[CategoryRow] = Field(description="Counts by category, most frequent "
                                                      "first, with meaning and action.")
    codes: list[CodeRow] = Field(description="Counts by code, most frequent first, with "
                                             "name, meaning and action.")
    index: IndexProgress


# Entries


class EntriesQuery(Paging):
    page: QueryNumber = Field(1, ge=1, le=model.MAX_PAGE, description="Page number, from 1.")
    per_page: QueryNumber = Field(model.PER_PAGE, ge=model.PER_PAGE_MIN, le=model.PER_PAGE_MAX,
                                  description="Entries per page.")
    category: CATEGORY | None = Field(None, description="Entries of this category.")
    code: str | None = Field(
        None, json_schema_extra={"pattern": CODE},
        description="Entries with this code: the number (e.g. 2004, 409) or the error name "
                    "(e.g. ERROR_ETAG_MISMATCH); a name that the log's format does not use "
                    "matches nothing.")
    q: str | None = Field(None, max_length=model.Q_MAX,
                          description="Entries whose path contains this (any case).")

    @field_validator("code")
    @classmethod
    def _number_or_name(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(CODE, value):
            raise ValueError(model.CODE_RULE)
        return value

    def args(self) -> dict[str, str]:
        """The query as the copy-log queries read a query string."""
        return {"category": self.category or "", "code": self.code or "", "q": self.q or "",
                "page": str(self.page), "per_page": str(self.per_page)}


class Entry(Out):
    ordinal: int = Field(ge=0, description="Position of the entry in the log.")
    offset: int = Field(ge=0, description="Byte offset of its element in the file.")
    path: str
    category: str | None
    code: int | str | None = Field(description="A number, or the symbolic name of a "
                                               "copy-time error that has none.")
    code_name: str | None
    message: str | None
    type: str | None = Field(description="File, Directory …, as the log says.")
    severity: Literal["error", "warning"]
    local: bool | None
    remote: bool | None
    cloud_format: str | None
    name_encoding: str | None = Field(description="Base64 when `path` was decoded from it.")
    raw_name: str | None = Field(description="The name as encoded in the log.")
    invalid_utf8: bool
    problem: str | None = Field(description="Why the element was only partly readable.")


class EntriesPage(Page[Entry]):
    total_exact: bool = Field(description="False when `total` is a lower bound: the index is "
                                          "still being built or a path search stopped at its "
                                          "read budget.")
