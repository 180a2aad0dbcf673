"""Device > Overview and Hardware, Configuration > Settings, and the health check."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the pages, take the navigation slots and give the app its usage sampler."""
    from webui import db, shell
    from webui.dashboard import cards, history, usage, views

    app.register_blueprint(views.bp)
    app.extensions["usage"] = usage.UsageSampler(on_minute=history.Recorder(db.path_for(app)))
    app.extensions["overview_cards"] = cards.CardCache()
    if not app.testing:
        # The 24-hour history runs from the service's first request, not its first page view.
        app.before_request(usage.sampler(app).ensure_running)
    shell.add_section(app, "Overview", "dashboard.overview", "Device", 10)
    shell.add_section(app, "Usage", "dashboard.usage_history", "Device", 15)
    shell.add_section(app, "Hardware", "dashboard.hardware", "Device", 20)
    shell.add_section(app, "Settings", "dashboard.settings", "Configuration", 30)
