from flask_wtf import FlaskForm
from wtforms import SelectMultipleField
from wtforms.validators import DataRequired

from webui.troubleshooting import service


class RunForm(FlaskForm):
    """Which diagnostic tests to run."""

    tests = SelectMultipleField("Tests to run",
                                validators=[DataRequired(message="Choose at least one test.")])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.tests.choices = [(test["id"], test["title"]) for test in service.tests()]
