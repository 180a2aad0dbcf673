from __future__ import annotations

import time

from flask import Blueprint, Response, current_app, render_template, url_for

import diagnostics
from webui import db, errors, htmx, jobs
from webui.access import admin_required, current_actor
from webui.health import service as health
from webui.troubleshooting import service
from webui.troubleshooting.forms import RunForm

bp = Blueprint("troubleshooting", __name__, url_prefix="/troubleshooting")

HISTORY_LENGTH = 20


# How an outcome lists the statuses of a run's results: the worst first.
OUTCOME_ORDER = ("unhealthy", "could_not_run", "warning", "healthy", "not_applicable")


def worst_first(counts: dict[str, int]) -> list[str]:
    """The statuses ``counts`` has, worst first."""
    return [status for status in OUTCOME_ORDER if status in counts]


def _page(status: int = 200, form: RunForm | None = None, active_run: str | None = None):
    catalogue = diagnostics.catalogue()
    conn = db.get_db()
    history = service.run_summaries(conn, HISTORY_LENGTH)
    latest = service.latest_run(conn) if history else None
    # Running the same tests again is the common next step: they start ticked.
    form = form or RunForm(catalogue, tests=latest.tests if latest else [])
    return render_template("troubleshooting/page.html", form=form, tests=catalogue,
                           latest=latest, history=history, active_run=active_run), status


def _run_or_404(run_id: str) -> service.Run:
    return errors.found_or_404(service.get_run(db.get_db(), run_id), "No such diagnostic run.")


@bp.route("/diagnostics", endpoint="diagnostics")
def diagnostics_page():
    """The test checklist, the latest run and the history of runs."""
    return _page()


@bp.route("/diagnostics/runs", methods=["POST"])
@admin_required
def start_run():
    """Start a run of the chosen tests and go to its page."""
    form = RunForm(diagnostics.catalogue())
    if not form.validate_on_submit():
        return _page(422, form=form)
    try:
        run_id = service.start_run(db.get_db(), jobs.runner(), current_app.config,
                                   form.tests.data, current_actor())
    except diagnostics.UnknownTests as exc:
        form.tests.errors.append(f"{', '.join(exc.ids)}: not a valid choice of test.")
        return _page(errors.status_of(exc), form=form)
    except jobs.JobConflict as exc:
        return _page(errors.status_of(exc), form=form, active_run=exc.job_id)
    return htmx.redirect_to(url_for("troubleshooting.run", run_id=run_id))


@bp.route("/diagnostics/runs/<run_id>")
def run(run_id: str):
    """A run's page; for htmx polls, its fragment."""
    run = _run_or_404(run_id)
    # A poll of a finished run answers its last state and stops the polling.
    status = htmx.STOP_POLLING if htmx.is_htmx() and not run.active else 200
    return htmx.render("troubleshooting/run.html", "troubleshooting/_run.html", status, run=run)


@bp.route("/diagnostics/runs/<run_id>/download")
def download_run(run_id: str):
    """The run as a JSON attachment named after the device and its start time."""
    run = _run_or_404(run_id)
    device_name = current_app.config["DEVICE_NAME"]
    body = service.download(db.get_db(), run, device_name, current_actor())
    filename = run.download_name(device_name)
    return Response(body, mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def overview_card() -> dict:
    """The overview card: the device's health, each test's latest result, the latest run."""
    conn = db.get_db()
    schedule = health.Schedule.from_config(current_app.config)
    return {"health": health.device_health(conn, schedule, time.time()),
            "run": service.latest_run(conn)}
