"""Settings made in the UI: validated by the config file's own rules, stored in the instance
database (the proxy password sealed), audited with secrets masked and put in force at once.

At the next start ``webui.config.load`` reads them back as the layer between the config file
and the environment.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from webui import audit, config, db, vault

# The settings the UI edits, by the names the config file and the API use.
EDITABLE: tuple[str, ...] = (
    "device_name", "description", "location", "time_zone", "ntp_servers", "proxy_url",
    "proxy_user", "proxy_password", "no_proxy", "cloud_endpoints", "support_upload_url",
    "support_upload_ca")
SECRETS = frozenset(name for name in EDITABLE if name.upper() in config.SEALED)
MASK = "********"
# The API's names for where a value came from.
SOURCE_IDS = {config.DEFAULT: "default", config.CONFIG_FILE: "config_file", config.UI: "ui",
              config.ENVIRONMENT: "environment", config.START_UP: "start_up_option"}
PINNED_REASON = {config.ENVIRONMENT: "set by the environment, read-only here",
                 config.START_UP: "set by a start-up option, read-only here"}


class Invalid(Exception):
    """Some values break their setting's rule; ``errors`` lists ``{field, rule}``."""

    def __init__(self, errors: list[dict[str, str]]):
        super().__init__("; ".join(f"{e['field']}: {e['rule']}" for e in errors))
        self.errors = errors


class Pinned(Exception):
    """Some settings are pinned by a layer above the UI's; ``names`` lists them."""

    def __init__(self, names: list[str]):
        super().__init__(f"{', '.join(names)}: set by the environment or a start-up option, "
                         "read-only here")
        self.names = names


@dataclass(frozen=True)
class Current:
    """One editable setting as in force: its value (a secret only says whether it is set)."""

    name: str
    value: Any
    source: str
    pinned_reason: str | None

    @property
    def editable(self) -> bool:
        return self.pinned_reason is None

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "source": SOURCE_IDS[self.source],
                "editable": self.editable}


def current(settings: Mapping[str, Any]) -> dict[str, Current]:
    """Every editable setting of the running app's ``settings``, in page order."""
    sources = settings[config.SOURCES]
    return {name: Current(name, _shown(name, settings[name.upper()]), sources[name.upper()],
                          PINNED_REASON.get(sources[name.upper()])) for name in EDITABLE}


def _shown(name: str, value: Any) -> Any:
    return {"set": bool(value)} if name in SECRETS else value


def parse(changes: Mapping[str, Any]) -> dict[str, Any]:
    """The changes as their settings hold them; raises Invalid naming each bad field."""
    parsed, errors = {}, []
    for name, value in changes.items():
        if name not in EDITABLE:
            errors.append({"field": name, "rule": "not a setting the UI edits"})
            continue
        try:
            parsed[name] = config.BY_NAME[name.upper()].parse(value)
        except (ValueError, TypeError) as exc:
            errors.append({"field": name, "rule": str(exc)})
    if "ntp_servers" in parsed and not parsed["ntp_servers"]:
        errors.append({"field": "ntp_servers", "rule": "expected a primary NTP server"})
    if errors:
        raise Invalid(errors)
    return parsed


def change(conn: sqlite3.Connection, settings: MutableMapping[str, Any], actor: audit.Actor,
           changes: Mapping[str, Any]) -> dict[str, Current]:
    """Validate, store, audit and apply ``changes`` (lower-case names); answers the settings
    now in force. Raises Pinned or Invalid, changing nothing."""
    sources = settings[config.SOURCES]
    pinned = [name for name in changes
              if name in EDITABLE and sources[name.upper()] in config.PINNED]
    if pinned:
        raise Pinned(pinned)
    parsed = parse(changes)
    changed = {name: value for name, value in parsed.items()
               if value != settings[name.upper()] or sources[name.upper()] != config.UI}
    if changed:
        instance = Path(settings["INSTANCE"])
        with db.transaction(conn):
            for name, value in changed.items():
                stored = vault.seal(instance, value) if name in SECRETS else value
                db.put_setting(conn, config.stored_key(name), json.dumps(stored), actor.name)
            audit.record(conn, actor, "settings_change", ", ".join(changed), detail={
                name: {"old": _audited(name, settings[name.upper()]),
                       "new": _audited(name, value)} for name, value in changed.items()})
        _apply(settings, changed)
    return current(settings)


def _audited(name: str, value: Any) -> Any:
    if name in SECRETS:
        return MASK if value else ""
    return value


def _apply(settings: MutableMapping[str, Any], changed: Mapping[str, Any]) -> None:
    """Put the new values in force in the running app; features read them per request."""
    for name, value in changed.items():
        settings[name.upper()] = value
        settings[config.SOURCES][name.upper()] = config.UI
    if "ntp_servers" in changed:
        settings["NTP_SERVER"] = changed["ntp_servers"][0]
        settings[config.SOURCES]["NTP_SERVER"] = config.UI
