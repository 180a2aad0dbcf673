from __future__ import annotations

import datetime as dt

from flask import Response, render_template, request, stream_with_context

from webui import db
from webui.audit import bp, service
from webui.audit.service import csv_rows

PER_PAGE = 100


def _day(value: str | None, field: str, errors: dict) -> float | None:
    if not value:
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        errors[field] = "Use a date like 2026-01-31."
        return None
    return dt.datetime.combine(day, dt.time(), dt.datetime.now().astimezone().tzinfo).timestamp()


def filters_from(args) -> tuple[dict, dict]:
    """Audit filters from a query string; answers (filters, errors by field)."""
    errors: dict[str, str] = {}
    since = _day(args.get("from"), "from", errors)
    until = _day(args.get("to"), "to", errors)
    if until is not None:
        until += 86400
    filters = {"actor": (args.get("user") or "").strip()[:64] or None,
               "action": (args.get("action") or "").strip()[:64] or None,
               "since": since, "until": until}
    return filters, errors


@bp.route("/audit")
def page():
    filters, errors = filters_from(request.args)
    page_number = request.args.get("page", 1, type=int) or 1
    page_number = max(1, min(page_number, 100000))
    total, rows = service.query(db.get_db(), **filters, limit=PER_PAGE,
                                offset=(page_number - 1) * PER_PAGE)
    pages = max(1, -(-total // PER_PAGE))
    return render_template("audit/page.html", rows=rows, total=total, page=page_number,
                           pages=pages, args=request.args, errors=errors), 400 if errors else 200


@bp.route("/audit.csv")
def export():
    filters, errors = filters_from(request.args)
    if errors:
        return render_template("audit/page.html", rows=[], total=0, page=1, pages=1,
                               args=request.args, errors=errors), 400
    # Retention bounds the table (AUDIT_MAX_ENTRIES), so the rows fit in memory.
    _total, rows = service.query(db.get_db(), **filters, limit=None)
    service.record("audit_export", detail=dict(request.args.items()))
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return Response(stream_with_context(csv_rows(rows)), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="audit-{stamp}.csv"'})
