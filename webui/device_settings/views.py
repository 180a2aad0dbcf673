"""The Settings page: the settings made on site in sections, editable by administrators where
no layer above pins them, and below them every setting with where its value came from."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_wtf import FlaskForm

from webui import config, db
from webui.access import admin_required, current_actor
from webui.device_settings import forms, service

bp = Blueprint("settings", __name__, url_prefix="/settings")

# The settings each field stands for, to tell which fields a pin makes read-only.
SETTINGS_OF = {"ntp_primary": "ntp_servers", "ntp_secondary": "ntp_servers",
               "forget_password": "proxy_password"}


def page(status: int = 200, invalid: tuple[str, FlaskForm] | None = None):
    """The page, with the section that failed to save showing what was entered and why."""
    values = service.current(current_app.config)
    sections = []
    for name, form_class in forms.SECTIONS.items():
        if invalid and invalid[0] == name:
            form = invalid[1]
        else:
            form = form_class(formdata=None)
            form.show({key: item.value for key, item in values.items()})
        sections.append((name, form, _pins(form, values)))
    return render_template("dashboard/settings.html", sections=sections, rows=_all_rows(),
                           config_file=current_app.config["CONFIG"]
                           or str(Path(current_app.config["INSTANCE"]) / "config.toml")), status


def _pins(form: FlaskForm, values: dict[str, service.Current]) -> dict[str, str]:
    """Why each pinned field of ``form`` is read-only, by field name."""
    pins = {}
    for field in form:
        setting = values.get(SETTINGS_OF.get(field.name, field.name))
        if setting is not None and not setting.editable:
            pins[field.name] = setting.pinned_reason
    return pins


def _all_rows() -> list[tuple[str, Any, str, str]]:
    from webui.dashboard.views import shown_setting

    sources = current_app.config[config.SOURCES]
    return [(f"{config.PREFIX}{s.name}",
             service.MASK if s.name in config.SEALED and current_app.config[s.name]
             else shown_setting(current_app.config[s.name]), sources[s.name], s.help)
            for s in config.SETTINGS]


@bp.route("/<section>", methods=["POST"])
@admin_required
def save(section: str):
    form_class = forms.SECTIONS.get(section)
    if form_class is None:
        abort(404)
    form = form_class()
    if not form.validate_on_submit():
        return page(400, (section, form))
    values = service.current(current_app.config)
    changes = {name: value for name, value in form.changes().items() if values[name].editable}
    try:
        service.change(db.get_db(), current_app.config, current_actor(), changes)
    except service.Invalid as exc:
        for error in exc.errors:
            forms.field_of(form, error["field"]).errors = [f"{error['field']}: {error['rule']}"]
        return page(422, (section, form))
    except service.Pinned as exc:
        flash(f"Not changed: {exc}", "error")
        return redirect(url_for("dashboard.settings"), code=303)
    flash(f"{form.title} settings saved; they are in force now.", "success")
    return redirect(url_for("dashboard.settings"), code=303)
