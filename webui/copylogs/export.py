"""A copy log taken off the device: the original file, or its entries as CSV; both audited."""

from __future__ import annotations

import csv
import io
import itertools
import sqlite3
from collections.abc import Iterator, Mapping
from typing import Any, BinaryIO

from diagnostics.copylogs import CopyLog, CopyLogError, Entry
from webui import audit
from webui.copylogs.model import EntryQuery, parse_query, unreadable
from webui.copylogs.queries import CopyLogs
from webui.formats import spreadsheet_safe

CSV_FIELDS = ("path", "category", "code", "code_name", "severity", "message", "type", "local",
              "remote", "cloud_format", "name_encoding", "raw_name", "problem")


class DownloadRefused(CopyLogError):
    """The original file of a log is not served (it left its root, vanished, …)."""


def download(copy_logs: CopyLogs, conn: sqlite3.Connection, actor: audit.Actor,
             copy_log: CopyLog) -> BinaryIO:
    """The log file, opened without leaving its root; raises :class:`DownloadRefused`."""
    try:
        original = copy_logs.store.open_original(copy_log.id)
    except CopyLogError as exc:
        audit.record(conn, actor, "copylog_download", copy_log.path, "refused",
                     {"id": copy_log.id, "reason": str(exc)})
        raise DownloadRefused(f"This copy log cannot be downloaded: {exc}") from exc
    audit.record(conn, actor, "copylog_download", copy_log.path,
                 detail={"id": copy_log.id, "root": copy_log.root})
    return original


def csv_export(copy_logs: CopyLogs, conn: sqlite3.Connection, actor: audit.Actor,
               copy_log: CopyLog, args: Mapping[str, str]) -> Iterator[str]:
    """Every entry matching the filters of ``args`` as CSV text, header first, streamed.

    Raises :class:`~webui.copylogs.model.InvalidFilter`, or :class:`CopyLogError` for a log
    that cannot be read: the log is opened before this returns, so that happens here rather
    than in the middle of the response.
    """
    query = parse_query(args, copy_log)
    if copy_log.error is not None:
        raise unreadable(copy_log.error)
    try:
        lines = _csv_lines(copy_logs, copy_log, query)
    except CopyLogError as exc:
        raise unreadable(str(exc)) from exc
    audit.record(conn, actor, "copylog_export", copy_log.path,
                 detail={"id": copy_log.id, **query.filters()})
    return lines


def _csv_lines(copy_logs: CopyLogs, copy_log: CopyLog, query: EntryQuery) -> Iterator[str]:
    entries = copy_logs.store.iter_entries(copy_log.id, query.category or None,
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
    # Cells a spreadsheet would run as a formula are prefixed with an apostrophe.
    return [spreadsheet_safe(getattr(entry, name)) for name in CSV_FIELDS]


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def file_name(copy_log: CopyLog) -> str:
    """The log's own file name."""
    return copy_log.path.rsplit("/", 1)[-1]


def export_name(copy_log: CopyLog) -> str:
    """The file name of the CSV export of a log: its share and its own name."""
    stem = file_name(copy_log).rsplit(".", 1)[0]
    return f"{copy_log.share or 'log'}-{stem}.csv"
