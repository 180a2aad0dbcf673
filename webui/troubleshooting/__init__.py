"""Troubleshooting > Diagnostic tests: the page, its API and the overview card (SPEC F3)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the page and API, take the navigation slot, add the overview card and the
    status labels every template reads."""
    from webui import shell
    from webui.troubleshooting import api, views

    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    app.add_template_filter(views.worst_first, "worst_first")
    shell.add_section(app, "Diagnostic tests", "troubleshooting.diagnostics",
                      "Troubleshooting", 10)
    shell.add_card(app, "dashboard/_diagnostics_card.html", views.overview_card)
