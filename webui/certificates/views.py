"""The Certificates page: the certificate in use, its download, a new one or an upload."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, flash, redirect, render_template, url_for

from webui import db
from webui.access import admin_required, current_actor
from webui.certificates import service
from webui.certificates.forms import UploadForm
from webui.downloads import content_disposition
from webui.errors import found_or_404

bp = Blueprint("certificates", __name__, url_prefix="/certificates")

# The certificate as browsers and operating systems import it.
DOWNLOADS = {"pem": "application/x-pem-file", "der": "application/pkix-cert"}


def _page(status: int = 200, form: UploadForm | None = None, error: str | None = None):
    return render_template("certificates/page.html",
                           in_use=service.in_use(current_app.config),
                           form=form or UploadForm(), error=error,
                           max_kib=service.MAX_FILE_BYTES // 1024), status


def _back():
    return redirect(url_for("certificates.page"), code=303)


def _installed(cert) -> None:
    flash(f"The new certificate is in service for new connections (SHA-256 "
          f"{cert.sha256_fingerprint}). Your browser may warn once more: compare the fingerprint "
          "before you accept it.", "success")


@bp.route("/")
def page():
    return _page()


@bp.route("/certificate.pem", defaults={"kind": "pem"})
@bp.route("/certificate.der", defaults={"kind": "der"})
def download(kind: str):
    cert = found_or_404(service.in_use(current_app.config).certificate,
                        "There is no readable certificate to download.")
    body = cert.pem() if kind == "pem" else cert.der()
    name = f"{current_app.config['DEVICE_NAME']}.{'crt' if kind == 'pem' else 'cer'}"
    return Response(body, mimetype=DOWNLOADS[kind],
                    headers={"Content-Disposition": content_disposition(name)})


@bp.route("/generate/confirm")
@admin_required
def confirm_generate():
    in_use = service.in_use(current_app.config)
    issued_by = "" if in_use.certificate is None or in_use.certificate.self_signed \
        else f", issued by {in_use.certificate.issuer}"
    return render_template(
        "confirm.html", question="Generate a new certificate?",
        consequence=f"A new self-signed certificate for {current_app.config['DEVICE_NAME']} "
                    f"replaces the one in use{issued_by}. New connections get it at once; "
                    "browsers warn about it until you trust it again. The previous "
                    "certificate is kept as a backup beside it.",
        action=url_for("certificates.generate"), button="Generate certificate",
        back=url_for("certificates.page"))


@bp.route("/generate", methods=["POST"])
@admin_required
def generate():
    try:
        new = service.generate(db.get_db(), current_actor(), current_app.config)
    except (service.InstallFailed, OSError) as exc:
        flash(f"Not changed: {_reason(exc)}", "error")
        return _back()
    _installed(new)
    return _back()


@bp.route("/upload", methods=["POST"])
@admin_required
def upload():
    form = UploadForm()
    if not form.validate_on_submit():
        return _page(422, form=form)
    files = [f.read() for f in (form.certificate.data, form.key.data) if f]
    password = (form.password.data or "") if form.format.data == "pkcs12" else None
    try:
        candidate = service.upload(db.get_db(), current_actor(), current_app.config, files,
                                   password)
    except service.CertificateRefused as exc:
        form.certificate.errors.append(f"Not installed: {exc}")
        return _page(422, form=form)
    except (service.InstallFailed, OSError) as exc:
        return _page(422, form=form, error=f"Not changed: {_reason(exc)}")
    for warning in candidate.warnings:
        flash(f"Installed, but: {warning}", "warning")
    _installed(candidate.certificate)
    return _back()


def _reason(exc: Exception) -> str:
    if isinstance(exc, OSError):
        return f"the certificate files cannot be written ({exc.strerror or exc})."
    return str(exc)
