"""``/api/v1/power``: the power state, restart or shut down now or later, and cancelling."""

from __future__ import annotations

from flask import Blueprint, jsonify

from webui import db
from webui.access import admin_required, current_actor
from webui.api.helpers import FieldError, json_body
from webui.errors import problem, status_of
from webui.power import service
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
def get_power():
    """Power state: backend, the scheduled action, restart-required reasons.

    Answers `{backend, scheduled: null | {action, at, message, requested_by, …},
    restart_required: [reason…], last_request}`; times are ISO 8601 UTC.
    """
    return jsonify(_state())


@bp.route("", methods=["POST"])
@admin_required
def request_power():
    """Restart or shut down now or later (administrators).

    Takes `{action: "restart" | "shutdown", delay_minutes: 0 | 1 | 5 | 15 | 30 | 60,
    message}` (message optional, at most 200 characters). 202 with the power state and the
    accepted `request`; 409 while another action is scheduled; 502 when the backend fails.
    """
    body = json_body()
    action = body.get("action")
    if not isinstance(action, str) or action not in service.ACTIONS:
        raise FieldError("action", f"one of {', '.join(service.ACTIONS)}")
    delay = body.get("delay_minutes", 0)
    if isinstance(delay, bool) or not isinstance(delay, int) or delay not in service.DELAYS:
        raise FieldError("delay_minutes", f"one of {', '.join(map(str, service.DELAYS))}")
    message = body.get("message") or ""
    if not isinstance(message, str):
        raise FieldError("message", "text, or null")
    message = message.strip()
    rule = service.message_problem(message)
    if rule:
        raise FieldError("message", rule)
    try:
        recorded = service.request(db.get_db(), configured_backend(), action, delay, message,
                                   current_actor())
    except PowerError as exc:
        return _backend_failed(exc)
    response = jsonify(request=recorded.to_dict(), **_state())
    response.status_code = 202
    return response


@bp.route("", methods=["DELETE"])
@admin_required
def cancel_power():
    """Cancel the scheduled restart or shut down (administrators); 404 when none is."""
    try:
        service.cancel(db.get_db(), configured_backend(), current_actor())
    except PowerError as exc:
        return _backend_failed(exc)
    return jsonify(_state())
