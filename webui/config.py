"""Settings: defaults, the optional instance config file, settings made in the UI and
``WEBUI_*`` environment variables.

Every setting is declared once in ``SETTINGS``; the README's table lists the same names. Values
come from (lowest to highest) the default, ``<instance>/config.toml`` (or ``WEBUI_CONFIG``), the
settings made in the UI (stored in the instance database), then the environment. An unknown or
invalid setting stops start-up with one line naming it.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import socket
import sqlite3
import tomllib
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from diagnostics.proxy import Proxy

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


def _ntp_server(value: str) -> str:
    servers = _ntp_servers(value)
    if len(servers) > 1:
        raise ValueError("expected one host name or address")
    return servers[0] if servers else ""


def _minutes_or_off(value: str) -> int:
    """Minutes from 1 to a week, or 0 for ``0``/``off`` (the setting's thing does not happen)."""
    if str(value).strip().lower() == "off":
        return 0
    return _int_range(0, 10080)(value)


# The rules of the settings made in the UI, as patterns the API's schema states too.
LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
HOST_NAME = rf"{LABEL}(?:\.{LABEL})*"
HOST = rf"(?:{HOST_NAME}|\[[0-9A-Fa-f:.]{{2,45}}\])"
PORT = r"(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3})"
ENDPOINT = rf"{HOST}(?::{PORT})?"
PROXY_URL = rf"(?:http://{HOST}:{PORT})?"
HTTPS_URL = rf"(?:https://{HOST}(?::{PORT})?(?:/[!-~]*)?)?"
NO_PROXY_ENTRY = rf"\.?{HOST_NAME}|{HOST}|(?:[0-9]{{1,3}}\.){{3}}[0-9]{{1,3}}/(?:3[0-2]|[12]?[0-9])"
FREE_TEXT = r"[^\x00-\x1f\x7f-\x9f]*"
CREDENTIAL = r"[^\x00-\x1f\x7f-\x9f:]*"
ABSOLUTE_PATH = rf"(?:/{FREE_TEXT})?"
TEXT_MAX, NAME_MAX, URL_MAX, PATH_MAX, LIST_MAX = 200, 128, 2000, 4096, 32
NTP_SERVERS_MAX = 2
HTTPS_PROXY_REFUSED = ("expected http://host:port: HTTPS proxy URLs are not supported (the "
                       "device talks to the proxy in plain HTTP and tunnels TLS through it)")


def _matching(pattern: str, rule: str, max_length: int) -> Callable[[str], str]:
    compiled = re.compile(pattern)

    def parse(value: str) -> str:
        value = str(value).strip()
        if len(value) > max_length or not compiled.fullmatch(value):
            raise ValueError(rule)
        return value
    return parse


def _matching_list(pattern: str, rule: str, max_items: int,
                   max_length: int = NAME_MAX + 8) -> Callable[[str | list], list[str]]:
    item = _matching(pattern, rule, max_length)

    def parse(value: str | list) -> list[str]:
        items = [item(part) for part in _list(value)]
        if len(items) > max_items:
            raise ValueError(f"expected at most {max_items} entries")
        return items
    return parse


_device_name = _matching(LABEL, "expected 1–63 letters, digits or '-', not starting or ending "
                         "with '-' (an RFC 1123 host label)", 63)
_free_text = _matching(FREE_TEXT, f"expected at most {TEXT_MAX} characters, no control "
                       "characters", TEXT_MAX)
_credential = _matching(CREDENTIAL, f"expected at most {NAME_MAX} characters, no control "
                        "characters or ':'", NAME_MAX)
_secret = _matching(FREE_TEXT, f"expected at most {NAME_MAX} characters, no control "
                    "characters", NAME_MAX)
_https_url = _matching(HTTPS_URL, "expected an https:// URL (or nothing)", URL_MAX)
_endpoints = _matching_list(ENDPOINT, "expected host:port, [IPv6]:port or a host name", 16)
_ntp_servers = _matching_list(ENDPOINT, "expected a host name or address, with :port when not "
                              "123", NTP_SERVERS_MAX)
_no_proxy = _matching_list(NO_PROXY_ENTRY, "expected a host name, .domain, address or "
                           "IPv4/prefix", LIST_MAX)
_plain_proxy_url = _matching(PROXY_URL, "expected http://host:port (or nothing)", URL_MAX)


def _proxy_url(value: str) -> str:
    if str(value).strip().lower().startswith("https://"):
        raise ValueError(HTTPS_PROXY_REFUSED)
    return _plain_proxy_url(value)


_plain_absolute_path = _matching(ABSOLUTE_PATH, "expected an absolute path (or nothing)", PATH_MAX)


def _absolute_path(value: str) -> str:
    value = str(value).strip()
    return _plain_absolute_path(str(Path(value).expanduser()) if value else "")


def _time_zone(value: str) -> str:
    value = str(value).strip()
    if value not in zoneinfo.available_timezones():
        raise ValueError("expected an IANA time zone name, e.g. Europe/Berlin")
    return value


def host_time_zone() -> str:
    """The host's time zone name (from /etc/localtime), UTC when it has none we know."""
    try:
        name = os.readlink("/etc/localtime").split("zoneinfo/", 1)[-1]
    except OSError:
        name = ""
    return name if name in zoneinfo.available_timezones() else "UTC"


def _host_label() -> str:
    name = socket.gethostname().split(".")[0]
    return name if re.fullmatch(LABEL, name) else "edge"


def _text(value: str) -> str:
    return str(value).strip()


SETTINGS: tuple[Setting, ...] = (
    Setting("INSTANCE", "./instance", _path,
            "Instance directory: database, certificate, secret key, packages, indexes."),
    Setting("CONFIG", "", _optional_path,
            "Config file (TOML); default `<instance>/config.toml` when it exists."),
    Setting("BIND", "127.0.0.1:8443", _bind, "Address and port the web UI listens on."),
    Setting("DEVICE_NAME", _host_label(), _device_name,
            "Device name (an RFC 1123 host label) shown in the UI, the certificate and support "
            "package names."),
    Setting("DESCRIPTION", "", _free_text, "What the device is for, shown to its admins."),
    Setting("LOCATION", "", _free_text, "Where the device stands."),
    Setting("TIME_ZONE", host_time_zone(), _time_zone,
            "IANA time zone of the device, e.g. `Europe/Berlin`; default the host's."),
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
    Setting("SUPPORT_UPLOAD_URL", "", _https_url,
            "HTTPS endpoint receiving support tickets (empty: none)."),
    Setting("SUPPORT_UPLOAD_CA", "", _absolute_path, "CA bundle for the upload endpoint."),
    Setting("NTP_SERVERS", "", _ntp_servers,
            "NTP servers, primary then optional secondary (`host` or `host:port`); the "
            "time_sync test queries both. Default: `WEBUI_NTP_SERVER`."),
    Setting("NTP_SERVER", "pool.ntp.org", _ntp_server,
            "The primary NTP server alone: the first of `WEBUI_NTP_SERVERS` when that is set."),
    Setting("PROXY_URL", "", _proxy_url,
            "Web proxy of outbound requests (cloud and update checks, ticket upload, webhooks), "
            "`http://host:port` (HTTPS proxies are refused); empty: none."),
    Setting("PROXY_USER", "", _credential, "User name for the web proxy (empty: none)."),
    Setting("PROXY_PASSWORD", "", _secret,
            "Password for the web proxy; made in the UI it is stored encrypted."),
    Setting("NO_PROXY", "", _no_proxy,
            "Hosts, `.domains`, addresses and IPv4/prefix ranges reached without the proxy."),
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
# Settings stored sealed when made in the UI, never shown back.
SEALED = frozenset({"PROXY_PASSWORD"})


# Where each setting's value came from, as the values' ``SOURCES`` entry tells it.
DEFAULT, CONFIG_FILE, UI, ENVIRONMENT, START_UP = ("default", "config file", "settings page",
                                                  "environment", "start-up option")
SOURCES = "SETTING_SOURCES"
# Values above the settings made in the UI: the UI shows them read-only.
PINNED = (ENVIRONMENT, START_UP)
# A setting made in the UI is a row of the instance database's settings table under this prefix.
STORED_PREFIX = "setting."
DB_NAME = "webui.db"


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
    for layer, values in ((CONFIG_FILE, _read_file(config_file, explicit=bool(raw["CONFIG"]))),
                          (UI, read_stored(Path(_path(raw["INSTANCE"]))))):
        for name, value in values.items():
            if sources[name] not in PINNED:
                raw[name], sources[name] = value, layer
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
    _ntp_alias(values, sources)
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


def _ntp_alias(values: dict[str, Any], sources: dict[str, str]) -> None:
    """NTP_SERVER names the primary alone: it stands for NTP_SERVERS when a layer above sets
    it, and otherwise follows the first of NTP_SERVERS."""
    ranks = (DEFAULT, CONFIG_FILE, UI, ENVIRONMENT, START_UP)
    if not values["NTP_SERVERS"] or ranks.index(sources["NTP_SERVER"]) > ranks.index(
            sources["NTP_SERVERS"]):
        values["NTP_SERVERS"] = [values["NTP_SERVER"]] if values["NTP_SERVER"] else []
        sources["NTP_SERVERS"] = sources["NTP_SERVER"]
    values["NTP_SERVER"] = values["NTP_SERVERS"][0] if values["NTP_SERVERS"] else ""


def stored_key(name: str) -> str:
    return f"{STORED_PREFIX}{name.lower()}"


def read_stored(instance: Path) -> dict[str, Any]:
    """The settings made in the UI, by setting name; read-only, nothing when there are none."""
    path = instance / DB_NAME
    if not path.is_file():
        return {}
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
        try:
            rows = conn.execute("SELECT key, value FROM settings WHERE key LIKE ?",
                                (f"{STORED_PREFIX}%",)).fetchall()
        finally:
            conn.close()
    except sqlite3.Error:
        return {}  # a database from before the settings table: nothing made in the UI yet
    values = {}
    for key, value in rows:
        name = key.removeprefix(STORED_PREFIX).upper()
        if name in BY_NAME:
            values[name] = _stored_value(instance, name, json.loads(value))
    return values


def _stored_value(instance: Path, name: str, value: Any) -> Any:
    if name not in SEALED:
        return value
    from webui import vault

    try:
        return vault.unseal(instance, value)
    except vault.SecretUnreadable:
        return ""  # the key file was lost: the UI shows the secret as not set


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


def web_proxy(settings: Mapping[str, Any]) -> Proxy | None:
    """The web proxy in force (None when there is none), as the outbound clients take it."""
    # Imported here: loading the settings (the gunicorn master does) needs no probe library.
    from diagnostics.proxy import Proxy

    return Proxy.from_url(settings["PROXY_URL"], settings["PROXY_USER"],
                          settings["PROXY_PASSWORD"], settings["NO_PROXY"])
