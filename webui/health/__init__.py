"""Device health: the latest result of every diagnostic test (SPEC F11)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the API."""
    from webui.health import api

    app.register_blueprint(api.bp)
