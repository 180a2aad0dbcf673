"""Overview, settings view, health check, and placeholders for sections still to come."""

from flask import Blueprint

bp = Blueprint("dashboard", __name__)
placeholder_bp = Blueprint("placeholder", __name__)

from webui.dashboard import views  # noqa: E402,F401
