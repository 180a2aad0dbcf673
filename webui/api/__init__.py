"""``/api/v1``: JSON for every feature (session cookie + CSRF header, or a bearer token)."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


from webui.api import views  # noqa: E402,F401
