from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import Length

from webui.alerts import service


class AcknowledgeForm(FlaskForm):
    note = TextAreaField("Note", validators=[Length(
        max=service.NOTE_MAX, message=f"Note: at most {service.NOTE_MAX} characters.")])
