"""Troubleshooting > Support: support packages (SPEC F7) and support tickets (SPEC F8)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the pages and API, take the navigation slot, clean up after a crash."""
    from diagnostics.collect import cleanup_partials
    from webui import db, shell
    from webui.support import api, packages, tickets, views

    def settings() -> packages.Settings:
        return packages.settings_from(app.config, app.secret_key)

    def clean_leftovers() -> None:
        conn = db.connect(db.path_for(app))
        try:
            packages.clean_leftovers(settings(), conn)
        finally:
            conn.close()
        tickets.clean_leftovers(settings())

    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    shell.add_section(app, "Support", "support.page", "Troubleshooting", 20)
    shell.add_cleanup(app, clean_leftovers)
    app.extensions["jobs"].on_interrupted(
        packages.KIND, lambda job: cleanup_partials(settings().package_dir))
