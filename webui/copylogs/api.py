"""The copy logs under ``/api/v1/copylogs``: the list, one log's summary, its entries."""

from __future__ import annotations

from dataclasses import asdict

from flask import Blueprint

from webui.api.contract import Page, operation
from webui.copylogs import model, queries, schemas
from webui.copylogs.views import copy_logs, index_after, log_or_404

bp = Blueprint("copylogs_api", __name__, url_prefix="/api/v1/copylogs")

TAG = "copy logs"


@bp.route("")
@operation(TAG, Page[schemas.CopyLog], query=schemas.LogListQuery)
def list_logs(query: schemas.LogListQuery):
    """List the copy logs under the configured roots.

    Newest first unless `sort` and `order` say otherwise; logs whose errors are not counted
    yet come last when sorted by errors. Counts are null until the log is indexed: asking for
    the list queues the logs not indexed yet.
    """
    logs = queries.list_logs(copy_logs(), query.sort, query.order or model.SORTS[query.sort])
    index_after(logs)
    return Page[schemas.CopyLog].sliced(query, [copy_log.to_dict() for copy_log in logs])


@bp.route("/<log_id>")
@operation(TAG, schemas.CopyLogSummary, errors=[404])
def get_log(log_id: str):
    """One copy log with its summary by category and by code, and its index progress.

    `categories` and `codes` give each count with its meaning and recommended action; 404
    when no log has this id.
    """
    copy_log = log_or_404(log_id)
    summary = {**copy_log.to_dict(),
               "categories": [asdict(row) for row in queries.category_rows(copy_log)],
               "codes": [asdict(row) for row in queries.code_rows(copy_logs(), copy_log)],
               "index": queries.index_progress(copy_logs(), copy_log.id)}
    index_after([copy_log], first=True)
    return summary


@bp.route("/<log_id>/entries")
@operation(TAG, schemas.EntriesPage, query=schemas.EntriesQuery, errors=[404, 409])
def entries(log_id: str, query: schemas.EntriesQuery):
    """One page of a copy log's entries, filtered by category, code and path.

    A page beyond the last is empty. 404 when no log has this id, 409 (`detail` says why)
    when the log cannot be read.
    """
    copy_log = log_or_404(log_id)
    page = queries.log_entries(copy_logs(), copy_log, query.args(),
                               refuse_past_end=False).checked()
    index_after([copy_log], first=True)
    return {"total": page.total, "page": page.page, "per_page": page.per_page,
            "items": [entry.to_dict() for entry in page.entries],
            "total_exact": page.total_exact}
