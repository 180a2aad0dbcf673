"""Data > Copy logs: the list, one log with its summary and entries, the API, the overview card.

The logs themselves are read by :mod:`diagnostics.copylogs`; this package only shows them.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Flask

bp = Blueprint("copylogs", __name__, url_prefix="/copy-logs")
api_bp = Blueprint("copylogs_api", __name__, url_prefix="/api/v1/copylogs")

INDEX_DIR = "copylog-index"


def init_app(app: Flask) -> None:
    """Register the pages, the API and the overview card; open the store on the configured roots."""
    from diagnostics.copylogs import CopyLogStore
    from webui import shell

    store = CopyLogStore(app.config["COPYLOG_ROOTS"], str(Path(app.config["INSTANCE"]) / INDEX_DIR))
    app.extensions["copylogs"] = service.CopyLogs(store)
    app.register_blueprint(bp)
    app.register_blueprint(api_bp)
    shell.add_section(app, "Copy logs", "copylogs.page", "Data", 10)
    shell.add_card(app, "dashboard/_copylogs_card.html", views.card)


from webui.copylogs import api, service, views  # noqa: E402,F401
