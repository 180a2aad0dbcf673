"""``/api/v1/connectivity``: the mode, changing it, and the outcome of a change."""

from __future__ import annotations

from flask import Blueprint, current_app, url_for

from webui import db, jobs
from webui.access import admin_required, current_actor
from webui.api.contract import Answer, Reply, operation
from webui.connectivity import schemas, state
from webui.errors import found_or_404, problem

bp = Blueprint("connectivity_api", __name__, url_prefix="/api/v1/connectivity")


@bp.route("")
@operation("connectivity", schemas.ConnectivityMode)
def get_mode():
    """The connectivity mode, and who changed it when."""
    return state.mode_state(db.get_db()).to_dict()


@bp.route("", methods=["PUT"])
@admin_required
@operation("connectivity",
           {200: Answer(schemas.ModeChanged, "Changed (or already in this mode)."),
            202: Answer(schemas.ModeChange, "The hooks are still running.",
                        headers=("Location",))},
           body=schemas.NewMode, errors=[409], example={"mode": "partially_disconnected"})
def put_mode(body: schemas.NewMode):
    """Change the connectivity mode, running the connectivity hooks.

    409 while another change runs, or when a hook fails: the previous mode is restored and the
    problem carries the change (`failed_hook`, `hooks`, `rollback_hooks`). Hooks still running
    after a moment: 202 with `Location` to the change, which shows its outcome. Once fully
    disconnected, API tokens are refused (403): only the local web UI can change it back.
    """
    conn = db.get_db()
    job_id = state.start_change(conn, jobs.runner(), body.mode, current_actor(),
                                state.HookSettings.from_config(current_app.config))
    job = state.wait_for(conn, job_id, state.WAIT_SECONDS)
    if job.active:
        return Reply(job.to_dict(), 202, location=url_for(".get_change", job_id=job.id))
    if job.error is not None:
        raise job.error
    if not job.change.ok:
        return problem(409, job.change.failure, title="Connectivity hook failed",
                       **job.change.to_dict())
    return {**state.mode_state(conn).to_dict(), "hooks": job.change.to_dict()["hooks"]}


@bp.route("/changes/<job_id>")
@operation("connectivity", schemas.ModeChange, errors=[404])
def get_change(job_id: str):
    """One mode change: queued or running, then its outcome and every hook run."""
    return found_or_404(state.change_job(db.get_db(), job_id),
                        "No such connectivity mode change.").to_dict()
