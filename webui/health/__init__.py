"""Device health: the latest result of every diagnostic test, and the schedule that keeps them
fresh (SPEC F11)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the API and give the app its diagnostics scheduler, started by the first
    request of a serving app (never in tests or console commands)."""
    from webui.health import api, schedule

    app.register_blueprint(api.bp)
    app.extensions["health_scheduler"] = schedule.Scheduler(app)
    if not app.testing and app.config["DIAGNOSTICS_SCHEDULE"]:
        app.before_request(schedule.scheduler(app).ensure_running)
