"""Models of ``/api/v1/settings``: each editable setting with where its value came from, and
a change; the patterns are the config file's own rules (``webui.config``)."""

from __future__ import annotations

import zoneinfo
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StringConstraints, field_validator

from webui import config
from webui.api.contract import Out, Strict
from webui.device_settings import service

SOURCE = Literal[tuple(service.SOURCE_IDS.values())]
TIME_ZONE = Literal[tuple(sorted(zoneinfo.available_timezones()))]


def _text(pattern: str, max_length: int) -> type[str]:
    return Annotated[str, StringConstraints(pattern=f"^(?:{pattern})$", max_length=max_length)]


DeviceName = _text(config.LABEL, 63)
FreeText = _text(config.FREE_TEXT, config.TEXT_MAX)
Credential = _text(config.CREDENTIAL, config.NAME_MAX)
Secret = _text(config.FREE_TEXT, config.NAME_MAX)
Endpoint = _text(config.ENDPOINT, config.NAME_MAX + 8)
NoProxyEntry = _text(config.NO_PROXY_ENTRY, config.NAME_MAX + 8)
ProxyUrl = _text(config.PROXY_URL, config.URL_MAX)
HttpsUrl = _text(config.HTTPS_URL, config.URL_MAX)
AbsolutePath = _text(config.ABSOLUTE_PATH, config.PATH_MAX)


class SettingsChange(Strict):
    """The settings to change, by their config file names; those left out stay as they are."""

    device_name: DeviceName = None
    description: FreeText = None
    location: FreeText = None
    time_zone: TIME_ZONE = None
    ntp_servers: list[Endpoint] = Field(None, min_length=1, max_length=config.NTP_SERVERS_MAX,
                                        description="Primary, then optional secondary.")
    proxy_url: ProxyUrl = Field(None, description="`http://host:port`; empty: no proxy. "
                                                  "HTTPS proxy URLs are refused.")
    proxy_user: Credential = None
    proxy_password: Secret = Field(None, description="Stored encrypted, never shown back; "
                                                     "empty: none.")
    no_proxy: list[NoProxyEntry] = Field(None, max_length=config.LIST_MAX)
    cloud_endpoints: list[Endpoint] = Field(None, max_length=16)
    support_upload_url: HttpsUrl = None
    support_upload_ca: AbsolutePath = None

    @field_validator("proxy_url", mode="before")
    @classmethod
    def _no_https_proxy(cls, value):
        # The reason, not only the pattern, when an HTTPS proxy is asked for.
        if isinstance(value, str) and value.strip().lower().startswith("https://"):
            raise ValueError(config.HTTPS_PROXY_REFUSED)
        return value


def _setting(value_type, description: str):
    class Value(Out):
        value: value_type
        source: SOURCE = Field(description="Where the value comes from: the default, the "
                                           "config file, the UI, the environment or a start-up "
                                           "option (the last two pin it).")
        editable: bool = Field(description="False when the environment or a start-up option "
                                           "pins it: a change answers 409.")
    Value.__name__ = Value.__qualname__ = description
    return Value


class SecretSet(Out):
    set: bool = Field(description="Whether a password is stored; it is never shown back.")


StringSetting = _setting(str, "TextSetting")
ListSetting = _setting(list[str], "ListSetting")
SecretSetting = _setting(SecretSet, "SecretSetting")


class Settings(Out):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "device_name": {"value": "edge-01", "source": "ui", "editable": True},
        "description": {"value": "", "source": "default", "editable": True},
        "location": {"value": "Rack 2, Hamburg", "source": "config_file", "editable": True},
        "time_zone": {"value": "Europe/Berlin", "source": "ui", "editable": True},
        "ntp_servers": {"value": ["ntp1.example.net", "ntp2.example.net"], "source": "ui",
                        "editable": True},
        "proxy_url": {"value": "http://proxy.example.net:3128", "source": "ui",
                      "editable": True},
        "proxy_user": {"value": "edge", "source": "ui", "editable": True},
        "proxy_password": {"value": {"set": True}, "source": "ui", "editable": True},
        "no_proxy": {"value": [".corp.example.net"], "source": "ui", "editable": True},
        "cloud_endpoints": {"value": ["management.azure.com:443"], "source": "environment",
                            "editable": False},
        "support_upload_url": {"value": "", "source": "default", "editable": True},
        "support_upload_ca": {"value": "", "source": "default", "editable": True}}]})
    device_name: StringSetting
    description: StringSetting
    location: StringSetting
    time_zone: StringSetting
    ntp_servers: ListSetting
    proxy_url: StringSetting
    proxy_user: StringSetting
    proxy_password: SecretSetting
    no_proxy: ListSetting
    cloud_endpoints: ListSetting
    support_upload_url: StringSetting
    support_upload_ca: StringSetting
