"""``/api/v1/settings``: the settings the UI edits, where each value came from, and changes."""

from __future__ import annotations

from flask import Blueprint, current_app

from webui import db
from webui.access import admin_required, current_actor
from webui.api.contract import operation
from webui.device_settings import schemas, service
from webui.errors import ProblemError

bp = Blueprint("settings_api", __name__, url_prefix="/api/v1/settings")


def _answer(values: dict[str, service.Current]) -> dict:
    return {name: item.to_dict() for name, item in values.items()}


@bp.route("")
@operation("settings", schemas.Settings)
def get_settings():
    """The settings made on site, each with where its value came from.

    The proxy password is never shown: only whether one is stored.
    """
    return _answer(service.current(current_app.config))


@bp.route("", methods=["PATCH"])
@admin_required
@operation("settings", schemas.Settings, body=schemas.SettingsChange, errors=[409],
           example={"device_name": "edge-01", "time_zone": "Europe/Berlin",
                    "ntp_servers": ["ntp1.example.net", "ntp2.example.net"]})
def patch_settings(body: schemas.SettingsChange):
    """Change settings; they are in force at once and kept across restarts.

    Each is checked by the config file's rules (422 names the field and the rule), stored
    above the config file and audited with secrets masked. 409 names the settings the
    environment or a start-up option pins; nothing is changed then.
    """
    try:
        values = service.change(db.get_db(), current_app.config, current_actor(),
                                body.model_dump(exclude_unset=True))
    except service.Pinned as exc:
        raise ProblemError(409, str(exc), pinned=exc.names) from None
    except service.Invalid as exc:
        raise ProblemError(422, str(exc), errors=exc.errors) from None
    return _answer(values)
