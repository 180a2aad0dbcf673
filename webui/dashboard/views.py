from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, jsonify, render_template

from diagnostics import Host
from diagnostics.hardware import inventory as hardware_inventory
from diagnostics.readers.boot import boot_id
from webui import config, db, shell
from webui.access import public
from webui.dashboard import service, usage

bp = Blueprint("dashboard", __name__)


@bp.route("/")
def overview():
    return render_template("dashboard/overview.html", **service.overview(
        db.get_db(), usage.sampler(current_app), shell.cards()))


@bp.route("/settings")
def settings():
    """Every setting with its value as an admin writes it and where that value came from."""
    sources = current_app.config[config.SOURCES]
    rows = [(f"{config.PREFIX}{s.name}", shown_setting(current_app.config[s.name]),
             sources[s.name], s.help) for s in config.SETTINGS]
    return render_template("dashboard/settings.html", rows=rows,
                           config_file=current_app.config["CONFIG"]
                           or str(Path(current_app.config["INSTANCE"]) / "config.toml"))


def shown_setting(value: Any) -> str | list[str]:
    """A setting's value as it is written in the environment or the config file: ``host:port``,
    ``true``/``false``, a list as a list of its items."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):  # the bind address
        host, port = value
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    if isinstance(value, list):
        return [str(item) for item in value]
    return "" if value is None else str(value)


@bp.route("/healthz")
@public
def healthz():
    return jsonify(status="ok", boot_id=boot_id(Host()))


@bp.route("/usage", endpoint="usage")
def usage_card():
    """The live-usage card, refreshed by htmx every 2 s."""
    return render_template("dashboard/_usage.html",
                           **service.usage_context(usage.sampler(current_app)))


@bp.route("/hardware")
def hardware():
    return render_template("dashboard/hardware.html", inventory=hardware_inventory())
