"""``/api/v1/alerts``: the device's alert list, one alert, and acknowledging it."""

from __future__ import annotations

from flask import Blueprint, abort

from webui import db
from webui.access import admin_required, current_actor
from webui.alerts import schemas, service
from webui.api.contract import Answer, Page, operation
from webui.errors import problem

bp = Blueprint("alerts_api", __name__, url_prefix="/api/v1/alerts")

NOT_FOUND = "No such alert."
CLEARED = "This alert has cleared: its cause has gone, so there is nothing to acknowledge."


def _alert_or_404(alert_id: int) -> dict:
    try:
        return service.to_dict(service.get(db.get_db(), alert_id))
    except service.AlertNotFound:
        abort(404, description=NOT_FOUND)


@bp.route("")
@operation("alerts", Page[schemas.Alert], query=schemas.AlertQuery)
def list_alerts(query: schemas.AlertQuery):
    """Alerts, open ones first, then worst first, newest first.

    Cleared alerts are kept as history (the newest thousand, up to 90 days).
    """
    total, rows = service.query(db.get_db(), severity=query.severity, state=query.state,
                                rule=query.rule, limit=query.per_page, offset=query.offset)
    return Page[schemas.Alert].of(query, total, [service.to_dict(row) for row in rows])


@bp.route("/<int:alert_id>")
@operation("alerts", schemas.Alert, errors=[404])
def get_alert(alert_id: int):
    """One alert with its values, count, times and acknowledgement."""
    return _alert_or_404(alert_id)


@bp.route("/<int:alert_id>/acknowledge", methods=["POST"])
@admin_required
@operation("alerts", Answer(schemas.Alert, "The alert, acknowledged."),
           body=schemas.Acknowledge, body_required=False, errors=[404, 409],
           example={"note": "Replacement disk ordered."})
def acknowledge(alert_id: int, body: schemas.Acknowledge):
    """Acknowledge an open alert with a note; the body is optional.

    An acknowledged alert stays open but is not notified again until it clears and returns,
    or gets worse. 409 when the alert has cleared.
    """
    try:
        row = service.acknowledge(db.get_db(), alert_id, current_actor(), body.note)
    except service.AlertNotFound:
        abort(404, description=NOT_FOUND)
    except service.AlertCleared:
        return problem(409, CLEARED)
    return service.to_dict(row)
