from __future__ import annotations

from flask import current_app, jsonify, url_for
from flask_login import current_user

from diagnostics.collect import COLLECTORS, InsufficientSpace
from webui import audit, db
from webui.access import admin_required
from webui.api.helpers import FieldError, json_body
from webui.errors import ProblemError, problem
from webui.jobs import JobConflict
from webui.support import api_bp, service, tickets, upload, usb
from webui.support.views import package_or_404, send_download, ticket_or_404

BUSY = "A support package is already being made; wait for it to finish or cancel it."


def _space_problem(exc: InsufficientSpace, action: str = "support_package_create"):
    service.record_refusal(action, str(exc))
    return problem(507, str(exc), free_bytes=exc.free, needed_bytes=exc.need)


@api_bp.route("/collectors")
def list_collectors():
    """Support package collectors with descriptions, the default set and the time windows."""
    return jsonify(collectors=[{"id": c.id, "description": c.description,
                                "default": c.id in service.DEFAULT_COLLECTORS}
                               for c in COLLECTORS], time_windows=list(service.TIME_WINDOWS))


@api_bp.route("/packages")
def list_packages():
    """Support packages, newest first: ``{packages: [{id, state, progress, created_at,
    finished_at, filename, size, options, error, …}]}``; deleted and pruned ones drop out."""
    found = service.packages(db.get_db(), service.package_dir(current_app))
    return jsonify(packages=[p.to_dict() for p in found])


@api_bp.route("/packages", methods=["POST"])
@admin_required
def create_package():
    """Start a support package: ``{collectors, since_hours, obfuscate}``, all optional.

    202 with the package and ``Location``; 422 naming a bad field; 409 while another package
    is being made; 507 when the instance lacks the configured free space (figures given).
    """
    body = json_body()
    try:
        options = service.parse_options(body.get("collectors"),
                                        body.get("since_hours", service.DEFAULT_WINDOW),
                                        body.get("obfuscate", False))
    except service.OptionProblem as exc:
        raise FieldError(exc.field, exc.rule) from None
    try:
        package_id = service.start(current_app._get_current_object(), options, current_user.actor)
    except InsufficientSpace as exc:
        return _space_problem(exc)
    except JobConflict as exc:
        return problem(409, BUSY, job_id=exc.job_id)
    package = service.get(db.get_db(), service.package_dir(current_app), package_id)
    response = jsonify(package.to_dict())
    response.status_code = 202
    response.headers["Location"] = url_for("support_api.get_package", package_id=package_id)
    return response


@api_bp.route("/packages/<package_id>")
def get_package(package_id: str):
    """One support package with its state and progress (poll it until it is finished)."""
    return jsonify(package_or_404(package_id).to_dict())


@api_bp.route("/packages/<package_id>/download")
@admin_required
def download_package(package_id: str):
    """The package's zip, streamed with its name and length (administrators only)."""
    package = package_or_404(package_id)
    if not package.ready:
        return problem(409, f"This support package is {package.state}, not ready to download.")
    return send_download(package.path, "support_package_download", package.id)


@api_bp.route("/packages/<package_id>", methods=["DELETE"])
@admin_required
def delete_package(package_id: str):
    """Delete a finished package (its file and its entry); 409 while it is being made."""
    package = package_or_404(package_id)
    try:
        service.delete(db.get_db(), package)
    except service.PackageBusy as exc:
        return problem(409, str(exc))
    audit.record("support_package_delete", package.id, detail={"file": package.filename})
    return "", 204


@api_bp.route("/packages/<package_id>/cancel", methods=["POST"])
@admin_required
def cancel_package(package_id: str):
    """Cancel a package being made; its partial file is removed."""
    package = package_or_404(package_id)
    if not service.cancel(package):
        return problem(409, f"This support package is already {package.state}.")
    audit.record("support_package_cancel", package.id)
    return jsonify(package_or_404(package_id).to_dict())


@api_bp.route("/tickets")
@admin_required
def list_tickets():
    """Support tickets, newest first, with their bundles."""
    found = tickets.recent(db.get_db(), tickets.ticket_dir(current_app))
    return jsonify(tickets=[t.to_dict() for t in found])


@api_bp.route("/tickets", methods=["POST"])
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
        package = (service.get(conn, service.package_dir(current_app), package_id)
                   if isinstance(package_id, str) else None)
        if package is None or not package.ready:
            raise FieldError("package_id", "the id of a ready support package, or null for a "
                                           "new one")
    try:
        ticket = tickets.create(current_app._get_current_object(), conn, details,
                                current_user.actor, package)
    except InsufficientSpace as exc:
        return _space_problem(exc, "support_ticket_create")
    except JobConflict as exc:
        return problem(409, BUSY, job_id=exc.job_id)
    except tickets.TicketError as exc:
        audit.record("support_ticket_create", None, "failure", str(exc))
        return problem(503, str(exc))
    audit.record("support_ticket_create", ticket.id,
                 detail={"summary": ticket.details["summary"], "package": ticket.package_job})
    response = jsonify(ticket.to_dict())
    response.status_code = 201 if ticket.ready else 202
    response.headers["Location"] = url_for("support_api.get_ticket", ticket_id=ticket.id)
    return response


@api_bp.route("/tickets/<ticket_id>")
@admin_required
def get_ticket(ticket_id: str):
    """One support ticket: its fields, ``state`` (waiting, ready, failed, removed) and bundle."""
    return jsonify(ticket_or_404(ticket_id).to_dict())


@api_bp.route("/tickets/<ticket_id>/download")
@admin_required
def download_ticket(ticket_id: str):
    """The ticket bundle's zip, streamed with its name and length."""
    ticket = ticket_or_404(ticket_id)
    if not ticket.ready:
        return problem(409, f"This ticket's bundle is {ticket.state}, not ready to download.")
    return send_download(ticket.path, "support_ticket_download", ticket.id)


@api_bp.route("/tickets/<ticket_id>/upload", methods=["POST"])
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
        tickets.start_upload(current_app._get_current_object(), db.get_db(), ticket,
                             current_user.actor, confirm)
    except tickets.UploadBlocked as exc:
        return problem(409, str(exc), title="Blocked by the connectivity mode")
    except tickets.SizeNotConfirmed as exc:
        return problem(409, f"{exc} Send again with confirm_size true.", size=exc.size)
    except upload.UploadError as exc:
        return problem(409, str(exc), title="No usable upload endpoint")
    except JobConflict as exc:
        return problem(409, "Another bundle is being sent; try again when it is done.",
                       job_id=exc.job_id)
    response = jsonify(ticket_or_404(ticket_id).to_dict())
    response.status_code = 202
    response.headers["Location"] = url_for("support_api.get_ticket", ticket_id=ticket_id)
    return response


@api_bp.route("/usb-drives")
@admin_required
def list_usb_drives():
    """Mounted removable USB drives the bundle can be copied to."""
    return jsonify(drives=[{"device": d.device, "mount_point": d.mount_point, "label": d.label,
                            "free": d.free} for d in usb.removable_drives()])


@api_bp.route("/tickets/<ticket_id>/usb", methods=["POST"])
@admin_required
def copy_ticket_to_usb(ticket_id: str):
    """Copy the ticket bundle and a ``.sha256`` file to a drive: ``{mount_point}``."""
    ticket = ticket_or_404(ticket_id)
    body = json_body()
    mount_point = body.get("mount_point")
    drives = {d.mount_point: d for d in usb.removable_drives()}
    drive = drives.get(mount_point) if isinstance(mount_point, str) else None
    if drive is None:
        raise FieldError("mount_point", "the mount point of a mounted USB drive "
                                        "(GET /api/v1/support/usb-drives)")
    if not ticket.ready:
        return problem(409, f"This ticket's bundle is {ticket.state}, not ready to copy.")
    try:
        copy = tickets.copy_to_usb(db.get_db(), ticket, drive)
    except usb.UsbError as exc:
        return problem(507 if isinstance(exc, usb.DriveFull) else 409, str(exc))
    return jsonify(path=str(copy), checksum_path=str(copy) + ".sha256")
