"""Data > Copy logs: the list, one log with its summary and entries, downloads, the card."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    after_this_request,
    current_app,
    render_template,
    request,
    send_file,
    stream_with_context,
)

from diagnostics.copylogs import CopyLog
from webui import db, errors, htmx
from webui.access import current_actor
from webui.copylogs import export, model, queries
from webui.copylogs.model import InvalidFilter
from webui.downloads import content_disposition

bp = Blueprint("copylogs", __name__, url_prefix="/copy-logs")


def copy_logs() -> queries.CopyLogs:
    """This app's copy logs."""
    return current_app.extensions["copylogs"]


@bp.context_processor
def _labels():
    return {"kind_labels": model.KIND_LABELS, "kind_titles": model.KIND_TITLES,
            "status_labels": model.STATUS_LABELS, "none_key": model.NONE,
            "timestamp": model.timestamp, "log_date": model.log_date}


def index_after(logs: list[CopyLog], first: bool = False) -> None:
    """Queue the logs not counted yet once this request's answer has been sent, so that the
    page does not share the processor with the indexer."""
    ids = queries.unindexed(logs)
    if not ids:
        return
    indexer = copy_logs().indexer

    @after_this_request
    def _queue_when_sent(response: Response) -> Response:
        response.call_on_close(lambda: indexer.request(ids, first=first))
        return response


def log_or_404(log_id: str) -> CopyLog:
    """The log with this id, or a 404 (HTML or problem document)."""
    return errors.found_or_404(queries.find(copy_logs(), log_id), "No copy log has this id.")


@bp.route("/")
def page():
    """Every copy log, sortable by share, kind, time and errors; for htmx, the table alone,
    polled until every count is known."""
    try:
        sort, order = model.parse_sort(request.args)
        error = None
    except InvalidFilter as exc:
        (sort, order), error = model.parse_sort({}), exc
    logs = queries.list_logs(copy_logs(), sort, order)
    counting = bool(queries.unindexed(logs))
    context = {"logs": logs, "sort": sort, "order": order, "sorts": model.SORTS,
               "counting": counting}
    if htmx.is_htmx():
        body = render_template("copylogs/_list.html", **context)
        response = Response(body) if counting else htmx.stop_polling(body)
    else:
        body = render_template("copylogs/list.html", roots=queries.roots(copy_logs()),
                               error=error, unreadable_roots=queries.unreadable_roots(copy_logs()),
                               **context)
        response = Response(body, status=errors.status_of(error) if error else 200)
    response.headers["Vary"] = "HX-Request"
    index_after(logs)
    return response


@bp.route("/<log_id>")
def log(log_id: str):
    """One copy log: its summary and a page of its entries (the entries alone for htmx)."""
    copy_log = log_or_404(log_id)
    entries = queries.log_entries(copy_logs(), copy_log, request.args)
    context = {"log": entries.log, "query": entries.query, "entries": entries.page,
               "error": entries.error, "args": request.args,
               "per_page_choices": model.PER_PAGE_CHOICES,
               "category_names": queries.category_names()}
    if not htmx.is_htmx():
        context.update(index=queries.index_progress(copy_logs(), copy_log.id),
                       categories=queries.category_rows(copy_log),
                       codes=queries.code_rows(copy_logs(), copy_log),
                       totals=queries.totals_rows(copy_log))
    status = errors.status_of(entries.error) if entries.error else 200
    index_after([copy_log], first=True)
    return htmx.render("copylogs/log.html", "copylogs/_entries.html", status, **context)


@bp.route("/<log_id>/indexing")
def indexing(log_id: str):
    """How far the index of a log has got, polled by the log page until it is complete."""
    copy_log = log_or_404(log_id)
    index = queries.index_progress(copy_logs(), copy_log.id)
    body = render_template("copylogs/_indexing.html", log=copy_log, index=index, polled=True)
    if index["state"] in ("complete", "unavailable"):
        return htmx.stop_polling(body)
    return Response(body)


@bp.route("/<log_id>/download")
def download(log_id: str):
    """The original log file, as an attachment."""
    copy_log = log_or_404(log_id)
    original = export.download(copy_logs(), db.get_db(), current_actor(), copy_log)
    response = send_file(original, mimetype="application/octet-stream", conditional=False,
                         etag=False)
    response.headers["Content-Disposition"] = content_disposition(export.file_name(copy_log))
    return response


@bp.route("/<log_id>/entries.csv", endpoint="export")
def export_entries(log_id: str):
    """The entries matching the page's filters, as CSV."""
    copy_log = log_or_404(log_id)
    lines = export.csv_export(copy_logs(), db.get_db(), current_actor(), copy_log, request.args)
    return Response(stream_with_context(lines), mimetype="text/csv", headers={
        "Content-Disposition": content_disposition(export.export_name(copy_log))})


def card() -> dict:
    """The overview card: upload errors in the last 24 h."""
    return queries.upload_errors_last_day(copy_logs(), db.now())
