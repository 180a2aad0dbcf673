from __future__ import annotations

from flask import Response, abort, render_template, request, send_file, stream_with_context

from diagnostics.copylogs import CopyLog, CopyLogError
from webui import audit, db, htmx
from webui.copylogs import bp, service
from webui.copylogs.service import InvalidFilter
from webui.downloads import content_disposition


@bp.context_processor
def _labels():
    return {"kind_labels": service.KIND_LABELS, "kind_titles": service.KIND_TITLES,
            "status_labels": service.STATUS_LABELS, "none_key": service.NONE,
            "timestamp": service.timestamp}


def index_after(response: Response, logs: list[CopyLog], first: bool = False) -> Response:
    """Queue the logs not counted yet once ``response`` has been sent, so that the page does not
    share the processor with the indexer."""
    ids = service.unindexed(logs)
    if ids:
        indexer = service.indexer()
        response.call_on_close(lambda: indexer.request(ids, first=first))
    return response


def log_or_404(log_id: str) -> CopyLog:
    """The log with this id, or a 404 (HTML or problem document)."""
    try:
        return service.find(log_id)
    except LookupError:
        abort(404, description="No copy log has this id.")


@bp.route("/")
def page():
    """Every copy log, sortable by share, kind, time and errors."""
    try:
        sort, order = service.parse_sort(request.args)
        error = None
    except InvalidFilter as exc:
        (sort, order), error = service.parse_sort({}), exc
    logs = service.list_logs(sort, order)
    response = Response(render_template("copylogs/list.html", logs=logs, sort=sort, order=order,
                                        sorts=service.SORTS, roots=service.roots(), error=error,
                                        unreadable_roots=service.unreadable_roots()),
                        status=422 if error else 200)
    return index_after(response, logs)


@bp.route("/<log_id>")
def log(log_id: str):
    """One copy log: its summary and a page of its entries (the entries alone for htmx)."""
    copy_log = log_or_404(log_id)
    query, entries, error, status = service.EntryQuery(), None, None, 200
    try:
        query = service.parse_query(request.args, copy_log)
        if copy_log.error is None:
            entries = service.entries_page(copy_log, query)
    except InvalidFilter as exc:
        error, status = exc, 422
    except CopyLogError as exc:
        copy_log.error = str(exc)
    context = {"log": copy_log, "query": query, "entries": entries, "error": error,
               "args": request.args, "per_page_choices": service.PER_PAGE_CHOICES,
               "category_names": service.category_names()}
    if not htmx.is_htmx():
        context.update(index=service.index_progress(copy_log.id),
                       categories=service.category_rows(copy_log),
                       codes=service.code_rows(copy_log), totals=service.totals_rows(copy_log))
    return index_after(htmx.render("copylogs/log.html", "copylogs/_entries.html", status,
                                   **context), [copy_log], first=True)


@bp.route("/<log_id>/indexing")
def indexing(log_id: str):
    """How far the index of a log has got, polled by the log page until it is complete."""
    copy_log = log_or_404(log_id)
    index = service.index_progress(copy_log.id)
    body = render_template("copylogs/_indexing.html", log=copy_log, index=index, polled=True)
    # 286 tells htmx to stop polling.
    return Response(body, status=286 if index["state"] in ("complete", "unavailable") else 200)


@bp.route("/<log_id>/download")
def download(log_id: str):
    """The original log file, as an attachment."""
    copy_log = log_or_404(log_id)
    try:
        original = service.open_original(copy_log)
    except CopyLogError as exc:
        audit.record("copylog_download", copy_log.path, "refused", {"id": copy_log.id,
                                                                   "reason": str(exc)})
        abort(404, description=f"This copy log cannot be downloaded: {exc}")
    audit.record("copylog_download", copy_log.path, detail={"id": copy_log.id,
                                                           "root": copy_log.root})
    response = send_file(original, mimetype="application/octet-stream", conditional=False,
                         etag=False)
    response.headers["Content-Disposition"] = content_disposition(service.file_name(copy_log))
    return response


@bp.route("/<log_id>/entries.csv")
def export(log_id: str):
    """The entries matching the page's filters, as CSV."""
    copy_log = log_or_404(log_id)
    try:
        query = service.parse_query(request.args, copy_log)
    except InvalidFilter as exc:
        abort(422, description=f"{exc.field}: {exc.rule}")
    lines, reason = None, copy_log.error
    if reason is None:
        try:
            lines = service.csv_lines(copy_log, query)
        except CopyLogError as exc:
            reason = str(exc)
    if lines is None:
        abort(409, description=f"This copy log cannot be read: {reason}")
    audit.record("copylog_export", copy_log.path, detail={"id": copy_log.id,
                                                         **query.filters()})
    return Response(stream_with_context(lines), mimetype="text/csv", headers={
        "Content-Disposition": content_disposition(service.export_name(copy_log))})


def card() -> dict:
    """The overview card: upload errors in the last 24 h."""
    return service.upload_errors_last_day(db.now())
