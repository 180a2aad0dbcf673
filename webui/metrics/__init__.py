"""``/metrics`` for Prometheus: device health in a fleet monitor's terms."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("metrics", __name__)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


from webui.metrics import views  # noqa: E402,F401
