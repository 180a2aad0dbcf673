from __future__ import annotations

import datetime as dt
import json
import sqlite3
from typing import NamedTuple

from flask import Blueprint, Response, render_template, request, stream_with_context
from markupsafe import Markup, escape

from webui import db
from webui.access import current_actor
from webui.audit import service

bp = Blueprint("audit", __name__)

PER_PAGE = 100


def detail_facts(detail: str | None) -> dict | str | None:
    """An entry's detail as facts when it was recorded as a JSON object, else its text."""
    if not detail:
        return None
    try:
        parsed = json.loads(detail)
    except ValueError:
        return detail
    return parsed if isinstance(parsed, dict) and parsed else detail


class Shown(NamedTuple):
    """An entry as a row of the page shows it; attributes, which templates read fastest."""

    at: float
    actor: str
    client_addr: str | None
    action: Markup  # long action names break only between their words
    target: str | None
    outcome: str
    detail: dict | str | None


def breakable(action: str) -> Markup:
    """``action`` with a line-break opportunity after each underscore."""
    return escape(action).replace("_", WORD_BREAK)


WORD_BREAK = Markup("_<wbr>")


def shown(row: sqlite3.Row) -> Shown:
    return Shown(row["at"], row["actor"], row["client_addr"], breakable(row["action"]),
                 row["target"], row["outcome"], detail_facts(row["detail"]))


@bp.route("/audit")
def page():
    filters, errors = service.filters_from(request.args)
    page_number = request.args.get("page", 1, type=int) or 1
    page_number = max(1, min(page_number, 100000))
    total, rows = service.query(db.get_db(), **filters, limit=PER_PAGE,
                                offset=(page_number - 1) * PER_PAGE)
    pages = max(1, -(-total // PER_PAGE))
    return render_template("audit/page.html", rows=[shown(row) for row in rows], total=total,
                           page=page_number, pages=pages, args=request.args,
                           errors=errors), 400 if errors else 200


@bp.route("/audit.csv")
def export():
    filters, errors = service.filters_from(request.args)
    if errors:
        return render_template("audit/page.html", rows=[], total=0, page=1, pages=1,
                               args=request.args, errors=errors), 400
    rows = service.export(db.get_db(), current_actor(), filters, dict(request.args.items()))
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return Response(stream_with_context(service.csv_rows(rows)), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="audit-{stamp}.csv"'})
