"""The Host page's forms: every value is checked by the rule the backend applies."""

from __future__ import annotations

from collections.abc import Callable

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import ValidationError

from webui.system.backends import Refused, check_host_name, check_ntp_servers, check_time_zone


def _stripped(value: str | None) -> str:
    return (value or "").strip()


def _rule(check: Callable, value) -> None:
    try:
        check(value)
    except Refused as exc:
        raise ValidationError(f"The {exc.field} must be {exc.rule}.") from None


class HostNameForm(FlaskForm):
    host_name = StringField("Host name", filters=[_stripped])

    def validate_host_name(self, field):
        _rule(check_host_name, field.data)

    @property
    def value(self) -> str:
        return self.host_name.data


class TimeZoneForm(FlaskForm):
    time_zone = StringField("Time zone", filters=[_stripped])

    def validate_time_zone(self, field):
        _rule(check_time_zone, field.data)

    @property
    def value(self) -> str:
        return self.time_zone.data


class NtpForm(FlaskForm):
    primary = StringField("Primary NTP server", filters=[_stripped])
    secondary = StringField("Secondary NTP server (optional)", filters=[_stripped])

    def validate_primary(self, field):
        if not field.data:
            raise ValidationError("The primary NTP server is required.")
        _rule(check_ntp_servers, self.value)

    @property
    def value(self) -> list[str]:
        return [server for server in (self.primary.data, self.secondary.data) if server]


FORMS = {"hostname": HostNameForm, "timezone": TimeZoneForm, "ntp": NtpForm}
