from __future__ import annotations

from dataclasses import asdict

from flask import abort, jsonify, request

from diagnostics.copylogs import CopyLogError
from webui.api.helpers import FieldError
from webui.copylogs import api_bp, service
from webui.copylogs.service import InvalidFilter
from webui.copylogs.views import index_after, log_or_404


@api_bp.route("")
def list_logs():
    """List the copy logs under the configured roots.

    Answers ``{"logs": [{id, root, share, kind, path, modified_at, size, status, entries, errors,
    warnings, by_category, by_code, error, …}]}``; ``?sort=share|kind|time|errors`` and
    ``&order=asc|desc`` (default: newest first). Counts are null until the log is indexed.
    ``root``, ``share`` and ``path`` are the host's names as text: bytes that are not UTF-8 and
    control or format characters are U+FFFD; ``id`` stays the way to reach the file.
    """
    try:
        sort, order = service.parse_sort(request.args)
    except InvalidFilter as exc:
        raise FieldError(exc.field, exc.rule) from None
    logs = service.list_logs(sort, order)
    return index_after(jsonify(logs=[copy_log.to_dict() for copy_log in logs]), logs)


@api_bp.route("/<log_id>")
def get_log(log_id: str):
    """One copy log with its summary by category and by code, and its index progress.

    ``categories`` and ``codes`` give each count with its meaning and recommended action.
    """
    copy_log = log_or_404(log_id)
    return index_after(jsonify(
        **copy_log.to_dict(),
        categories=[asdict(row) for row in service.category_rows(copy_log)],
        codes=[asdict(row) for row in service.code_rows(copy_log)],
        index=service.index_progress(copy_log.id)), [copy_log], first=True)


@api_bp.route("/<log_id>/entries")
def entries(log_id: str):
    """One page of a copy log's entries, filtered.

    ``?page=`` (from 1), ``per_page=`` (10–500, default 100), ``category=``, ``code=`` (the
    number, or the error name for per-share and copy-time logs), ``q=`` (path contains, at most
    200 characters). Answers ``{total, page, per_page, entries: [{path, category, code,
    code_name, message, type, …}], total_exact}``; 422 names a bad field, 409 a log that cannot
    be read.
    """
    copy_log = log_or_404(log_id)
    page, reason = None, copy_log.error
    try:
        query = service.parse_query(request.args, copy_log)
        if reason is None:
            page = service.entries_page(copy_log, query)
    except InvalidFilter as exc:
        raise FieldError(exc.field, exc.rule) from None
    except CopyLogError as exc:
        reason = str(exc)
    if page is None:
        abort(409, description=f"This copy log cannot be read: {reason}")
    return index_after(jsonify(page.to_dict()), [copy_log], first=True)
