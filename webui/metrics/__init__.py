"""``/metrics`` for Prometheus: device health in a fleet monitor's terms."""

from flask import Blueprint

bp = Blueprint("metrics", __name__)

from webui.metrics import views  # noqa: E402,F401
