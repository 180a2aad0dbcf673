"""``/api/v1``: JSON for every feature (session cookie + CSRF header, or a bearer token)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from webui.api import docs, views

    app.register_blueprint(views.bp)
    app.register_blueprint(docs.bp)
