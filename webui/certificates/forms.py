from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired, FileSize
from wtforms import PasswordField, SelectChoice, SelectField

from webui.certificates.service import MAX_FILE_BYTES

FORMATS = [SelectChoice("pem", "PEM (certificate, chain and key)"),
           SelectChoice("pkcs12", "PKCS#12 (.pfx or .p12) with its password")]
TOO_LARGE = f"A certificate file is at most {MAX_FILE_BYTES // 1024} KiB."


class UploadForm(FlaskForm):
    format = SelectField("Format", choices=FORMATS, default="pem")
    certificate = FileField("Certificate file (PEM with chain and key, or PKCS#12)", validators=[
        FileRequired("Choose the certificate file."), FileSize(MAX_FILE_BYTES, message=TOO_LARGE)])
    key = FileField("Private key file (PEM, when not in the certificate file)",
                    validators=[FileSize(MAX_FILE_BYTES, message=TOO_LARGE)])
    password = PasswordField("PKCS#12 password")
