"""``/api/v1/connectivity``: the mode, changing it, and the outcome of a change."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, url_for

from webui import db, jobs
from webui.access import admin_required, current_actor
from webui.api.helpers import json_body
from webui.connectivity import policy, state
from webui.errors import found_or_404, problem

bp = Blueprint("connectivity_api", __name__, url_prefix="/api/v1/connectivity")


def _answer(**extra):
    return jsonify(**state.mode_state(db.get_db()).to_dict(), **extra)


@bp.route("")
def get_mode():
    """The connectivity mode: `{mode, changed_at, changed_by}`."""
    return _answer()


@bp.route("", methods=["PUT"])
@admin_required
def put_mode():
    """Change the connectivity mode (administrators): `{mode}`.

    Runs the connectivity hooks; 409 with the failing hook's output when one fails (the
    previous mode is restored) or while another change runs; 422 for an unknown mode. Hooks
    still running after a moment: 202 with `Location` to the change, which shows its outcome.
    """
    mode = json_body().get("mode")
    if not isinstance(mode, str) or mode not in policy.MODES:
        rule = f"one of {', '.join(policy.MODES)}"
        return problem(422, f"mode: {rule}", errors=[{"field": "mode", "rule": rule}],
                       allowed=list(policy.MODES))
    conn = db.get_db()
    job_id = state.start_change(conn, jobs.runner(), mode, current_actor(),
                                state.HookSettings.from_config(current_app.config))
    job = state.wait_for(conn, job_id, state.WAIT_SECONDS)
    if job.active:
        response = jsonify(job.to_dict())
        response.status_code = 202
        response.headers["Location"] = url_for("connectivity_api.get_change", job_id=job.id)
        return response
    if job.error is not None:
        raise job.error
    if not job.change.ok:
        return problem(409, job.change.failure, title="Connectivity hook failed",
                       **job.change.to_dict())
    return _answer(hooks=job.change.to_dict()["hooks"])


@bp.route("/changes/<job_id>")
def get_change(job_id: str):
    """A mode change: `{id, state, requested, requested_by, requested_at, finished_at, detail}`
    and, once its hooks ran, `{previous, mode, failed_hook, hooks, rollback_hooks}`.

    `state` is `queued` or `running`, then `changed`, `unchanged`, `rolled_back` (a hook
    failed; the previous mode was restored), `refused` (another change was running) or
    `failed` (the change could not run; `detail` says why).
    """
    job = found_or_404(state.change_job(db.get_db(), job_id), "No such connectivity mode change.")
    return jsonify(job.to_dict())
