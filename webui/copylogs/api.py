"""The copy logs under ``/api/v1/copylogs``: the list, one log's summary, its entries."""

from __future__ import annotations

from dataclasses import asdict

from flask import Blueprint, jsonify, request

from webui.copylogs import model, queries
from webui.copylogs.views import copy_logs, index_after, log_or_404

bp = Blueprint("copylogs_api", __name__, url_prefix="/api/v1/copylogs")


@bp.route("")
def list_logs():
    """List the copy logs under the configured roots.

    Answers ``{"logs": [{id, root, share, kind, path, modified_at, size, status, entries, errors,
    warnings, by_category, by_code, error, …}]}``; ``?sort=share|kind|time|errors`` and
    ``&order=asc|desc`` (default: newest first). Counts are null until the log is indexed.
    ``root``, ``share`` and ``path`` are the host's names as text: bytes that are not UTF-8 and
    control or format characters are U+FFFD; ``id`` stays the way to reach the file.
    """
    sort, order = model.parse_sort(request.args)
    logs = queries.list_logs(copy_logs(), sort, order)
    return index_after(jsonify(logs=[copy_log.to_dict() for copy_log in logs]), logs)


@bp.route("/<log_id>")
def get_log(log_id: str):
    """One copy log with its summary by category and by code, and its index progress.

    ``categories`` and ``codes`` give each count with its meaning and recommended action.
    """
    copy_log = log_or_404(log_id)
    return index_after(jsonify(
        **copy_log.to_dict(),
        categories=[asdict(row) for row in queries.category_rows(copy_log)],
        codes=[asdict(row) for row in queries.code_rows(copy_logs(), copy_log)],
        index=queries.index_progress(copy_logs(), copy_log.id)), [copy_log], first=True)


@bp.route("/<log_id>/entries")
def entries(log_id: str):
    """One page of a copy log's entries, filtered.

    ``?page=`` (from 1), ``per_page=`` (10–500, default 100), ``category=``, ``code=`` (the
    number, or the error name for per-share and copy-time logs), ``q=`` (path contains, at most
    200 characters). Answers ``{total, page, per_page, entries: [{path, category, code,
    code_name, message, type, …}], total_exact}``; 422 names a bad field, 409 a log that cannot
    be read.
    """
    copy_log = log_or_404(log_id)
    page = queries.log_entries(copy_logs(), copy_log, request.args).checked()
    return index_after(jsonify(page.to_dict()), [copy_log], first=True)
