"""Configuration > Host: the host's name, time zone and NTP servers, changed through a backend."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the Host page (administrators only)."""
    from webui import shell
    from webui.system import views

    app.register_blueprint(views.bp)
    shell.add_section(app, "Host", "system.page", "Configuration", 35, admin_only=True)
