from __future__ import annotations

from flask import current_app, jsonify, render_template

from diagnostics import Host, system
from diagnostics.hardware import inventory as hardware_inventory
from webui import config, db
from webui.access import public
from webui.dashboard import bp, service


@bp.route("/")
def overview():
    return render_template("dashboard/overview.html", **service.overview(db.get_db()))


@bp.route("/settings")
def settings():
    rows = [(f"{config.PREFIX}{s.name}", current_app.config[s.name], s.help)
            for s in config.SETTINGS]
    return render_template("dashboard/settings.html", rows=rows)


@bp.route("/healthz")
@public
def healthz():
    return jsonify(status="ok", boot_id=system.boot_id(Host()))


@bp.route("/usage")
def usage():
    """The live-usage card, refreshed by htmx every 2 s."""
    return render_template("dashboard/_usage.html", **service.usage_context())


@bp.route("/hardware")
def hardware():
    return render_template("dashboard/hardware.html", inventory=hardware_inventory())
