"""``/api/v1/diagnostics``: the catalogue, starting runs, and reading them."""

from __future__ import annotations

from flask import Blueprint, current_app, url_for

from webui import db, jobs
from webui.access import admin_required, current_actor
from webui.api.contract import Answer, Page, Paging, Reply, operation
from webui.errors import found_or_404, problem
from webui.troubleshooting import schemas, service

bp = Blueprint("diagnostics_api", __name__, url_prefix="/api/v1/diagnostics")


@bp.route("/tests")
@operation("diagnostics", Page[schemas.DiagnosticTest], query=Paging)
def list_tests(query: Paging):
    """The diagnostic tests, in catalogue order."""
    return Page[schemas.DiagnosticTest].sliced(query, service.tests())


@bp.route("/runs", methods=["POST"])
@admin_required
@operation("diagnostics", {202: Answer(schemas.Run, "Started.", headers=("Location",))},
           body=schemas.NewRun, body_required=False, errors=[409],
           example={"tests": ["time_sync", "certificates"]})
def create_run(body: schemas.NewRun):
    """Start a diagnostic run.

    Without a body, or without `tests`, every test runs. 409 names the active run
    (`active_run`, `active_run_url`) when one is already going.
    """
    conn = db.get_db()
    try:
        run_id = service.start_run(conn, jobs.runner(), current_app.config, body.tests,
                                   current_actor())
    except jobs.JobConflict as exc:
        return problem(409, "A diagnostic run is already in progress; start another when it "
                            "has finished.", active_run=exc.job_id,
                       active_run_url=url_for(".get_run", run_id=exc.job_id))
    return Reply(service.get_run(conn, run_id).to_dict(), 202,
                 location=url_for(".get_run", run_id=run_id))


@bp.route("/runs")
@operation("diagnostics", Page[schemas.Run], query=schemas.RunsQuery)
def list_runs(query: schemas.RunsQuery):
    """Diagnostic runs, newest first."""
    conn = db.get_db()
    runs = service.list_runs(conn, query.per_page, query.offset)
    return Page[schemas.Run].of(query, service.count_runs(conn), [run.to_dict() for run in runs])


@bp.route("/runs/<run_id>")
@operation("diagnostics", schemas.Run, errors=[404])
def get_run(run_id: str):
    """One run: its state, progress and the results so far."""
    run = found_or_404(service.get_run(db.get_db(), run_id), "No such diagnostic run.")
    return run.to_dict()
