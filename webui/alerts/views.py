"""Device > Alerts: the list with its filters, one alert, acknowledging it; the top-bar counts
and the overview card."""

from __future__ import annotations

import sqlite3

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from webui import db
from webui.access import admin_required, current_actor
from webui.alerts import service
from webui.alerts.forms import AcknowledgeForm
from webui.alerts.rules import SEVERITIES, SEVERITY_LABELS

bp = Blueprint("alerts", __name__, url_prefix="/alerts")

PER_PAGE = 50
CARD_ALERTS = 5
# The state filter's choices; the page opens on the open ones: active and acknowledged.
STATE_FILTERS = {"open": "Open", "active": "Active",
                 "acknowledged": "Acknowledged", "cleared": "History (cleared)", "all": "All"}
DEFAULT_STATE = "open"
STATE_LABELS = {"active": "Active", "acknowledged": "Acknowledged", "cleared": "Cleared"}


def _filters() -> tuple[dict[str, str], dict[str, str]]:
    """The page's filters from the query, and a message for each value it does not know."""
    severity = request.args.get("severity", "")
    state = request.args.get("state", DEFAULT_STATE) or DEFAULT_STATE
    errors = {}
    if severity and severity not in SEVERITIES:
        errors["severity"] = f"Severity: one of {', '.join(SEVERITIES)}, or all."
        severity = ""
    if state not in STATE_FILTERS:
        errors["state"] = f"State: one of {', '.join(STATE_FILTERS)}."
        state = DEFAULT_STATE
    return {"severity": severity, "state": state}, errors


def _page_number() -> int:
    return max(1, min(request.args.get("page", 1, type=int) or 1, 100000))


def _alert_or_404(alert_id: int) -> sqlite3.Row:
    try:
        return service.get(db.get_db(), alert_id)
    except service.AlertNotFound:
        abort(404, description="No such alert: it may have cleared long ago and left the "
                               "history.")


@bp.route("/")
def page():
    filters, errors = _filters()
    page_number = _page_number()
    total, rows = service.query(
        db.get_db(), severity=filters["severity"] or None,
        state=None if filters["state"] == "all" else filters["state"],
        limit=PER_PAGE, offset=(page_number - 1) * PER_PAGE)
    return render_template(
        "alerts/page.html", alerts=[service.to_dict(row) for row in rows], total=total,
        page=page_number, pages=max(1, -(-total // PER_PAGE)), filters=filters, errors=errors,
        state_filters=STATE_FILTERS, severity_labels=SEVERITY_LABELS), 400 if errors else 200


def _detail(row: sqlite3.Row, form: AcknowledgeForm | None = None, status: int = 200):
    form = form or AcknowledgeForm()
    if row["state"] == "acknowledged":
        form.note.label.text = "New note"
    return render_template("alerts/alert.html", alert=service.to_dict(row), form=form), status


@bp.route("/<int:alert_id>")
def alert(alert_id: int):
    return _detail(_alert_or_404(alert_id))


@bp.route("/<int:alert_id>/acknowledge", methods=["POST"])
@admin_required
def acknowledge(alert_id: int):
    row = _alert_or_404(alert_id)
    form = AcknowledgeForm()
    if not form.validate_on_submit():
        return _detail(row, form, 422)
    try:
        service.acknowledge(db.get_db(), alert_id, current_actor(), form.note.data or "")
    except service.AlertCleared:
        flash("This alert has already cleared: its cause has gone, so there is nothing to "
              "acknowledge.", "info")
    else:
        flash("Alert acknowledged: it stays listed, and is not notified again unless it gets "
              "worse or clears and returns.", "success")
    return redirect(url_for(".alert", alert_id=alert_id), code=303)


def card() -> dict:
    """The overview card: the first few open alerts and how many there are."""
    total, rows = service.query(db.get_db(), state="open", limit=CARD_ALERTS)
    return {"alerts": [service.to_dict(row) for row in rows], "total": total}


def active_counts() -> dict[str, int] | None:
    """Active alerts by severity for the top bar; None when there is nobody to show them to
    or the database cannot be read (an error page must still render)."""
    if not current_user.is_authenticated:
        return None
    try:
        return service.counts(db.get_db())
    except sqlite3.Error:
        return None


def template_context() -> dict:
    # A callable: only the top bar of a whole page reads the counts, not every fragment.
    return {"alert_counts": active_counts}


def severity_label(severity: str) -> str:
    return SEVERITY_LABELS.get(severity, severity)


def state_label(state: str) -> str:
    return STATE_LABELS.get(state, state)
