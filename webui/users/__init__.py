"""Users and API tokens (administrators only)."""

from flask import Blueprint

bp = Blueprint("users", __name__, url_prefix="/users")

from webui.users import views  # noqa: E402,F401
