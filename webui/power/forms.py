from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, StringField
from wtforms.validators import ValidationError

from webui.power.service import ACTION_LABELS, ACTIONS, DELAYS, message_problem

DELAY_LABELS = {0: "Now", 1: "In 1 minute"}


class PowerForm(FlaskForm):
    action = SelectField("Action", choices=[SelectChoice(a, ACTION_LABELS[a]) for a in ACTIONS])
    delay_minutes = SelectField("When", coerce=int, default=0, choices=[
        SelectChoice(d, DELAY_LABELS.get(d, f"In {d} minutes")) for d in DELAYS])
    message = StringField("Message to signed-in users (optional)", default="",
                          filters=[lambda value: (value or "").strip()])

    def validate_message(self, field):
        rule = message_problem(field.data)
        if rule:
            raise ValidationError(f"The message must be {rule}.")
