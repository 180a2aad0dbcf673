from __future__ import annotations

from flask import jsonify
from flask_login import current_user

from webui import db
from webui.access import admin_required
from webui.api.helpers import json_body
from webui.connectivity import api_bp, service
from webui.errors import problem


def _answer(**extra):
    state = service.state(db.get_db())
    return jsonify(**state.to_dict(), **extra)


@api_bp.route("")
def get_mode():
    """The connectivity mode: `{mode, changed_at, changed_by}`."""
    return _answer()


@api_bp.route("", methods=["PUT"])
@admin_required
def put_mode():
    """Change the connectivity mode (administrators): `{mode}`.

    Runs the connectivity hooks; 409 with the failing hook's output when one fails (the
    previous mode is restored) or while another change runs; 422 for an unknown mode.
    """
    mode = json_body().get("mode")
    if not isinstance(mode, str) or mode not in service.MODES:
        rule = f"one of {', '.join(service.MODES)}"
        return problem(422, f"mode: {rule}", errors=[{"field": "mode", "rule": rule}],
                       allowed=list(service.MODES))
    try:
        change = service.change(mode, current_user.actor)
    except service.ModeChangeError as exc:
        return problem(exc.status, str(exc))
    if not change.ok:
        failed = change.failed_hook
        return problem(409, f"The hook {failed.name} failed ({failed.outcome}); the mode "
                            f"{service.LABELS[change.previous]} was restored.",
                       title="Connectivity hook failed", **change.to_dict())
    return _answer(hooks=change.to_dict()["hooks"])
