"""Maintenance > Power: restart and shut down, the restarting page, the API, banners and card."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the page and API, the scheduled-action and dry-run banners, the overview card."""
    from webui import shell
    from webui.power import api, views

    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    shell.add_section(app, "Power", "power.page", "Maintenance", 10)
    shell.add_banner(app, views.scheduled_banner)
    shell.add_banner(app, views.dry_run_banner)
    shell.add_card(app, "power/_card.html", views.card)
