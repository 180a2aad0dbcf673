"""Configuration > Connectivity: the mode page, its API, its banner and overview card.

Other features ask ``allows(capability)`` before anything the mode governs (SPEC F5).
"""

from __future__ import annotations

import logging

from flask import Blueprint, Flask

from webui.connectivity import service
from webui.connectivity.service import Allowance, allows, current_mode

bp = Blueprint("connectivity", __name__, url_prefix="/connectivity")
api_bp = Blueprint("connectivity_api", __name__, url_prefix="/api/v1/connectivity")

__all__ = ["Allowance", "allows", "api_bp", "bp", "current_mode", "init_app"]

log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    """Register the page and API, the banner, the overview card; bring the mode file up to date."""
    from webui import db, shell

    app.register_blueprint(bp)
    app.register_blueprint(api_bp)
    shell.add_section(app, "Connectivity", "connectivity.page", "Configuration", 10)
    shell.add_banner(app, views.banner)
    shell.add_card(app, "connectivity/_card.html", views.card)
    shell.add_gate(app, views.remote_management_gate)
    conn = db.connect(db.path_for(app))
    try:
        service.sync_state_file(conn, app.config["INSTANCE"])
    except OSError as exc:
        log.warning("cannot write the connectivity mode file: %s", exc)
    finally:
        conn.close()


from webui.connectivity import api, views  # noqa: E402,F401
