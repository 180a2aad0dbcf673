"""``/api/v1/power``: the power state, restart or shut down now or later, and cancelling."""

from __future__ import annotations

from flask import Blueprint, url_for

from webui import db
from webui.access import admin_required, current_actor
from webui.api.contract import Answer, Reply, operation
from webui.errors import problem, status_of
from webui.power import schemas, service
from webui.power.backends import PowerError
from webui.power.views import configured_backend, overview

bp = Blueprint("power_api", __name__, url_prefix="/api/v1/power")


def _backend_failed(exc: PowerError):
    return problem(status_of(exc), str(exc), title="The power backend failed")


def _state() -> dict:
    power = overview()
    scheduled, last = power["scheduled"], power["last"]
    return {"backend": power["backend"],
            "scheduled": scheduled.to_dict() if scheduled else None,
            "restart_required": power["restart_required"],
            "last_request": last.to_dict() if last else None}


@bp.route("")
@operation("power", schemas.PowerState)
def get_power():
    """Power state: the backend, the scheduled action, why a restart is due."""
    return _state()


@bp.route("", methods=["POST"])
@admin_required
@operation("power", {202: Answer(schemas.PowerRequested, "Carried out or scheduled.",
                                 headers=("Location",))},
           body=schemas.PowerRequest, errors=[409, 502],
           example={"action": "restart", "delay_minutes": 15, "message": "Patch day"})
def request_power(body: schemas.PowerRequest):
    """Restart or shut down, now or in some minutes.

    Answers the power state with the accepted `request`; `Location` is the power state. 409
    while another action is scheduled; 502 when the backend fails.
    """
    try:
        recorded = service.request(db.get_db(), configured_backend(), body.action,
                                   body.delay_minutes, (body.message or "").strip(),
                                   current_actor())
    except PowerError as exc:
        return _backend_failed(exc)
    return Reply({"request": recorded.to_dict(), **_state()}, 202,
                 location=url_for("power_api.get_power"))


@bp.route("", methods=["DELETE"])
@admin_required
@operation("power", {204: Answer(description="Cancelled.")}, errors=[404, 502])
def cancel_power():
    """Cancel the scheduled restart or shut down; 404 when none is."""
    try:
        service.cancel(db.get_db(), configured_backend(), current_actor())
    except PowerError as exc:
        return _backend_failed(exc)
    return Reply(None, 204)
