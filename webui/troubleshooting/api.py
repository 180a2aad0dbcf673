"""``/api/v1/diagnostics``: the catalogue, starting runs, and reading them."""

from __future__ import annotations

import re

from flask import Blueprint, current_app, jsonify, request, url_for

from diagnostics import UnknownTests
from webui import db, jobs
from webui.access import admin_required, current_actor
from webui.api.helpers import FieldError, json_body
from webui.errors import found_or_404, problem
from webui.troubleshooting import service

bp = Blueprint("diagnostics_api", __name__, url_prefix="/api/v1/diagnostics")

MAX_LIST_LIMIT = 100
LIMIT = re.compile(r"[0-9]{1,3}")
RUN_FIELDS = {"tests"}


@bp.route("/tests")
def list_tests():
    """The diagnostic tests: ``{"tests": [{id, title, description}]}``."""
    return jsonify(tests=service.tests())


def _requested_tests(body: dict) -> list[str] | None:
    unknown_fields = sorted(set(body) - RUN_FIELDS)
    if unknown_fields:
        raise FieldError(unknown_fields[0], 'not a field of a run; send {"tests": [id, …]}')
    tests = body.get("tests")
    if tests is None:
        return None
    if (not isinstance(tests, list) or not tests
            or not all(isinstance(test_id, str) for test_id in tests)):
        raise FieldError("tests", "a non-empty list of test ids (GET /api/v1/diagnostics/tests)")
    return tests


@bp.route("/runs", methods=["POST"])
@admin_required
def create_run():
    """Start a diagnostic run (administrators); 202 with the run and its Location.

    Body ``{"tests": [id, …]}``; without ``tests`` (or without a body) every test runs.
    409 names the active run when one is already going.
    """
    # An empty body runs every test.
    body = json_body() if request.get_data(cache=True) else {}
    tests = _requested_tests(body)
    conn = db.get_db()
    try:
        run_id = service.start_run(conn, jobs.runner(), current_app.config, tests,
                                   current_actor())
    except UnknownTests as exc:
        raise FieldError("tests", f"unknown test ids: {', '.join(exc.ids)}") from None
    except jobs.JobConflict as exc:
        return problem(409, "A diagnostic run is already in progress; start another when it "
                            "has finished.", active_run=exc.job_id,
                       active_run_url=url_for(".get_run", run_id=exc.job_id))
    response = jsonify(service.get_run(conn, run_id).to_dict())
    response.status_code = 202
    response.headers["Location"] = url_for(".get_run", run_id=run_id)
    return response


@bp.route("/runs")
def list_runs():
    """Recent diagnostic runs, newest first: ``{"runs": [run…]}``; ``limit`` 1–100 (20)."""
    limit = request.args.get("limit", "20")
    if not LIMIT.fullmatch(limit) or not 1 <= int(limit) <= MAX_LIST_LIMIT:
        raise FieldError("limit", f"a whole number from 1 to {MAX_LIST_LIMIT}")
    runs = service.list_runs(db.get_db(), int(limit))
    return jsonify(runs=[run.to_dict() for run in runs])


@bp.route("/runs/<run_id>")
def get_run(run_id: str):
    """One run: ``{id, state, started_at, finished_at, progress, results, …}``."""
    run = found_or_404(service.get_run(db.get_db(), run_id), "No such diagnostic run.")
    return jsonify(run.to_dict())
