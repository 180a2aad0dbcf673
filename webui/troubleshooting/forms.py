from collections.abc import Iterable

from flask_wtf import FlaskForm
from wtforms import SelectMultipleField
from wtforms.validators import DataRequired

from diagnostics import DiagnosticTest


class RunForm(FlaskForm):
    """Which diagnostic tests to run; the service, not the form, knows which ids exist."""

    tests = SelectMultipleField("Tests to run", validate_choice=False,
                                validators=[DataRequired(message="Choose at least one test.")])

    def __init__(self, catalogue: Iterable[DiagnosticTest], *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.tests.choices = [(test.id, test.title) for test in catalogue]
