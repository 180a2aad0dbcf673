from __future__ import annotations

from flask import jsonify
from flask_login import current_user

from webui import db
from webui.access import admin_required
from webui.api.helpers import FieldError, json_body
from webui.errors import problem
from webui.power import api_bp, service
from webui.power.backends import PowerError


def _state() -> dict:
    power = service.overview(db.get_db())
    scheduled, last = power["scheduled"], power["last"]
    return {"backend": power["backend"],
            "scheduled": scheduled.to_dict() if scheduled else None,
            "restart_required": power["restart_required"],
            "last_request": last.to_dict() if last else None}


@api_bp.route("")
def get_power():
    """Power state: backend, the scheduled action, restart-required reasons.

    Answers `{backend, scheduled: null | {action, at, message, requested_by, …},
    restart_required: [reason…], last_request}`; times are ISO 8601 UTC.
    """
    return jsonify(_state())


@api_bp.route("", methods=["POST"])
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
        recorded = service.request(db.get_db(), service.configured_backend(), action, delay,
                                   message, current_user.actor)
    except service.PowerConflict as exc:
        return problem(409, str(exc))
    except PowerError as exc:
        return problem(502, str(exc), title="The power backend failed")
    response = jsonify(request=recorded.to_dict(), **_state())
    response.status_code = 202
    return response


@api_bp.route("", methods=["DELETE"])
@admin_required
def cancel_power():
    """Cancel the scheduled restart or shut down (administrators); 404 when none is."""
    try:
        service.cancel(db.get_db(), service.configured_backend(), current_user.actor)
    except service.NothingScheduled as exc:
        return problem(404, str(exc))
    except PowerError as exc:
        return problem(502, str(exc), title="The power backend failed")
    return jsonify(_state())
