"""Device > Overview and Hardware, Configuration > Settings, and the health check."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("dashboard", __name__)


def init_app(app: Flask) -> None:
    from webui import shell

    app.register_blueprint(bp)
    shell.add_section(app, "Overview", "dashboard.overview", "Device", 10)
    shell.add_section(app, "Hardware", "dashboard.hardware", "Device", 20)
    shell.add_section(app, "Settings", "dashboard.settings", "Configuration", 30)


from webui.dashboard import views  # noqa: E402,F401
