"""Users and API tokens (administrators only)."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("users", __name__, url_prefix="/users")


def init_app(app: Flask) -> None:
    from webui import shell

    app.register_blueprint(bp)
    shell.add_section(app, "Users and tokens", "users.page", "Configuration", 20,
                      admin_only=True)


from webui.users import views  # noqa: E402,F401
