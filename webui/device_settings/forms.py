"""The Settings page's sections as forms; their values are checked by the settings' own rules
(``webui.config``) when saved, so the forms carry no rules of their own."""

from __future__ import annotations

import zoneinfo
from typing import Any

from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectField, StringField, TextAreaField


def _lines(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").replace(",", "\n").splitlines()
            if part.strip()]


class DeviceForm(FlaskForm):
    title = "Device"
    about = ("The device name is shown on every page and used in support package names and "
             "the certificate; every time on the pages is shown in the time zone.")
    device_name = StringField("Device name")
    description = StringField("Description")
    location = StringField("Location")
    time_zone = SelectField("Time zone", choices=sorted(zoneinfo.available_timezones()),
                            validate_choice=False)

    def changes(self) -> dict[str, Any]:
        return {name: self[name].data or "" for name in
                ("device_name", "description", "location", "time_zone")}

    def show(self, values: dict[str, Any]) -> None:
        for name in ("device_name", "description", "location", "time_zone"):
            self[name].data = values[name]


class TimeForm(FlaskForm):
    title = "Time"
    about = ("The time synchronisation test asks both servers. The host's own time service is "
             "set on the Host page.")
    ntp_primary = StringField("Primary NTP server")
    ntp_secondary = StringField("Secondary NTP server (optional)")
    FIELDS = {"ntp_servers": "ntp_primary"}

    def changes(self) -> dict[str, Any]:
        servers = [self.ntp_primary.data or "", self.ntp_secondary.data or ""]
        return {"ntp_servers": [server.strip() for server in servers if server.strip()]}

    def show(self, values: dict[str, Any]) -> None:
        servers = [*values["ntp_servers"], "", ""]
        self.ntp_primary.data, self.ntp_secondary.data = servers[0], servers[1]


class ProxyForm(FlaskForm):
    title = "Web proxy"
    about = ("Cloud and update checks, support ticket uploads and webhook notifications go "
             "through the proxy (a CONNECT tunnel; TLS stays end to end). Hosts on the list "
             "below are reached directly; e-mail and syslog never use the proxy.")
    proxy_url = StringField("Proxy URL")
    proxy_user = StringField("User name (optional)")
    proxy_password = PasswordField("Password (leave empty to keep the stored one)")
    forget_password = BooleanField("Remove the stored password")
    no_proxy = TextAreaField("Reached without the proxy (one per line)")

    def changes(self) -> dict[str, Any]:
        changes: dict[str, Any] = {"proxy_url": self.proxy_url.data or "",
                                   "proxy_user": self.proxy_user.data or "",
                                   "no_proxy": _lines(self.no_proxy.data)}
        if self.forget_password.data:
            changes["proxy_password"] = ""
        elif self.proxy_password.data:
            changes["proxy_password"] = self.proxy_password.data
        return changes

    def show(self, values: dict[str, Any]) -> None:
        self.proxy_url.data, self.proxy_user.data = values["proxy_url"], values["proxy_user"]
        self.no_proxy.data = "\n".join(values["no_proxy"])


class EndpointsForm(FlaskForm):
    title = "Cloud and support endpoints"
    about = None
    cloud_endpoints = TextAreaField("Cloud and update endpoints (host:port, one per line)")
    support_upload_url = StringField("Support upload URL (https://)")
    support_upload_ca = StringField("CA bundle of the upload endpoint (absolute path)")

    def changes(self) -> dict[str, Any]:
        return {"cloud_endpoints": _lines(self.cloud_endpoints.data),
                "support_upload_url": self.support_upload_url.data or "",
                "support_upload_ca": self.support_upload_ca.data or ""}

    def show(self, values: dict[str, Any]) -> None:
        self.cloud_endpoints.data = "\n".join(values["cloud_endpoints"])
        self.support_upload_url.data = values["support_upload_url"]
        self.support_upload_ca.data = values["support_upload_ca"]


SECTIONS: dict[str, type[FlaskForm]] = {"device": DeviceForm, "time": TimeForm,
                                        "proxy": ProxyForm, "endpoints": EndpointsForm}


def field_of(form: FlaskForm, setting: str) -> Any:
    """The form field showing ``setting``."""
    return form[getattr(form, "FIELDS", {}).get(setting, setting)]
