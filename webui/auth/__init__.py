"""Sign-in, sign-out and password change."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("auth", __name__)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


from webui.auth import views  # noqa: E402,F401
