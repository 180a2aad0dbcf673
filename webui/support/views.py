"""Troubleshooting > Support pages: packages, the ticket form and a ticket's bundle."""

from __future__ import annotations

import functools
import statistics
import zipfile
from collections import Counter
from pathlib import Path

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    send_file,
    url_for,
)
from flask_login import current_user
from wtforms import SelectChoice

from diagnostics.collect import InsufficientSpace, read_manifest
from webui import db, jobs
from webui.access import admin_required, current_actor
from webui.connectivity.policy import allows
from webui.connectivity.state import current_mode
from webui.downloads import content_disposition
from webui.errors import found_or_404, status_of
from webui.htmx import STOP_POLLING, is_htmx, redirect_to, render
from webui.support import packages, tickets, upload, usb
from webui.support.forms import PackageForm, TicketForm, UploadForm, UsbForm
from webui.templating import file_size

bp = Blueprint("support", __name__, url_prefix="/troubleshooting/support")

PACKAGE_BUSY = "A support package is already being made. Wait for it to finish or cancel it."


def settings() -> packages.Settings:
    """The support settings of this app, read afresh for each request."""
    return packages.settings_from(current_app.config, current_app.secret_key)


def send_download(path: Path, action: str, target: str) -> Response:
    """Stream a file as an attachment with its name and length, and audit the download."""
    response = send_file(path, mimetype="application/zip", conditional=False, max_age=0)
    response.headers["Content-Disposition"] = content_disposition(path.name)
    packages.record_download(db.get_db(), current_actor(), action, target, path)
    return response


def package_or_404(package_id: str) -> packages.Package:
    """The package with this id, or a 404 (malformed ids too)."""
    return found_or_404(packages.get(db.get_db(), settings().package_dir, package_id),
                        "No such support package.")


def ticket_or_404(ticket_id: str) -> tickets.Ticket:
    """The ticket with this id, or a 404 (malformed ids too)."""
    return found_or_404(tickets.get(db.get_db(), tickets.ticket_dir(settings()), ticket_id),
                        "No such support ticket.")


# What became of the items a package tried to take, worst first; the rest are counted as taken.
ITEM_OUTCOMES = ("failed", "timed_out", "absent", "skipped", "collected")


def item_outcomes(package: packages.Package) -> dict[str, int] | None:
    """How many items of a finished package were collected, failed, timed out…, or None when
    its manifest cannot be read."""
    try:
        found = package.path.stat()
    except OSError:
        return None
    return _outcomes_of(package.path, found.st_mtime_ns, found.st_size)


# A package's file does not change once made: its manifest is read once while it stays the same
# file (its time and size the key), not on every view of the list.
@functools.lru_cache(maxsize=64)
def _outcomes_of(path: Path, _mtime_ns: int, _size: int) -> dict[str, int] | None:
    try:
        manifest = read_manifest(path)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None
    found = Counter(item.get("status", "collected") for collector in manifest["collectors"]
                    for item in collector.get("items", []))
    return {status: found[status] for status in ITEM_OUTCOMES if found[status]}


def package_seconds(found: list[packages.Package]) -> float | None:
    """The median time the listed finished packages took from request to file, or None."""
    taken = [p.finished_at - p.created_at for p in found if p.ready and p.finished_at]
    return statistics.median(taken) if taken else None


# Attempts that made no package (failed, cancelled, interrupted) the page lists, newest first;
# the ready packages are always all listed, and the API pages through everything.
ATTEMPTS_LISTED = 10


def _packages_context() -> dict:
    found = packages.packages(db.get_db(), settings().package_dir)
    attempts = [p for p in found if not p.active and not p.ready]
    hidden = {p.id for p in attempts[ATTEMPTS_LISTED:]}
    return {"packages": [p for p in found if p.id not in hidden],
            "attempts_hidden": len(hidden),
            "active": next((p for p in found if p.active), None),
            "outcomes": {p.id: item_outcomes(p) for p in found if p.ready},
            "descriptions": packages.COLLECTOR_DESCRIPTIONS}


def _last_options(found: list[packages.Package]) -> dict:
    """The options of the newest package, so the next one starts from them."""
    newest = next(iter(found), None)
    return {} if newest is None else {"collectors": newest.collectors, **{
        k: newest.options[k] for k in ("since_hours", "obfuscate") if k in newest.options}}


def _page(form: PackageForm | None = None, error: str | None = None, status: int = 200):
    conn = db.get_db()
    recent_tickets = (tickets.recent(conn, tickets.ticket_dir(settings()))
                      if current_user.is_admin else [])
    context = _packages_context()
    form = form or PackageForm(**_last_options(context["packages"]))
    return render_template("support/page.html", form=form, error=error,
                           space=packages.space(settings()), tickets=recent_tickets,
                           **context), status


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
        response.status_code = STOP_POLLING
    return response


@bp.route("/packages", methods=["POST"])
@admin_required
def create_package():
    form = PackageForm()
    if not form.validate_on_submit():
        return _page(form=form, status=422)
    try:
        packages.start(jobs.runner(), settings(), db.get_db(), form.options, current_actor())
    except InsufficientSpace as exc:
        return _page(form=form, error=str(exc), status=status_of(exc))
    except jobs.JobConflict as exc:
        return _page(form=form, error=PACKAGE_BUSY, status=status_of(exc))
    flash("The support package is being made.", "success")
    return redirect(url_for("support.page"), code=303)


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
        packages.delete(db.get_db(), package, current_actor())
    except packages.PackageBusy as exc:
        flash(str(exc), "error")
    else:
        flash(f"Deleted {package.filename or 'the support package'}.", "success")
    return redirect_to(url_for("support.page"))


@bp.route("/packages/<package_id>/cancel", methods=["POST"])
@admin_required
def cancel_package(package_id: str):
    package = package_or_404(package_id)
    if packages.cancel(jobs.runner(), db.get_db(), package, current_actor()):
        flash("The support package was cancelled.", "info")
    else:
        flash("The support package had already finished.", "info")
    return redirect_to(url_for("support.page"))


def _ticket_form(form: TicketForm | None = None) -> TicketForm:
    form = form or TicketForm()
    ready = packages.ready_packages(db.get_db(), settings().package_dir)
    form.package.choices = [SelectChoice("new", "Make a new support package (default collectors)")
                            ] + [SelectChoice(p.id, f"{p.filename} ({file_size(p.size)})")
                                 for p in ready]
    return form


def _ticket_form_page(form: TicketForm, status: int = 200, error: str | None = None):
    found = packages.packages(db.get_db(), settings().package_dir)
    return render_template("support/ticket_form.html", form=form, error=error,
                           package_seconds=package_seconds(found)), status


@bp.route("/ticket")
@admin_required
def ticket_form():
    return _ticket_form_page(_ticket_form())


@bp.route("/ticket", methods=["POST"])
@admin_required
def create_ticket():
    form = _ticket_form(TicketForm())
    if not form.validate_on_submit():
        return _ticket_form_page(form, 422)
    conn = db.get_db()
    package = None
    if form.package.data != "new":
        package = packages.get(conn, settings().package_dir, form.package.data)
        if package is None or not package.ready:
            form.package.errors = ["That support package is no longer on the device."]
            return _ticket_form_page(_ticket_form(form), 422)
    try:
        ticket = tickets.create(jobs.runner(), settings(), conn, form.details, current_actor(),
                                package)
    except (InsufficientSpace, tickets.TicketError) as exc:
        return _ticket_form_page(form, status_of(exc), str(exc))
    except jobs.JobConflict as exc:
        return _ticket_form_page(form, status_of(exc), tickets.PACKAGE_BUSY)
    return redirect(url_for("support.ticket", ticket_id=ticket.id), code=303)


def _ticket_page(ticket: tickets.Ticket, status: int = 200, error: str | None = None,
                 upload_form: UploadForm | None = None, usb_form: UsbForm | None = None,
                 size_unconfirmed: bool = False):
    drives = usb.removable_drives()
    usb_form = usb_form or UsbForm()
    usb_form.mount_point.choices = [SelectChoice(d.mount_point, d.title) for d in drives]
    conn = db.get_db()
    package = (packages.get(conn, settings().package_dir, ticket.package_job)
               if ticket.package_job else None)
    return render("support/ticket.html", "support/_ticket_status.html", status=status,
                  ticket=ticket, package=package, error=error,
                  size_unconfirmed=size_unconfirmed,
                  upload_form=upload_form or UploadForm(), usb_form=usb_form, drives=drives,
                  upload_allowance=allows("support_upload", current_mode(conn)),
                  upload_url=settings().upload_url,
                  descriptions=packages.COLLECTOR_DESCRIPTIONS,
                  problem_types=tickets.PROBLEM_TYPES, severities=tickets.SEVERITIES,
                  contact_methods=tickets.CONTACT_METHODS)


@bp.route("/tickets/<ticket_id>")
@admin_required
def ticket(ticket_id: str):
    ticket = ticket_or_404(ticket_id)
    response = _ticket_page(ticket)
    if is_htmx() and not ticket.busy:
        response.status_code = STOP_POLLING
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
        tickets.start_upload(jobs.runner(), settings(), db.get_db(), ticket, current_actor(),
                             form.confirm_size.data)
    except tickets.SizeNotConfirmed as exc:
        return _ticket_page(ticket, status_of(exc), upload_form=form, size_unconfirmed=True)
    except (tickets.UploadBlocked, upload.EndpointUnusable) as exc:
        return _ticket_page(ticket, status_of(exc), error=str(exc))
    except jobs.JobConflict as exc:
        return _ticket_page(ticket, status_of(exc), error="Another bundle is being sent; try "
                                                          "again when it is done.")
    flash(f"Sending {ticket.bundle} to support.", "info")
    return redirect_to(url_for("support.ticket", ticket_id=ticket.id))


def mounted_drive(mount_point: object) -> usb.RemovableDrive | None:
    """The mounted removable drive at ``mount_point``, or None (also for anything not text)."""
    if not isinstance(mount_point, str):
        return None
    return {d.mount_point: d for d in usb.removable_drives()}.get(mount_point)


@bp.route("/tickets/<ticket_id>/usb", methods=["POST"])
@admin_required
def copy_ticket_to_usb(ticket_id: str):
    ticket = ticket_or_404(ticket_id)
    form = UsbForm()
    drive = mounted_drive(form.mount_point.data)
    if not form.validate_on_submit() or not ticket.ready or drive is None:
        return _ticket_page(ticket, 422, error="Choose a mounted USB drive from the list.")
    try:
        tickets.start_usb_copy(jobs.runner(), settings(), db.get_db(), ticket, drive,
                               current_actor())
    except usb.UsbError as exc:
        return _ticket_page(ticket, status_of(exc), error=str(exc))
    except jobs.JobConflict as exc:
        return _ticket_page(ticket, status_of(exc), error="Another bundle is being copied; try "
                                                          "again when it is done.")
    flash(f"Copying {ticket.bundle} and its checksum file to {drive.label}.", "info")
    return redirect_to(url_for("support.ticket", ticket_id=ticket.id))
