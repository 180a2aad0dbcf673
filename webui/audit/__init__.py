"""The audit log page and the ``record`` helper every feature calls."""

from flask import Blueprint

from webui.audit.service import record

bp = Blueprint("audit", __name__)

__all__ = ["bp", "record"]

from webui.audit import views  # noqa: E402,F401
