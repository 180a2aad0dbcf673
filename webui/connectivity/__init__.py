"""Configuration > Connectivity: the mode page, its API, its banner and overview card.

Other features ask ``policy.allows(capability, state.current_mode(conn))`` before anything
the mode governs (SPEC F5).
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the page and API, the banner, the overview card, the remote-management gate,
    and bring the mode file up to date at start-up."""
    from webui import db, shell
    from webui.connectivity import api, state, views

    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    shell.add_section(app, "Connectivity", "connectivity.page", "Configuration", 10)
    shell.add_banner(app, views.banner)
    shell.add_card(app, "connectivity/_card.html", views.card)
    shell.add_gate(app, views.remote_management_gate)
    shell.add_cleanup(app, lambda: state.sync_at_start(db.path_for(app), app.config["INSTANCE"]))
