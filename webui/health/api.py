"""``/api/v1/health``: the device's health from the latest result of each diagnostic test."""

from __future__ import annotations

import time

from flask import Blueprint, current_app

from webui import db
from webui.api.contract import operation
from webui.health import schemas, service

bp = Blueprint("health_api", __name__, url_prefix="/api/v1/health")


@bp.route("")
@operation("health", schemas.Health)
def get_health():
    """The device's health and each test's latest result with its age.

    A run of some tests updates only those tests; the others keep their older results.
    """
    schedule = service.Schedule.from_config(current_app.config)
    return service.device_health(db.get_db(), schedule, time.time()).to_dict()
