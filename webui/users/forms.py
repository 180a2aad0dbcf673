from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp, ValidationError

from webui.auth.users import ROLES

ROLE_CHOICES = [SelectChoice(r, r.capitalize()) for r in ROLES]


class AddUserForm(FlaskForm):
    username = StringField("User name", validators=[
        DataRequired(), Length(min=2, max=32),
        Regexp(r"^[a-z][a-z0-9_.-]*$", message="Use lower-case letters, digits, '.', '_' or '-', "
                                               "starting with a letter.")])
    role = SelectField("Role", choices=ROLE_CHOICES, default="viewer")


class RoleForm(FlaskForm):
    role = SelectField("Role", choices=ROLE_CHOICES)


class TokenForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=64)])
    role = SelectField("Role", choices=ROLE_CHOICES, default="viewer")
    expires_days = IntegerField("Expires after (days, empty for never)",
                                validators=[Optional(), NumberRange(min=1, max=3650)])

    def validate_name(self, field):
        if not field.data.strip():
            raise ValidationError("Give the token a name.")
