"""The audit log page and the ``record`` helper every feature calls."""

from __future__ import annotations

from flask import Flask

from webui.audit.service import CONSOLE, SYSTEM, Actor, record

__all__ = ["CONSOLE", "SYSTEM", "Actor", "init_app", "record"]


def init_app(app: Flask) -> None:
    from webui import db, shell
    from webui.audit import service, views

    app.register_blueprint(views.bp)
    shell.add_section(app, "Audit log", "audit.page", "Security", 10)
    conn = db.connect(db.path_for(app))
    try:
        service.keep_retention(conn, app.config["AUDIT_RETENTION_DAYS"],
                               app.config["AUDIT_MAX_ENTRIES"])
    finally:
        conn.close()
