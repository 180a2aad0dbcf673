from __future__ import annotations

from pathlib import Path

from flask import Response, abort, current_app, flash, redirect, render_template, send_file, url_for
from flask_login import current_user
from wtforms import SelectChoice

from diagnostics.collect import InsufficientSpace
from webui import audit, db
from webui.access import admin_required
from webui.connectivity import allows, current_mode
from webui.downloads import content_disposition
from webui.htmx import is_htmx, redirect_to, render
from webui.jobs import JobConflict
from webui.support import bp, service, tickets, upload, usb
from webui.support.forms import PackageForm, TicketForm, UploadForm, UsbForm

POLL_DONE = 286  # htmx stops polling on this status


def send_download(path: Path, action: str, target: str) -> Response:
    """Stream a file as an attachment with its name and length, and audit the download."""
    response = send_file(path, mimetype="application/zip", conditional=False, max_age=0)
    response.headers["Content-Disposition"] = content_disposition(path.name)
    audit.record(action, target, detail={"file": path.name, "size": path.stat().st_size})
    return response


def _packages_context() -> dict:
    directory = service.package_dir(current_app)
    packages = service.packages(db.get_db(), directory)
    return {"packages": packages, "active": next((p for p in packages if p.active), None),
            "descriptions": service.COLLECTOR_DESCRIPTIONS}


def _page(form: PackageForm | None = None, error: str | None = None, status: int = 200):
    conn = db.get_db()
    recent_tickets = (tickets.recent(conn, tickets.ticket_dir(current_app))
                      if current_user.is_admin else [])
    return render_template("support/page.html", form=form or PackageForm(), error=error,
                           space=service.space(current_app), tickets=recent_tickets,
                           **_packages_context()), status


@bp.route("/")
def page():
    return _page()


@bp.route("/packages")
def packages_fragment():
    if not is_htmx():
        return redirect(url_for("support.page"), code=303)
    context = _packages_context()
    response = render("support/page.html", "support/_packages.html", **context)
    if context["active"] is None:
        response.status_code = POLL_DONE
    return response


@bp.route("/packages", methods=["POST"])
@admin_required
def create_package():
    form = PackageForm()
    if not form.validate_on_submit():
        return _page(form=form, status=422)
    try:
        service.start(current_app._get_current_object(), form.options, current_user.actor)
    except InsufficientSpace as exc:
        service.record_refusal("support_package_create", str(exc))
        return _page(form=form, error=str(exc), status=507)
    except JobConflict:
        return _page(form=form, error="A support package is already being made. Wait for it "
                                      "to finish or cancel it.", status=409)
    flash("The support package is being made.", "success")
    return redirect(url_for("support.page"), code=303)


def package_or_404(package_id: str) -> service.Package:
    """The package with this id, or a 404 (malformed ids too)."""
    package = service.get(db.get_db(), service.package_dir(current_app), package_id)
    if package is None:
        abort(404, description="No such support package.")
    return package


@bp.route("/packages/<package_id>/download")
@admin_required
def download_package(package_id: str):
    package = package_or_404(package_id)
    if not package.ready:
        abort(404, description="This support package is not ready.")
    return send_download(package.path, "support_package_download", package.id)


@bp.route("/packages/<package_id>/delete", methods=["POST"])
@admin_required
def delete_package(package_id: str):
    package = package_or_404(package_id)
    try:
        service.delete(db.get_db(), package)
    except service.PackageBusy as exc:
        flash(str(exc), "error")
    else:
        audit.record("support_package_delete", package.id, detail={"file": package.filename})
        flash(f"Deleted {package.filename or 'the support package'}.", "success")
    return redirect_to(url_for("support.page"))


@bp.route("/packages/<package_id>/cancel", methods=["POST"])
@admin_required
def cancel_package(package_id: str):
    package = package_or_404(package_id)
    if service.cancel(package):
        audit.record("support_package_cancel", package.id)
        flash("The support package was cancelled.", "info")
    else:
        flash("The support package had already finished.", "info")
    return redirect_to(url_for("support.page"))


def _ticket_form(form: TicketForm | None = None) -> TicketForm:
    form = form or TicketForm()
    ready = service.ready_packages(db.get_db(), service.package_dir(current_app))
    form.package.choices = [SelectChoice("new", "Make a new support package (default collectors)")
                            ] + [SelectChoice(p.id, f"{p.filename} ({p.size / 2**20:.1f} MiB)")
                                 for p in ready]
    return form


@bp.route("/ticket")
@admin_required
def ticket_form():
    return render_template("support/ticket_form.html", form=_ticket_form())


@bp.route("/ticket", methods=["POST"])
@admin_required
def create_ticket():
    form = _ticket_form(TicketForm())
    if not form.validate_on_submit():
        return render_template("support/ticket_form.html", form=form), 422
    conn = db.get_db()
    package = None
    if form.package.data != "new":
        package = service.get(conn, service.package_dir(current_app), form.package.data)
        if package is None or not package.ready:
            form.package.errors = ["That support package is no longer on the device."]
            return render_template("support/ticket_form.html", form=_ticket_form(form)), 422
    error = None
    try:
        ticket = tickets.create(current_app._get_current_object(), conn, form.details,
                                current_user.actor, package)
    except InsufficientSpace as exc:
        error, status = str(exc), 507
    except JobConflict:
        error, status = ("A support package is already being made. Wait for it to finish, "
                         "then choose it for this ticket."), 409
    except tickets.TicketError as exc:
        error, status = str(exc), 503
    if error is not None:
        service.record_refusal("support_ticket_create", error)
        return render_template("support/ticket_form.html", form=form, error=error), status
    audit.record("support_ticket_create", ticket.id,
                 detail={"summary": ticket.details["summary"], "package": ticket.package_job})
    return redirect(url_for("support.ticket", ticket_id=ticket.id), code=303)


def ticket_or_404(ticket_id: str) -> tickets.Ticket:
    """The ticket with this id, or a 404 (malformed ids too)."""
    ticket = tickets.get(db.get_db(), tickets.ticket_dir(current_app), ticket_id)
    if ticket is None:
        abort(404, description="No such support ticket.")
    return ticket


def _ticket_page(ticket: tickets.Ticket, status: int = 200, error: str | None = None,
                 upload_form: UploadForm | None = None, usb_form: UsbForm | None = None,
                 warn: str | None = None):
    drives = usb.removable_drives()
    usb_form = usb_form or UsbForm()
    usb_form.mount_point.choices = [SelectChoice(d.mount_point, d.title) for d in drives]
    conn = db.get_db()
    package = (service.get(conn, service.package_dir(current_app), ticket.package_job)
               if ticket.package_job else None)
    return render("support/ticket.html", "support/_ticket_status.html", status=status,
                  ticket=ticket, package=package, error=error, warn=warn,
                  upload_form=upload_form or UploadForm(), usb_form=usb_form, drives=drives,
                  upload_allowance=allows("support_upload", current_mode(conn)),
                  upload_url=current_app.config["SUPPORT_UPLOAD_URL"],
                  descriptions=service.COLLECTOR_DESCRIPTIONS,
                  problem_types=tickets.PROBLEM_TYPES, severities=tickets.SEVERITIES,
                  contact_methods=tickets.CONTACT_METHODS)


@bp.route("/tickets/<ticket_id>")
@admin_required
def ticket(ticket_id: str):
    ticket = ticket_or_404(ticket_id)
    response = _ticket_page(ticket)
    if is_htmx() and not ticket.busy:
        response.status_code = POLL_DONE
    return response


@bp.route("/tickets/<ticket_id>/download")
@admin_required
def download_ticket(ticket_id: str):
    ticket = ticket_or_404(ticket_id)
    if not ticket.ready:
        abort(404, description="This ticket's bundle is not ready.")
    return send_download(ticket.path, "support_ticket_download", ticket.id)


@bp.route("/tickets/<ticket_id>/upload", methods=["POST"])
@admin_required
def upload_ticket(ticket_id: str):
    ticket = ticket_or_404(ticket_id)
    form = UploadForm()
    if not form.validate_on_submit() or not ticket.ready:
        return _ticket_page(ticket, 422, error="The bundle is not ready to send.")
    try:
        tickets.start_upload(current_app._get_current_object(), db.get_db(), ticket,
                             current_user.actor, form.confirm_size.data)
    except tickets.UploadBlocked as exc:
        return _ticket_page(ticket, 409, error=str(exc))
    except tickets.SizeNotConfirmed as exc:
        return _ticket_page(ticket, 409, upload_form=form, warn=str(exc))
    except upload.UploadError as exc:
        return _ticket_page(ticket, 409, error=str(exc))
    except JobConflict:
        return _ticket_page(ticket, 409, error="Another bundle is being sent; try again when "
                                               "it is done.")
    flash(f"Sending {ticket.bundle} to support.", "info")
    return redirect_to(url_for("support.ticket", ticket_id=ticket.id))


@bp.route("/tickets/<ticket_id>/usb", methods=["POST"])
@admin_required
def copy_ticket_to_usb(ticket_id: str):
    ticket = ticket_or_404(ticket_id)
    form = UsbForm()
    drive = {d.mount_point: d for d in usb.removable_drives()}.get(form.mount_point.data or "")
    if not form.validate_on_submit() or not ticket.ready or drive is None:
        return _ticket_page(ticket, 422, error="Choose a mounted USB drive from the list.")
    try:
        tickets.copy_to_usb(db.get_db(), ticket, drive)
    except usb.UsbError as exc:
        return _ticket_page(ticket, 507 if isinstance(exc, usb.DriveFull) else 409,
                            error=str(exc))
    flash(f"{ticket.bundle} and its checksum file were copied to {drive.label}. "
          "Unmount the drive before you remove it.", "success")
    return redirect_to(url_for("support.ticket", ticket_id=ticket.id))
