from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields import DateTimeLocalField, EmailField, TelField
from wtforms.widgets import CheckboxInput, ListWidget

from webui.support import packages, tickets

WINDOW_LABELS = {1: "Last hour", 6: "Last 6 hours", 24: "Last 24 hours", 72: "Last 3 days",
                 168: "Last 7 days"}


def _choices(labels: dict[str, str]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in labels.items()]


class PackageForm(FlaskForm):
    collectors = SelectMultipleField(
        "What to collect", default=packages.DEFAULT_COLLECTORS,
        choices=[SelectChoice(c) for c in packages.COLLECTOR_DESCRIPTIONS],
        widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())
    since_hours = SelectField("Journal and kernel log window", coerce=int,
                              default=packages.DEFAULT_WINDOW,
                              choices=[SelectChoice(h, WINDOW_LABELS[h])
                                       for h in packages.TIME_WINDOWS])
    obfuscate = BooleanField("Obfuscate IP and MAC addresses, host and user names")

    def validate(self, extra_validators=None) -> bool:
        """The API's rules, with their words, on the form's fields."""
        if not super().validate(extra_validators):
            return False
        try:
            self.options = packages.parse_options(self.collectors.data, self.since_hours.data,
                                                 self.obfuscate.data)
        except packages.OptionProblem as exc:
            field = getattr(self, exc.field, self.collectors)
            field.errors = [*field.errors, f"{field.label.text}: {exc.rule}."]
            return False
        return True


class TicketForm(FlaskForm):
    summary = StringField("Summary")
    problem_type = SelectField(
        "Problem type", validate_choice=False,
        choices=[SelectChoice("", "Choose…"), *_choices(tickets.PROBLEM_TYPES)])
    severity = RadioField("Severity", validate_choice=False,
                          choices=_choices(tickets.SEVERITIES))
    started_at = DateTimeLocalField("When did it start?", format=["%Y-%m-%dT%H:%M",
                                                                   "%Y-%m-%dT%H:%M:%S"])
    description = TextAreaField("Description")
    contact_name = StringField("Contact name")
    email = EmailField("E-mail")
    phone = TelField("Phone (optional)")
    contact_method = RadioField("Preferred contact method", default="email",
                                validate_choice=False,
                                choices=_choices(tickets.CONTACT_METHODS))
    package = SelectField("Support package", validate_choice=False)

    def validate(self, extra_validators=None) -> bool:
        """The rules of :func:`tickets.check` (shared with the API) on the form's fields."""
        super().validate(extra_validators)
        values = {name: getattr(self, name).data for name in tickets.FIELDS}
        raw_started = self.started_at.raw_data[0] if self.started_at.raw_data else ""
        values["started_at"] = raw_started
        self.started_at.errors = []
        self.details, problems = tickets.check(values)
        for name, rule in problems.items():
            field = getattr(self, name)
            field.errors = [f"{tickets.LABELS[name]} {rule}."]
        if self.package.data not in {choice.value for choice in self.package.choices}:
            self.package.errors = ["Choose a support package from the list."]
        return not self.errors


class UploadForm(FlaskForm):
    confirm_size = BooleanField("Yes, send it over the partially disconnected link")


class UsbForm(FlaskForm):
    mount_point = SelectField("USB drive", validate_choice=False)
