"""Sign-in, sign-out and password change."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from webui.auth import views  # noqa: E402,F401
