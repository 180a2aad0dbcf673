"""Settings: defaults, ``WEBUI_*`` environment variables and the optional instance config file.

Every setting is declared once in ``SETTINGS``; the README's table lists the same names. Values
come from (lowest to highest) the default, ``<instance>/config.toml`` (or ``WEBUI_CONFIG``), then
the environment. An unknown or invalid setting stops start-up with one line naming it.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PREFIX = "WEBUI_"


class ConfigError(Exception):
    """A setting has a value we cannot use; the message names it."""


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    parse: Callable[[str], Any]
    help: str


def _bool(value: str) -> bool:
    lowered = str(value).strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError("expected true or false")


def _int_range(low: int, high: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        number = int(str(value).strip())
        if not low <= number <= high:
            raise ValueError(f"expected a whole number from {low} to {high}")
        return number
    return parse


def _choice(*choices: str) -> Callable[[str], str]:
    def parse(value: str) -> str:
        value = str(value).strip()
        if value not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}")
        return value
    return parse


def _bind(value: str) -> tuple[str, int]:
    host, sep, port = str(value).strip().rpartition(":")
    if not sep or not host:
        raise ValueError("expected ADDRESS:PORT, e.g. 127.0.0.1:8443")
    host = host.strip("[]")
    if host != "localhost":
        ipaddress.ip_address(host)
    return host, _int_range(1, 65535)(port)


def _path(value: str) -> str:
    return str(Path(str(value)).expanduser())


def _optional_path(value: str) -> str | None:
    return _path(value) if str(value).strip() else None


def _list(value: str | list) -> list[str]:
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [part.strip() for part in str(value).replace("\n", ",").split(",") if part.strip()]


def _endpoints(value: str | list) -> list[str]:
    from diagnostics.settings import parse_endpoint

    endpoints = _list(value)
    for endpoint in endpoints:
        parse_endpoint(endpoint)
    return endpoints


def _minutes_or_off(value: str) -> int:
    """Minutes from 1 to a week, or 0 for ``0``/``off`` (the setting's thing does not happen)."""
    if str(value).strip().lower() == "off":
        return 0
    return _int_range(0, 10080)(value)


def _device_name(value: str) -> str:
    value = str(value).strip()
    if not 1 <= len(value) <= 63 or not all(c.isalnum() or c in "-_." for c in value):
        raise ValueError("expected 1–63 letters, digits, '-', '_' or '.'")
    return value


def _text(value: str) -> str:
    return str(value).strip()


SETTINGS: tuple[Setting, ...] = (
    Setting("INSTANCE", "./instance", _path,
            "Instance directory: database, certificate, secret key, packages, indexes."),
    Setting("CONFIG", "", _optional_path,
            "Config file (TOML); default `<instance>/config.toml` when it exists."),
    Setting("BIND", "127.0.0.1:8443", _bind, "Address and port the web UI listens on."),
    Setting("DEVICE_NAME", socket.gethostname().split(".")[0] or "edge", _device_name,
            "Device name shown in the UI, the certificate and support package names."),
    Setting("TLS", "true", _bool,
            "Serve HTTPS with the instance certificate (`false` only behind a TLS proxy)."),
    Setting("TLS_CERT", "", _optional_path,
            "Certificate file (PEM); default `<instance>/tls/cert.pem`, made by `init`."),
    Setting("TLS_KEY", "", _optional_path,
            "Private key file (PEM); default `<instance>/tls/key.pem`."),
    Setting("THREADS", "8", _int_range(1, 64), "gunicorn threads in the single worker."),
    Setting("LOG_DIR", "", _optional_path,
            "Directory of the web UI log; default `<instance>/logs`."),
    Setting("SESSION_IDLE_MINUTES", "15", _int_range(1, 1440), "Idle session timeout."),
    Setting("SESSION_MAX_HOURS", "12", _int_range(1, 168), "Absolute session lifetime."),
    Setting("LOCKOUT_THRESHOLD", "5", _int_range(1, 100),
            "Failed sign-ins (per account or client address) before sign-in is delayed."),
    Setting("AUDIT_RETENTION_DAYS", "365", _int_range(1, 3650),
            "Audit entries older than this are deleted."),
    Setting("AUDIT_MAX_ENTRIES", "100000", _int_range(1000, 10_000_000),
            "At most this many audit entries are kept (oldest deleted first)."),
    Setting("POWER_BACKEND", "dry-run", _choice("dry-run", "systemd"),
            "How restart and shut down are carried out: `systemd` or `dry-run` (simulated)."),
    Setting("SYSTEM_BACKEND", "dry-run", _choice("dry-run", "systemd"),
            "How host name, time zone and NTP changes are made: `systemd` or `dry-run`."),
    Setting("HOOKS_DIR", "", _optional_path,
            "Directory holding `connectivity.d/` hooks; default `<instance>/hooks`."),
    Setting("HOOK_TIMEOUT", "30", _int_range(1, 600), "Seconds each connectivity hook may run."),
    Setting("COPYLOG_ROOTS", "", _list, "Comma-separated directories searched for copy logs."),
    Setting("SUPPORT_KEEP", "5", _int_range(1, 100),
            "Support packages kept, and as many ticket bundles (oldest deleted)."),
    Setting("SUPPORT_MIN_FREE_MB", "512", _int_range(0, 1_000_000),
            "Free space the instance needs before a support package starts."),
    Setting("SUPPORT_UPLOAD_URL", "", _text,
            "HTTPS endpoint receiving support tickets (empty: none)."),
    Setting("SUPPORT_UPLOAD_CA", "", _optional_path, "CA bundle for the upload endpoint."),
    Setting("NTP_SERVER", "pool.ntp.org", _text, "NTP server the time_sync test queries."),
    Setting("CLOUD_ENDPOINTS", "management.azure.com:443,login.microsoftonline.com:443",
            _endpoints,
            "Cloud endpoints (host:port) the internet_connectivity test reaches."),
    Setting("MANAGEMENT_INTERFACE", "", _text,
            "Management network interface; default the one holding the default route."),
    Setting("REQUIRED_UNITS", "", _list,
            "systemd units that must be active (system_software test)."),
    Setting("PROBE_TIMEOUT", "10", _int_range(1, 300), "Seconds each diagnostic test may take."),
    Setting("DIAGNOSTICS_SCHEDULE", "on", _bool,
            "Run diagnostic tests by schedule, and every test once shortly after start-up when "
            "any is due (`off`: only when someone starts them)."),
    Setting("DIAGNOSTICS_INTERVAL_MINUTES", "60", _minutes_or_off,
            "Minutes between scheduled runs of every test (`0` or `off`: none)."),
    Setting("DIAGNOSTICS_NETWORK_INTERVAL_MINUTES", "15", _minutes_or_off,
            "Minutes between scheduled runs of the network tests (`0` or `off`: with the "
            "others)."),
    Setting("ALERTS_CHECK_SECONDS", "60", _int_range(5, 3600),
            "Seconds between evaluations of the alert rules (and soon after a change that "
            "matters)."),
    Setting("ALERT_VOLUME_WARNING_PERCENT", "85", _int_range(1, 100),
            "A data volume used this much (percent) raises a warning alert."),
    Setting("ALERT_VOLUME_CRITICAL_PERCENT", "95", _int_range(1, 100),
            "A data volume used this much (percent) raises a critical alert."),
)

BY_NAME = {s.name: s for s in SETTINGS}


# Where each setting's value came from, as the values' ``SOURCES`` entry tells it.
DEFAULT, CONFIG_FILE, ENVIRONMENT, START_UP = ("default", "config file", "environment",
                                              "start-up option")
SOURCES = "SETTING_SOURCES"


def load(overrides: dict[str, Any] | None = None,
         environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Resolve every setting; raise ConfigError naming the first bad one.

    ``values[SOURCES]`` maps each setting's name to where its value came from.
    """
    environ = os.environ if environ is None else environ
    raw: dict[str, Any] = {s.name: s.default for s in SETTINGS}
    sources = dict.fromkeys(raw, DEFAULT)
    for key, value in environ.items():
        if key.startswith(PREFIX):
            name = key[len(PREFIX):]
            if name not in BY_NAME:
                raise ConfigError(f"{key}: unknown setting")
            raw[name], sources[name] = value, ENVIRONMENT
    for key, value in (overrides or {}).items():
        name = key.removeprefix(PREFIX).upper()
        if name in BY_NAME:
            raw[name], sources[name] = value, START_UP
    config_file = raw["CONFIG"] or str(Path(_path(raw["INSTANCE"])) / "config.toml")
    file_values = _read_file(config_file, explicit=bool(raw["CONFIG"]))
    for name, value in file_values.items():
        if sources[name] == DEFAULT:
            raw[name], sources[name] = value, CONFIG_FILE
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        try:
            values[setting.name] = setting.parse(raw[setting.name])
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"{PREFIX}{setting.name}={raw[setting.name]!r}: {exc}") from None
    if values["ALERT_VOLUME_CRITICAL_PERCENT"] < values["ALERT_VOLUME_WARNING_PERCENT"]:
        raise ConfigError(f"{PREFIX}ALERT_VOLUME_CRITICAL_PERCENT="
                          f"{values['ALERT_VOLUME_CRITICAL_PERCENT']}: expected at least "
                          f"{PREFIX}ALERT_VOLUME_WARNING_PERCENT "
                          f"({values['ALERT_VOLUME_WARNING_PERCENT']})")
    instance = Path(values["INSTANCE"]).resolve()
    values["INSTANCE"] = str(instance)
    values["TLS_CERT"] = values["TLS_CERT"] or str(instance / "tls" / "cert.pem")
    values["TLS_KEY"] = values["TLS_KEY"] or str(instance / "tls" / "key.pem")
    values["LOG_DIR"] = values["LOG_DIR"] or str(instance / "logs")
    values["HOOKS_DIR"] = values["HOOKS_DIR"] or str(instance / "hooks")
    for key, value in (overrides or {}).items():
        if key.removeprefix(PREFIX).upper() not in BY_NAME:
            values[key] = value
    values[SOURCES] = sources
    return values


def _read_file(path: str, explicit: bool) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        if explicit:
            raise ConfigError(f"{PREFIX}CONFIG={path!r}: file not found") from None
        return {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    values = {}
    for key, value in data.items():
        name = key.upper()
        if name not in BY_NAME or name in {"INSTANCE", "CONFIG"}:
            raise ConfigError(f"{path}: {key}: unknown setting")
        values[name] = value if isinstance(value, list) else str(value)
    return values
