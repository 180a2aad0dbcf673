"""``/metrics`` for Prometheus: device health in a fleet monitor's terms."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from webui.metrics import counters, views

    counters.init_app(app)
    app.register_blueprint(views.bp)
