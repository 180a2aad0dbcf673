"""``/api/v1``: JSON for every feature (session cookie + CSRF header, or a bearer token)."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from webui.api import views  # noqa: E402,F401
