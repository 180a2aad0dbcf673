"""The channel forms, one per kind: every rule a value breaks is named next to its field."""

from __future__ import annotations

import ipaddress
import os
import re
from typing import Any
from urllib.parse import urlsplit

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    IntegerField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from webui.alerts.rules import SEVERITIES, SEVERITY_LABELS
from webui.notifications.channels import (
    FACILITIES,
    FORGET,
    KEEP,
    SECURITIES,
    SECURITY_LABELS,
    TRANSPORT_LABELS,
    TRANSPORTS,
    Channel,
)

HOST_NAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                       r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$")
ADDRESS = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9.-]{1,253}$")
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
MAX_RECIPIENTS = 20
SECRET_MAX = 256


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _is_host(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return bool(HOST_NAME.match(value))
    return True


def _check_host(field) -> None:
    if field.data and not _is_host(field.data):
        raise ValidationError("Use a host name (letters, digits, '-' and '.') or an IP address.")


def _check_printable(field, what: str) -> None:
    if field.data and CONTROL.search(field.data):
        raise ValidationError(f"The {what} cannot hold control characters.")


def _check_ca_file(field) -> None:
    if not field.data:
        return
    _check_printable(field, "path")
    if not os.path.isabs(field.data):
        raise ValidationError("Give the CA file as an absolute path.")
    if not os.path.isfile(field.data) or not os.access(field.data, os.R_OK):
        raise ValidationError("This is not a readable file on the device.")


def _secret(value: str | None, forget: bool) -> str | None:
    """What to do with the stored secret: a new one typed, removed, or kept (field empty)."""
    if value:
        return value
    return FORGET if forget else KEEP


class ChannelForm(FlaskForm):
    name = StringField("Name", filters=[_strip], validators=[
        DataRequired(message="Give the channel a name."),
        Length(max=64, message="The name can be at most 64 characters long.")])
    min_severity = SelectField("Minimum severity", default="warning", choices=[
        SelectChoice(s, f"{SEVERITY_LABELS[s]}{' and worse' if s != 'critical' else ' only'}")
        for s in SEVERITIES])
    enabled = BooleanField("Enabled", default=True)

    def validate_name(self, field):
        _check_printable(field, "name")

    def values(self) -> dict[str, Any]:
        return {"name": self.name.data, "min_severity": self.min_severity.data,
                "enabled": bool(self.enabled.data)}

    def secret(self) -> str | None:
        """What to do with the channel's secret (kinds without one keep nothing)."""
        return KEEP

    @classmethod
    def of(cls, channel: Channel) -> ChannelForm:
        return cls(data={"name": channel.name, "min_severity": channel.min_severity,
                         "enabled": channel.enabled, **cls.shown(channel.public_settings)})

    @staticmethod
    def shown(settings: dict[str, Any]) -> dict[str, Any]:
        return settings


class EmailForm(ChannelForm):
    host = StringField("SMTP server", filters=[_strip], validators=[
        DataRequired(message="Enter the SMTP server's host name or address.")])
    port = IntegerField("Port", default=587, validators=[
        DataRequired(message="Enter the SMTP port (1–65535)."),
        NumberRange(1, 65535, message="The port must be from 1 to 65535.")])
    security = SelectField("Security", default="starttls",
                           choices=[SelectChoice(s, SECURITY_LABELS[s]) for s in SECURITIES])
    username = StringField("User name (optional)", filters=[_strip], validators=[
        Optional(), Length(max=255, message="The user name can be at most 255 characters.")])
    password = PasswordField("Password", validators=[
        Length(max=SECRET_MAX, message=f"The password can be at most {SECRET_MAX} characters.")])
    forget_password = BooleanField("Remove the stored password")
    sender = StringField("From address", filters=[_strip], validators=[
        DataRequired(message="Enter the address the mail comes from.")])
    recipients = TextAreaField("Recipients (one address a line)", filters=[_strip],
                               validators=[DataRequired(message="Enter at least one recipient.")])
    ca_file = StringField("CA file (optional, PEM, for a private CA)", filters=[_strip])

    def validate_host(self, field):
        _check_host(field)

    def validate_username(self, field):
        _check_printable(field, "user name")
        if field.data and self.security.data == "none":
            raise ValidationError("A password is only sent over an encrypted connection: "
                                  "choose STARTTLS or TLS, or leave the user name empty.")

    def validate_sender(self, field):
        if not ADDRESS.match(field.data or ""):
            raise ValidationError("Use an e-mail address such as alerts@example.com.")

    def validate_recipients(self, field):
        listed = self.recipient_list()
        bad = [address for address in listed if not ADDRESS.match(address)]
        if bad:
            raise ValidationError(f"Not an e-mail address: {bad[0]}.")
        if len(listed) > MAX_RECIPIENTS:
            raise ValidationError(f"At most {MAX_RECIPIENTS} recipients.")

    def validate_ca_file(self, field):
        _check_ca_file(field)

    def recipient_list(self) -> list[str]:
        words = re.split(r"[\s,;]+", self.recipients.data or "")
        return list(dict.fromkeys(word for word in words if word))

    def settings(self) -> dict[str, Any]:
        return {"host": self.host.data, "port": self.port.data, "security": self.security.data,
                "username": self.username.data or None, "sender": self.sender.data,
                "recipients": self.recipient_list(), "ca_file": self.ca_file.data or None}

    def secret(self) -> str | None:
        return _secret(self.password.data, self.forget_password.data)

    @staticmethod
    def shown(settings: dict[str, Any]) -> dict[str, Any]:
        return {**settings, "recipients": "\n".join(settings.get("recipients", []))}


class WebhookForm(ChannelForm):
    url = StringField("URL (https://)", filters=[_strip], validators=[
        DataRequired(message="Enter the URL the notifications are posted to."),
        Length(max=2048, message="The URL can be at most 2048 characters long.")])
    secret_ = PasswordField("Shared secret (optional)", name="secret", validators=[
        Length(max=SECRET_MAX, message=f"The secret can be at most {SECRET_MAX} characters.")])
    forget_secret = BooleanField("Remove the stored secret")
    ca_file = StringField("CA file (optional, PEM, for a private CA)", filters=[_strip])

    def validate_url(self, field):
        if CONTROL.search(field.data) or " " in field.data:
            raise ValidationError("The URL cannot hold spaces or control characters.")
        try:
            url = urlsplit(field.data)
            port = url.port
        except ValueError:
            raise ValidationError("This is not a valid URL.") from None
        if url.scheme != "https":
            raise ValidationError("Only https:// URLs: notifications are never sent unencrypted.")
        if not url.hostname or not _is_host(url.hostname):
            raise ValidationError("The URL needs a host name or IP address.")
        if url.username or url.password:
            raise ValidationError("Put no credentials in the URL: use the shared secret.")
        if port == 0:
            raise ValidationError("The port must be from 1 to 65535.")

    def validate_ca_file(self, field):
        _check_ca_file(field)

    def settings(self) -> dict[str, Any]:
        return {"url": self.url.data, "ca_file": self.ca_file.data or None}

    def secret(self) -> str | None:
        return _secret(self.secret_.data, self.forget_secret.data)


class SyslogForm(ChannelForm):
    transport = SelectField("Send to", default="local",
                            choices=[SelectChoice(t, TRANSPORT_LABELS[t]) for t in TRANSPORTS])
    host = StringField("Syslog host (remote only)", filters=[_strip])
    port = IntegerField("Port (remote only)", default=514, validators=[
        Optional(), NumberRange(1, 65535, message="The port must be from 1 to 65535.")])
    facility = SelectField("Facility", default="daemon",
                           choices=[SelectChoice(f, f) for f in FACILITIES])

    def validate_host(self, field):
        if self.transport.data != "local" and not field.data:
            raise ValidationError("Enter the syslog host for a remote syslog.")
        _check_host(field)

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        # An empty port stops its own validators (it is optional for the local journal).
        if self.transport.data != "local" and self.port.data is None and not self.port.errors:
            self.port.errors.append("Enter the syslog port (1–65535) for a remote syslog.")
            return False
        return valid

    def settings(self) -> dict[str, Any]:
        remote = self.transport.data != "local"
        return {"transport": self.transport.data, "facility": self.facility.data,
                "host": self.host.data if remote else None,
                "port": self.port.data if remote else None}


FORMS: dict[str, type[ChannelForm]] = {"email": EmailForm, "webhook": WebhookForm,
                                       "syslog": SyslogForm}


class ToggleForm(FlaskForm):
    """The enable/disable, test and delete buttons: CSRF only."""
