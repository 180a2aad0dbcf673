from flask_wtf import FlaskForm
from wtforms import RadioField, SelectChoice

from webui.connectivity.policy import LABELS, MODES


class ModeForm(FlaskForm):
    mode = RadioField("Connectivity mode", choices=[SelectChoice(m, LABELS[m]) for m in MODES])
