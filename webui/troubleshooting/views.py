from __future__ import annotations

from flask import Response, abort, current_app, json, render_template, url_for
from flask_login import current_user

from webui import audit, db, htmx, jobs
from webui.access import admin_required
from webui.troubleshooting import bp, service
from webui.troubleshooting.forms import RunForm

HISTORY_LENGTH = 20
# htmx stops polling when a poll answers 286.
STOP_POLLING = 286


def _page(status: int = 200, form: RunForm | None = None, active_run: str | None = None):
    conn = db.get_db()
    history = service.list_runs(conn, HISTORY_LENGTH)
    return render_template("troubleshooting/page.html", form=form or RunForm(),
                           tests=service.tests(), latest=next(iter(history), None),
                           history=history, active_run=active_run), status


def _run_or_404(run_id: str) -> service.Run:
    run = service.get_run(db.get_db(), run_id)
    if run is None:
        abort(404, description="No such diagnostic run.")
    return run


@bp.route("/diagnostics")
def diagnostics():
    """The test checklist, the latest run and the history of runs."""
    return _page()


@bp.route("/diagnostics/runs", methods=["POST"])
@admin_required
def start_run():
    """Start a run of the chosen tests and go to its page."""
    form = RunForm()
    if not form.validate_on_submit():
        return _page(422, form=form)
    try:
        run_id = service.start_run(form.tests.data, current_user.actor)
    except jobs.JobConflict as exc:
        return _page(409, form=form, active_run=exc.job_id)
    return htmx.redirect_to(url_for("troubleshooting.run", run_id=run_id))


@bp.route("/diagnostics/runs/<run_id>")
def run(run_id: str):
    """A run's page; for htmx polls, its fragment."""
    run = _run_or_404(run_id)
    # A poll of a finished run answers its last state and stops the polling.
    status = STOP_POLLING if htmx.is_htmx() and not run.active else 200
    return htmx.render("troubleshooting/run.html", "troubleshooting/_run.html", status, run=run)


@bp.route("/diagnostics/runs/<run_id>/download")
def download_run(run_id: str):
    """The run as a JSON attachment named after the device and its start time."""
    run = _run_or_404(run_id)
    device_name = current_app.config["DEVICE_NAME"]
    body = json.dumps({"device_name": device_name, **run.to_dict()}, indent=2)
    audit.record("diagnostics_download", run.id)
    filename = run.download_name(device_name)
    return Response(body, mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def overview_card() -> dict:
    """The overview card: the latest run's health and counts by status."""
    return {"run": service.latest_run(db.get_db())}
