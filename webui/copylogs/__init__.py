"""Data > Copy logs: the list, one log with its summary and entries, the API, the overview card.

The logs themselves are read by :mod:`diagnostics.copylogs`; this package only shows them.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the pages, the API and the overview card; open the store on the configured roots
    and index its logs through the app's job runner."""
    from diagnostics.copylogs import CopyLogStore
    from webui import db, shell
    from webui.copylogs import api, indexer, queries, views

    store = CopyLogStore(app.config["COPYLOG_ROOTS"],
                         str(Path(app.config["INSTANCE"]) / indexer.INDEX_DIR))
    app.extensions["copylogs"] = queries.CopyLogs(
        store, indexer.Indexer(store, app.extensions["jobs"], db.path_for(app)))
    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    shell.add_section(app, "Copy logs", "copylogs.page", "Data", 10)
    shell.add_card(app, "dashboard/_copylogs_card.html", views.card)
