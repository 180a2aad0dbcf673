"""``/api/v1/diagnostics``: the catalogue, starting runs, and reading them."""

from __future__ import annotations

import re

from flask import abort, jsonify, request, url_for
from flask_login import current_user

from webui import db, jobs
from webui.access import admin_required
from webui.api.helpers import FieldError, json_body
from webui.errors import problem
from webui.troubleshooting import api_bp, service

MAX_LIST_LIMIT = 100
LIMIT = re.compile(r"[0-9]{1,3}")
RUN_FIELDS = {"tests"}


@api_bp.route("/tests")
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


@api_bp.route("/runs", methods=["POST"])
@admin_required
def create_run():
    """Start a diagnostic run (administrators); 202 with the run and its Location.

    Body ``{"tests": [id, …]}``; without ``tests`` (or without a body) every test runs.
    409 names the active run when one is already going.
    """
    # An empty body runs every test.
    body = json_body() if request.get_data(cache=True) else {}
    tests = _requested_tests(body)
    try:
        run_id = service.start_run(tests, current_user.actor)
    except service.UnknownTests as exc:
        raise FieldError("tests", f"unknown test ids: {', '.join(exc.ids)}") from None
    except jobs.JobConflict as exc:
        return problem(409, "A diagnostic run is already in progress; start another when it "
                            "has finished.", active_run=exc.job_id,
                       active_run_url=url_for(".get_run", run_id=exc.job_id))
    run = service.get_run(db.get_db(), run_id)
    response = jsonify(run.to_dict())
    response.status_code = 202
    response.headers["Location"] = url_for(".get_run", run_id=run_id)
    return response


@api_bp.route("/runs")
def list_runs():
    """Recent diagnostic runs, newest first: ``{"runs": [run…]}``; ``limit`` 1–100 (20)."""
    limit = request.args.get("limit", "20")
    if not LIMIT.fullmatch(limit) or not 1 <= int(limit) <= MAX_LIST_LIMIT:
        raise FieldError("limit", f"a whole number from 1 to {MAX_LIST_LIMIT}")
    runs = service.list_runs(db.get_db(), int(limit))
    return jsonify(runs=[run.to_dict() for run in runs])


@api_bp.route("/runs/<run_id>")
def get_run(run_id: str):
    """One run: ``{id, state, started_at, finished_at, progress, results, …}``."""
    run = service.get_run(db.get_db(), run_id)
    if run is None:
        abort(404, description="No such diagnostic run.")
    return jsonify(run.to_dict())
