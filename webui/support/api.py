"""The support API: packages, tickets, their uploads and copies to USB drives."""

from __future__ import annotations

from flask import Blueprint, jsonify, url_for

from diagnostics.collect import COLLECTORS, InsufficientSpace
from webui import db, jobs
from webui.access import admin_required, current_actor
from webui.api.helpers import FieldError, json_body
from webui.errors import ProblemError, problem, status_of
from webui.support import packages, tickets, upload, usb
from webui.support.views import (
    mounted_drive,
    package_or_404,
    send_download,
    settings,
    ticket_or_404,
)

bp = Blueprint("support_api", __name__, url_prefix="/api/v1/support")

BUSY = "A support package is already being made; wait for it to finish or cancel it."


def _space_problem(exc: InsufficientSpace):
    return problem(status_of(exc), str(exc), free_bytes=exc.free, needed_bytes=exc.need)


def _busy_problem(exc: jobs.JobConflict, detail: str = BUSY):
    return problem(status_of(exc), detail, job_id=exc.job_id)


def _accepted(body: dict, location: str, status: int = 202):
    response = jsonify(body)
    response.status_code = status
    response.headers["Location"] = location
    return response


@bp.route("/collectors")
def list_collectors():
    """Support package collectors with descriptions, the default set and the time windows."""
    return jsonify(collectors=[{"id": c.id, "description": c.description,
                                "default": c.id in packages.DEFAULT_COLLECTORS}
                               for c in COLLECTORS], time_windows=list(packages.TIME_WINDOWS))


@bp.route("/packages")
def list_packages():
    """Support packages, newest first: ``{packages: [{id, state, progress, created_at,
    finished_at, filename, size, options, error, …}]}``; deleted and pruned ones drop out."""
    found = packages.packages(db.get_db(), settings().package_dir)
    return jsonify(packages=[p.to_dict() for p in found])


@bp.route("/packages", methods=["POST"])
@admin_required
def create_package():
    """Start a support package: ``{collectors, since_hours, obfuscate}``, all optional.

    202 with the package and ``Location``; 422 naming a bad field; 409 while another package
    is being made; 507 when the instance lacks the configured free space (figures given).
    """
    body = json_body()
    options = packages.parse_options(body.get("collectors"),
                                     body.get("since_hours", packages.DEFAULT_WINDOW),
                                     body.get("obfuscate", False))
    try:
        package_id = packages.start(jobs.runner(), settings(), db.get_db(), options,
                                    current_actor())
    except InsufficientSpace as exc:
        return _space_problem(exc)
    except jobs.JobConflict as exc:
        return _busy_problem(exc)
    package = packages.get(db.get_db(), settings().package_dir, package_id)
    return _accepted(package.to_dict(),
                     url_for("support_api.get_package", package_id=package_id))


@bp.route("/packages/<package_id>")
def get_package(package_id: str):
    """One support package with its state and progress (poll it until it is finished)."""
    return jsonify(package_or_404(package_id).to_dict())


@bp.route("/packages/<package_id>/download")
@admin_required
def download_package(package_id: str):
    """The package's zip, streamed with its name and length (administrators only)."""
    package = package_or_404(package_id)
    if not package.ready:
        return problem(409, f"This support package is {package.state}, not ready to download.")
    return send_download(package.path, "support_package_download", package.id)


@bp.route("/packages/<package_id>", methods=["DELETE"])
@admin_required
def delete_package(package_id: str):
    """Delete a finished package (its file and its entry); 409 while it is being made."""
    packages.delete(db.get_db(), package_or_404(package_id), current_actor())
    return "", 204


@bp.route("/packages/<package_id>/cancel", methods=["POST"])
@admin_required
def cancel_package(package_id: str):
    """Cancel a package being made; its partial file is removed."""
    package = package_or_404(package_id)
    if not packages.cancel(jobs.runner(), db.get_db(), package, current_actor()):
        return problem(409, f"This support package is already {package.state}.")
    return jsonify(package_or_404(package_id).to_dict())


@bp.route("/tickets")
@admin_required
def list_tickets():
    """Support tickets, newest first, with their bundles."""
    found = tickets.recent(db.get_db(), tickets.ticket_dir(settings()))
    return jsonify(tickets=[t.to_dict() for t in found])


@bp.route("/tickets", methods=["POST"])
@admin_required
def create_ticket():
    """File a support ticket: ``{summary, problem_type, severity, started_at, description,
    contact_name, email, phone, contact_method, package_id}``.

    With ``package_id`` (a ready package) the bundle is made at once: 201. Without it a new
    package is made first: 202, poll ``Location`` until ``state`` is ``ready`` or ``failed``.
    422 lists every bad field.
    """
    body = json_body()
    details, problems = tickets.check(body)
    if problems:
        errors = [{"field": field, "rule": rule} for field, rule in problems.items()]
        raise ProblemError(422, "; ".join(f"{e['field']}: {e['rule']}" for e in errors),
                           errors=errors)
    conn = db.get_db()
    package = None
    package_id = body.get("package_id")
    if package_id is not None:
        package = (packages.get(conn, settings().package_dir, package_id)
                   if isinstance(package_id, str) else None)
        if package is None or not package.ready:
            raise FieldError("package_id", "the id of a ready support package, or null for a "
                                           "new one")
    try:
        ticket = tickets.create(jobs.runner(), settings(), conn, details, current_actor(),
                                package)
    except InsufficientSpace as exc:
        return _space_problem(exc)
    except jobs.JobConflict as exc:
        return _busy_problem(exc)
    return _accepted(ticket.to_dict(), url_for("support_api.get_ticket", ticket_id=ticket.id),
                     201 if ticket.ready else 202)


@bp.route("/tickets/<ticket_id>")
@admin_required
def get_ticket(ticket_id: str):
    """One support ticket: its fields, ``state`` (waiting, ready, failed, removed), bundle,
    and its latest ``upload`` and ``usb_copy``."""
    return jsonify(ticket_or_404(ticket_id).to_dict())


@bp.route("/tickets/<ticket_id>/download")
@admin_required
def download_ticket(ticket_id: str):
    """The ticket bundle's zip, streamed with its name and length."""
    ticket = ticket_or_404(ticket_id)
    if not ticket.ready:
        return problem(409, f"This ticket's bundle is {ticket.state}, not ready to download.")
    return send_download(ticket.path, "support_ticket_download", ticket.id)


@bp.route("/tickets/<ticket_id>/upload", methods=["POST"])
@admin_required
def upload_ticket(ticket_id: str):
    """Send the ticket bundle to the configured support endpoint over HTTPS, as a job.

    202 with the ticket; poll ``Location`` until ``upload.state`` is final (``failed`` carries
    the reason, e.g. the endpoint refused the bundle after retries). Obeys the connectivity
    mode: 409 when fully disconnected; when partially disconnected, 409 with the ``size`` until
    the request carries ``{"confirm_size": true}``. 409 when no usable endpoint is configured.
    """
    ticket = ticket_or_404(ticket_id)
    body = json_body()
    confirm = body.get("confirm_size", False)
    if not isinstance(confirm, bool):
        raise FieldError("confirm_size", "true or false")
    if not ticket.ready:
        return problem(409, f"This ticket's bundle is {ticket.state}, not ready to send.")
    try:
        tickets.start_upload(jobs.runner(), settings(), db.get_db(), ticket, current_actor(),
                             confirm)
    except tickets.UploadBlocked as exc:
        return problem(status_of(exc), str(exc), title="Blocked by the connectivity mode")
    except tickets.SizeNotConfirmed as exc:
        return problem(status_of(exc), f"{exc} Send again with confirm_size true.",
                       size=exc.size)
    except upload.EndpointUnusable as exc:
        return problem(status_of(exc), str(exc), title="No usable upload endpoint")
    except jobs.JobConflict as exc:
        return _busy_problem(exc, "Another bundle is being sent; try again when it is done.")
    return _accepted(ticket_or_404(ticket_id).to_dict(),
                     url_for("support_api.get_ticket", ticket_id=ticket_id))


@bp.route("/usb-drives")
@admin_required
def list_usb_drives():
    """Mounted removable USB drives the bundle can be copied to."""
    return jsonify(drives=[{"device": d.device, "mount_point": d.mount_point, "label": d.label,
                            "free": d.free} for d in usb.removable_drives()])


@bp.route("/tickets/<ticket_id>/usb", methods=["POST"])
@admin_required
def copy_ticket_to_usb(ticket_id: str):
    """Copy the ticket bundle and a ``.sha256`` file to a drive, as a job: ``{mount_point}``.

    202 with the ticket; poll ``Location`` until ``usb_copy.state`` is final (it then names
    ``path`` and ``checksum_path``). 507 at once when the bundle does not fit on the drive.
    """
    ticket = ticket_or_404(ticket_id)
    drive = mounted_drive(json_body().get("mount_point"))
    if drive is None:
        raise FieldError("mount_point", "the mount point of a mounted USB drive "
                                        "(GET /api/v1/support/usb-drives)")
    if not ticket.ready:
        return problem(409, f"This ticket's bundle is {ticket.state}, not ready to copy.")
    try:
        tickets.start_usb_copy(jobs.runner(), settings(), db.get_db(), ticket, drive,
                               current_actor())
    except jobs.JobConflict as exc:
        return _busy_problem(exc, "Another bundle is being copied; try again when it is done.")
    return _accepted(ticket_or_404(ticket_id).to_dict(),
                     url_for("support_api.get_ticket", ticket_id=ticket_id))
