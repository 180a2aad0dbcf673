"""``/api/v1``: JSON for every feature (session cookie + CSRF header, or a bearer token)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from webui.api import views

    app.register_blueprint(views.bp)
