"""The audit log page, the ``record`` helper every feature calls, and who hears of it."""

from __future__ import annotations

from flask import Flask

from webui.audit.listeners import on_record
from webui.audit.service import CONSOLE, SYSTEM, Actor, record

__all__ = ["CONSOLE", "SYSTEM", "Actor", "init_app", "on_record", "record"]


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
