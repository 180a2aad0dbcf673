from __future__ import annotations

import time
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)

from diagnostics import Host
from diagnostics.hardware import inventory as hardware_inventory
from diagnostics.readers.boot import boot_id
from webui import db, htmx, shell
from webui.access import public
from webui.dashboard import cards, service, usage

bp = Blueprint("dashboard", __name__)


@bp.route("/")
def overview():
    return render_template("dashboard/overview.html", **service.overview(db.get_db()),
                           usage_card=_usage_card(),
                           cards=cards.rendered(shell.cards(), time.time()))


@bp.route("/settings")
def settings():
    """The settings made on site, editable by admins, then every setting with its value as an
    admin writes it and where that value came from."""
    from webui.device_settings.views import page

    return page()


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


def _usage_card():
    sampler = usage.sampler(current_app)
    sampler.ensure_running()
    template = current_app.jinja_env.get_template("dashboard/_usage.html")
    return cards.cache().usage(sampler,
                               lambda: template.render(**service.usage_context(sampler)))


@bp.route("/usage", endpoint="usage")
def usage_card():
    """The live-usage card, refreshed by htmx every 2 s."""
    return _usage_card()


@bp.route("/usage/history")
def usage_history():
    return render_template("dashboard/usage_history.html",
                           **service.usage_history(db.get_db(), time.time()))


@bp.route("/banners/dismiss", methods=["POST"])
def dismiss_banner():
    """Hide an information banner for the session; htmx removes it, a plain form reloads."""
    if not shell.dismiss_banner(request.form.get("title", "")):
        abort(404)
    if htmx.is_htmx():
        return "", 200
    return redirect(url_for("dashboard.overview"), code=303)


@bp.route("/hardware")
def hardware():
    return render_template("dashboard/hardware.html", inventory=hardware_inventory())
