from __future__ import annotations

from flask import Blueprint, Response, abort, current_app
from flask_login import current_user
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import CollectorRegistry

from webui import db
from webui.api.contract import Answer, operation
from webui.metrics import counters
from webui.metrics.service import DeviceCollector

bp = Blueprint("metrics", __name__)


@bp.route("/metrics")
@operation("metrics", Answer(str, "The Prometheus text exposition format.",
                             media_type="text/plain"))
def metrics():
    """Prometheus metrics: health, diagnostics, connectivity, power, copy logs, events.

    Any API token may scrape; people signed in need the administrator role. The series and
    the alert rules built on them are in the README ("Watching a fleet").
    """
    # Any token may scrape; people need the administrator role.
    if current_user.via == "session" and not current_user.is_admin:
        abort(403, description="Metrics are for API tokens and administrators.")
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DeviceCollector(db.get_db(), current_app.config,
                                      current_app.extensions["copylogs"], db.now()))
    registry.register(counters.of(current_app).registry)
    # The type carries its own charset: given as the whole header, Flask adds none.
    return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
