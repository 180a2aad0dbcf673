"""Configuration > Host and ``/api/v1/system``: the host's name, time zone and NTP servers,
changed through a backend."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the Host page (administrators only) and the API."""
    from webui import shell
    from webui.system import api, views

    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    shell.add_section(app, "Host", "system.page", "Configuration", 35, admin_only=True)
