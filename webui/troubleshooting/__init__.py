"""Troubleshooting > Diagnostic tests: the page, its API and the overview card (SPEC F3)."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("troubleshooting", __name__, url_prefix="/troubleshooting")
api_bp = Blueprint("diagnostics_api", __name__, url_prefix="/api/v1/diagnostics")


def init_app(app: Flask) -> None:
    """Register the page and API, take the navigation slot, add the overview card."""
    from webui import shell

    app.register_blueprint(bp)
    app.register_blueprint(api_bp)
    shell.add_section(app, "Diagnostic tests", "troubleshooting.diagnostics",
                      "Troubleshooting", 10)
    shell.add_card(app, "dashboard/_diagnostics_card.html", views.overview_card)


from webui.troubleshooting import api, views  # noqa: E402,F401
