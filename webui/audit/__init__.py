"""The audit log page and the ``record`` helper every feature calls."""

from __future__ import annotations

from flask import Blueprint, Flask

from webui.audit.service import CONSOLE, SYSTEM, Actor, record

bp = Blueprint("audit", __name__)

__all__ = ["CONSOLE", "SYSTEM", "Actor", "bp", "init_app", "record"]


def init_app(app: Flask) -> None:
    from webui import db, shell

    app.register_blueprint(bp)
    shell.add_section(app, "Audit log", "audit.page", "Security", 10)
    conn = db.connect(db.path_for(app))
    try:
        service.keep_retention(conn, app.config["AUDIT_RETENTION_DAYS"],
                               app.config["AUDIT_MAX_ENTRIES"])
    finally:
        conn.close()


from webui.audit import service, views  # noqa: E402,F401
