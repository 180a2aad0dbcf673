"""Alerts: the device watches itself against rules and keeps an alert list (SPEC F11)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the pages and API, take the navigation slot, add the overview card and the
    top-bar counts every page shows, and give the app its alert watcher, which evaluates the
    rules while it serves."""
    from webui import shell
    from webui.alerts import api, views, watch

    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    app.context_processor(views.template_context)
    app.add_template_filter(views.severity_label, "severity_label")
    app.add_template_filter(views.state_label, "alert_state_label")
    shell.add_section(app, "Alerts", "alerts.page", "Device", 12)
    shell.add_card(app, "dashboard/_alerts_card.html", views.card)
    watch.init_app(app)
