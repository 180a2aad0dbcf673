"""The support API: packages, tickets, their uploads and copies to USB drives."""

from __future__ import annotations

from flask import Blueprint, url_for

from diagnostics.collect import COLLECTORS, InsufficientSpace
from webui import db, jobs
from webui.access import admin_required, current_actor
from webui.api.contract import Answer, Page, Paging, Reply, operation
from webui.errors import ProblemError, problem, status_of
from webui.formats import iso
from webui.support import packages, schemas, tickets, upload, usb
from webui.support.views import (
    mounted_drive,
    package_or_404,
    send_download,
    settings,
    ticket_or_404,
)

bp = Blueprint("support_api", __name__, url_prefix="/api/v1/support")

BUSY = "A support package is already being made; wait for it to finish or cancel it."
ZIP = "application/zip"
TICKET_ANSWER = Answer(schemas.Ticket, "The ticket; follow `Location` until the work is done.",
                       headers=("Location",))
TICKET_EXAMPLE = {"summary": "Uploads stall every night", "problem_type": "data_transfer",
                  "severity": "B", "started_at": "2026-11-20T22:15:00Z",
                  "description": "Share uploads stop at 02:00 and resume at 06:00.",
                  "contact_name": "Ada Field", "email": "ada@example.com",
                  "phone": "+1 (555) 010-9999", "contact_method": "phone", "package_id": None}


def _space_problem(exc: InsufficientSpace):
    return problem(status_of(exc), str(exc), free_bytes=exc.free, needed_bytes=exc.need)


def _busy_problem(exc: jobs.JobConflict, detail: str = BUSY):
    return problem(status_of(exc), detail, job_id=exc.job_id)


def _conflict(field: str, rule: str) -> ProblemError:
    # The request is well formed; what it names does not hold on the device right now.
    return ProblemError(409, f"{field}: {rule}", errors=[{"field": field, "rule": rule}])


def _ticket_reply(ticket_id: str, status: int = 202) -> Reply:
    return Reply(ticket_or_404(ticket_id).to_dict(), status,
                 location=url_for(".get_ticket", ticket_id=ticket_id))


@bp.route("/collectors")
@operation("support", schemas.Collectors)
def list_collectors():
    """Support package collectors with descriptions, the default set and the time windows."""
    return {"collectors": [{"id": c.id, "description": c.description,
                            "default": c.id in packages.DEFAULT_COLLECTORS} for c in COLLECTORS],
            "time_windows": list(packages.TIME_WINDOWS)}


@bp.route("/packages")
@operation("support", Page[schemas.Package], query=Paging)
def list_packages(query: Paging):
    """Support packages, newest first.

    Deleted and pruned ones drop out.
    """
    found = packages.packages(db.get_db(), settings().package_dir)
    return Page[schemas.Package].sliced(query, [p.to_dict() for p in found])


@bp.route("/packages", methods=["POST"])
@admin_required
@operation("support", {202: Answer(schemas.Package, "Started; follow `Location`.",
                                   headers=("Location",))},
           body=schemas.NewPackage, body_required=False, errors=[409],
           example={"collectors": ["system", "journal"], "since_hours": 24, "obfuscate": False})
def create_package(body: schemas.NewPackage):
    """Start a support package; every field is optional, and so is the body.

    409 while another package is being made (`job_id` names it); 507 when the instance lacks
    the configured free space (`free_bytes` and `needed_bytes` given).
    """
    options = packages.parse_options(body.collectors, body.since_hours, body.obfuscate)
    try:
        package_id = packages.start(jobs.runner(), settings(), db.get_db(), options,
                                    current_actor())
    except InsufficientSpace as exc:
        return _space_problem(exc)
    except jobs.JobConflict as exc:
        return _busy_problem(exc)
    return Reply(package_or_404(package_id).to_dict(), 202,
                 location=url_for(".get_package", package_id=package_id))


@bp.route("/packages/<package_id>")
@operation("support", schemas.Package, errors=[404])
def get_package(package_id: str):
    """One support package with its state and progress (poll it until it is finished)."""
    return package_or_404(package_id).to_dict()


@bp.route("/packages/<package_id>/download")
@admin_required
@operation("support", Answer(bytes, "The package's zip, with its name and length.",
                             media_type=ZIP), errors=[404, 409])
def download_package(package_id: str):
    """The package's zip, streamed with its name and length.

    409 while it is not ready (being made, failed or cancelled).
    """
    package = package_or_404(package_id)
    if not package.ready:
        return problem(409, f"This support package is {package.state}, not ready to download.")
    return send_download(package.path, "support_package_download", package.id)


@bp.route("/packages/<package_id>", methods=["DELETE"])
@admin_required
@operation("support", {204: Answer(description="Deleted.")}, errors=[404, 409])
def delete_package(package_id: str):
    """Delete a finished package (its file and its entry); 409 while it is being made."""
    packages.delete(db.get_db(), package_or_404(package_id), current_actor())
    return Reply(None, 204)


@bp.route("/packages/<package_id>/cancel", methods=["POST"])
@admin_required
@operation("support", Answer(schemas.Package, "The package, cancelled."), errors=[404, 409])
def cancel_package(package_id: str):
    """Cancel a package being made; its partial file is removed.

    Takes no body. 409 when the package is already finished.
    """
    package = package_or_404(package_id)
    if not packages.cancel(jobs.runner(), db.get_db(), package, current_actor()):
        return problem(409, f"This support package is already {package.state}.")
    return package_or_404(package_id).to_dict()


@bp.route("/tickets")
@admin_required
@operation("support", Page[schemas.Ticket], query=Paging)
def list_tickets(query: Paging):
    """Support tickets, newest first, with their bundles.

    `upload` and `usb_copy` are given by `GET /tickets/{ticket_id}` only.
    """
    conn = db.get_db()
    found = tickets.recent(conn, tickets.ticket_dir(settings()), query.per_page, query.offset)
    return Page[schemas.Ticket].of(query, tickets.count(conn), [t.to_dict() for t in found])


@bp.route("/tickets", methods=["POST"])
@admin_required
@operation("support", {201: Answer(schemas.Ticket, "Filed with its bundle.",
                                   headers=("Location",)),
                       202: Answer(schemas.Ticket, "Filed; its package is being made: follow "
                                                   "`Location` until `state` is `ready` or "
                                                   "`failed`.", headers=("Location",))},
           body=schemas.NewTicket, errors=[409], example=TICKET_EXAMPLE)
def create_ticket(body: schemas.NewTicket):
    """File a support ticket.

    With `package_id` (a ready package) the bundle is made at once: 201. Without it a new
    package is made first: 202. 409 when `package_id` names no ready package, when
    `started_at` is after the device's clock, or while another package is being made (`job_id`
    names it); 507 when a new package lacks free space (`free_bytes` and `needed_bytes`).
    """
    details, problems = tickets.check(body.model_dump(exclude={"package_id"}))
    if problems.get("started_at") == tickets.IN_FUTURE:
        raise _conflict("started_at", f"{tickets.IN_FUTURE} (the device's clock says "
                                      f"{iso(db.now())})")
    if problems:
        errors = [{"field": field, "rule": rule} for field, rule in problems.items()]
        raise ProblemError(422, "; ".join(f"{e['field']}: {e['rule']}" for e in errors),
                           errors=errors)
    conn = db.get_db()
    package = None
    if body.package_id is not None:
        package = packages.get(conn, settings().package_dir, body.package_id)
        if package is None or not package.ready:
            raise _conflict("package_id", "no ready support package has this id")
    try:
        ticket = tickets.create(jobs.runner(), settings(), conn, details, current_actor(),
                                package)
    except InsufficientSpace as exc:
        return _space_problem(exc)
    except jobs.JobConflict as exc:
        return _busy_problem(exc)
    return Reply(ticket.to_dict(), 201 if ticket.ready else 202,
                 location=url_for(".get_ticket", ticket_id=ticket.id))


@bp.route("/tickets/<ticket_id>")
@admin_required
@operation("support", schemas.Ticket, errors=[404])
def get_ticket(ticket_id: str):
    """One support ticket: its fields, state, bundle, and its latest upload and USB copy."""
    return ticket_or_404(ticket_id).to_dict()


@bp.route("/tickets/<ticket_id>/download")
@admin_required
@operation("support", Answer(bytes, "The bundle's zip, with its name and length.",
                             media_type=ZIP), errors=[404, 409])
def download_ticket(ticket_id: str):
    """The ticket bundle's zip, streamed with its name and length.

    409 while the bundle is not ready.
    """
    ticket = ticket_or_404(ticket_id)
    if not ticket.ready:
        return problem(409, f"This ticket's bundle is {ticket.state}, not ready to download.")
    return send_download(ticket.path, "support_ticket_download", ticket.id)


@bp.route("/tickets/<ticket_id>/upload", methods=["POST"])
@admin_required
@operation("support", {202: TICKET_ANSWER}, body=schemas.Upload, body_required=False,
           errors=[404, 409], example={"confirm_size": True})
def upload_ticket(ticket_id: str, body: schemas.Upload):
    """Send the ticket bundle to the configured support endpoint over HTTPS, as a job.

    The body is optional (`confirm_size` is then false). 202 with the ticket; poll `Location`
    until `upload.state` is final (`failed` carries the reason, e.g. the endpoint refused the
    bundle after retries). Obeys the connectivity mode: 409 when fully disconnected; when
    partially disconnected, 409 with the `size` until the request carries
    `{"confirm_size": true}`. 409 too when the bundle is not ready, when no usable endpoint is
    configured, or while another bundle is being sent (`job_id` names it).
    """
    ticket = ticket_or_404(ticket_id)
    if not ticket.ready:
        return problem(409, f"This ticket's bundle is {ticket.state}, not ready to send.")
    try:
        tickets.start_upload(jobs.runner(), settings(), db.get_db(), ticket, current_actor(),
                             body.confirm_size)
    except tickets.UploadBlocked as exc:
        return problem(status_of(exc), str(exc), title="Blocked by the connectivity mode")
    except tickets.SizeNotConfirmed as exc:
        return problem(status_of(exc), f"{exc} Send again with confirm_size true.",
                       size=exc.size)
    except upload.EndpointUnusable as exc:
        return problem(status_of(exc), str(exc), title="No usable upload endpoint")
    except jobs.JobConflict as exc:
        return _busy_problem(exc, "Another bundle is being sent; try again when it is done.")
    return _ticket_reply(ticket_id)


@bp.route("/usb-drives")
@admin_required
@operation("support", Page[schemas.UsbDrive], query=Paging)
def list_usb_drives(query: Paging):
    """Mounted removable USB drives the bundle can be copied to, by mount point."""
    return Page[schemas.UsbDrive].sliced(query, [
        {"device": d.device, "mount_point": d.mount_point, "label": d.label, "free": d.free}
        for d in usb.removable_drives()])


@bp.route("/tickets/<ticket_id>/usb", methods=["POST"])
@admin_required
@operation("support", {202: TICKET_ANSWER}, body=schemas.UsbTarget, errors=[404, 409],
           example={"mount_point": "/media/admin/SUPPORT"})
def copy_ticket_to_usb(ticket_id: str, body: schemas.UsbTarget):
    """Copy the ticket bundle and a `.sha256` file to a drive, as a job.

    202 with the ticket; poll `Location` until `usb_copy.state` is final (it then names
    `path` and `checksum_path`). 409 when no USB drive is mounted at `mount_point`, when the
    bundle is not ready, or while another bundle is being copied (`job_id` names it); 507 at
    once when the bundle does not fit on the drive.
    """
    ticket = ticket_or_404(ticket_id)
    drive = mounted_drive(body.mount_point)
    if drive is None:
        raise _conflict("mount_point", "no USB drive is mounted here "
                                       "(GET /api/v1/support/usb-drives)")
    if not ticket.ready:
        return problem(409, f"This ticket's bundle is {ticket.state}, not ready to copy.")
    try:
        tickets.start_usb_copy(jobs.runner(), settings(), db.get_db(), ticket, drive,
                               current_actor())
    except jobs.JobConflict as exc:
        return _busy_problem(exc, "Another bundle is being copied; try again when it is done.")
    return _ticket_reply(ticket_id)
