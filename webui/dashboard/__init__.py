"""Device > Overview and Hardware, Configuration > Settings, and the health check."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the pages, take the navigation slots and give the app its usage sampler."""
    from webui import shell
    from webui.dashboard import usage, views

    app.register_blueprint(views.bp)
    app.extensions["usage"] = usage.UsageSampler()
    shell.add_section(app, "Overview", "dashboard.overview", "Device", 10)
    shell.add_section(app, "Hardware", "dashboard.hardware", "Device", 20)
    shell.add_section(app, "Settings", "dashboard.settings", "Configuration", 30)
