"""``/metrics`` for Prometheus: device health in a fleet monitor's terms."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from webui.metrics import views

    app.register_blueprint(views.bp)
