"""Notifications: alert changes sent by e-mail, webhook or syslog, as the connectivity mode
allows (SPEC F11, F5)."""

from __future__ import annotations

from pathlib import Path

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the page, hear of alert changes and mode changes, and give the app its
    deliverer, started by the first request of a serving app (never in tests)."""
    from webui import audit, shell, vault
    from webui.alerts import service as alerts
    from webui.notifications import delivery, views

    vault.ensure_key(Path(app.config["INSTANCE"]))
    app.register_blueprint(views.bp)
    shell.add_section(app, "Notifications", "notifications.page", "Configuration", 25,
                      admin_only=True)
    app.extensions["notifications"] = deliverer = delivery.Deliverer(app)

    def on_alert(conn, alert, event):
        if delivery.queue_alert(conn, app.config, alert, event, deliverer.clock()):
            deliverer.wake.set()

    def on_audit(action, outcome):
        if action == "connectivity_mode" and outcome == "success":
            deliverer.wake.set()  # a digest may be due

    alerts.on_change(app, on_alert)
    audit.on_record(app, on_audit)
    if not app.testing:
        app.before_request(deliverer.ensure_running)
