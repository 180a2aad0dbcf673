"""``/api/docs``: the API reference, browsable offline (Swagger UI on ``/api/v1/openapi.json``)."""

from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("api_docs", __name__)

SWAGGER_UI = "vendor/swagger-ui-5.35.0"


@bp.route("/api/docs")
def page():
    """Every operation of the API, with its parameters, answers and examples, to try out."""
    return render_template("api/docs.html", swagger_ui=SWAGGER_UI)
