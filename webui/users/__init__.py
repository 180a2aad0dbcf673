"""Users and API tokens (administrators only)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from webui import shell
    from webui.users import views

    app.register_blueprint(views.bp)
    shell.add_section(app, "Users and tokens", "users.page", "Configuration", 20,
                      admin_only=True)
