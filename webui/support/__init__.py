"""Troubleshooting > Support: support packages (SPEC F7) and support tickets (SPEC F8)."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("support", __name__, url_prefix="/troubleshooting/support")
api_bp = Blueprint("support_api", __name__, url_prefix="/api/v1/support")


def init_app(app: Flask) -> None:
    """Register the pages and API, take the navigation slot, clean up after a crash."""
    from webui import shell

    app.register_blueprint(bp)
    app.register_blueprint(api_bp)
    shell.add_section(app, "Support", "support.page", "Troubleshooting", 20)
    shell.add_cleanup(app, lambda: service.clean_leftovers(app))
    shell.add_cleanup(app, lambda: tickets.clean_leftovers(app))
    app.extensions["jobs"].on_interrupted(
        service.KIND, lambda job: service.cleanup_partials(service.package_dir(app)))


from webui.support import api, service, tickets, views  # noqa: E402,F401
