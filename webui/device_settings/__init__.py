"""Configuration > Settings: the settings an admin makes on the device, as a layer above the
config file and below the environment, with their page and API (SPEC F12)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the sections' forms and the API (the page is Configuration > Settings)."""
    from webui.device_settings import api, views

    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
