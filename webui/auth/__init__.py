"""Sign-in, sign-out and password change."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from webui import db
    from webui.auth import passwords, views

    app.register_blueprint(views.bp)
    conn = db.connect(db.path_for(app))
    try:
        passwords.keep_cost(conn, app.config.get("ARGON2_PARAMS") or {})
    finally:
        conn.close()
