"""Support tickets (SPEC F8): the form's rules, the ticket record and its bundle.

A bundle is ``supportticket-<device>-<UTC stamp>.zip`` in ``<instance>/support-tickets`` holding
``ticket.json``, the support package, the latest succeeded diagnostic run and ``SHA256SUMS``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
import re
import secrets
import sqlite3
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask

from diagnostics.collect.archive import file_sha256, package_filename
from webui import audit, db, jobs
from webui.support import service, upload, usb

TICKET_DIR = "support-tickets"
UPLOAD_KIND = "support_upload"
PREFIX = "supportticket-"
PARTIAL = ".partial"
PROBLEM_TYPES = {
    "hardware": "Hardware",
    "network": "Network",
    "data_transfer": "Data transfer",
    "performance": "Performance",
    "software_update": "Software update",
    "other": "Other",
}
SEVERITIES = {
    "A": "A — Critical impact: the device or its data is unusable",
    "B": "B — Moderate impact: work goes on, degraded",
    "C": "C — Minimal impact: a question or a small problem",
}
CONTACT_METHODS = {"email": "E-mail", "phone": "Phone"}
LABELS = {"summary": "Summary", "problem_type": "Problem type", "severity": "Severity",
          "started_at": "Start time", "description": "Description",
          "contact_name": "Contact name", "email": "E-mail", "phone": "Phone",
          "contact_method": "Preferred contact method"}
FIELDS = ("summary", "problem_type", "severity", "started_at", "description", "contact_name",
          "email", "phone", "contact_method")
SUMMARY_MAX = 140
DESCRIPTION_MAX = 10_000
NAME_MAX = 100
EMAIL_MAX = 254
PHONE_MAX = 32
CLOCK_SKEW = dt.timedelta(minutes=5)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
_PHONE = re.compile(r"^\+?[0-9 ()-]+$")
_TICKET_ID = re.compile(r"^[0-9a-f]{16}$")


def check(values: Mapping[str, Any],
          now: dt.datetime | None = None) -> tuple[dict[str, str], dict[str, str]]:
    """The ticket fields cleaned, and the rule each bad field breaks (field → rule).

    ``started_at`` is ISO 8601; without an offset it is the device's local time. It comes back
    in UTC.
    """
    now = now or dt.datetime.now(dt.UTC)
    clean: dict[str, str] = {}
    problems: dict[str, str] = {}

    def text(field: str, limit: int, required: bool) -> None:
        value = values.get(field)
        if value is None:
            value = ""
        if not isinstance(value, str):
            problems[field] = "must be text"
            return
        value = value.strip()
        if required and not value:
            problems[field] = "is required"
        elif len(value) > limit:
            problems[field] = f"must be at most {limit:,} characters"
        else:
            clean[field] = value

    def choice(field: str, choices: Mapping[str, str]) -> None:
        value = values.get(field)
        if not isinstance(value, str) or value not in choices:
            problems[field] = f"must be one of {', '.join(choices)}"
        else:
            clean[field] = value

    text("summary", SUMMARY_MAX, required=True)
    choice("problem_type", PROBLEM_TYPES)
    choice("severity", SEVERITIES)
    started = _started_at(values.get("started_at"), now)
    if isinstance(started, str):
        problems["started_at"] = started
    else:
        clean["started_at"] = started.isoformat(timespec="seconds")
    text("description", DESCRIPTION_MAX, required=True)
    text("contact_name", NAME_MAX, required=True)
    text("email", EMAIL_MAX, required=True)
    if "email" in clean and not _EMAIL.match(clean["email"]):
        problems["email"] = "must be an e-mail address like name@example.com"
        del clean["email"]
    text("phone", PHONE_MAX, required=False)
    if clean.get("phone") and not _PHONE.match(clean["phone"]):
        problems["phone"] = "may hold only digits, spaces, + - ( )"
        del clean["phone"]
    choice("contact_method", CONTACT_METHODS)
    if clean.get("contact_method") == "phone" and "phone" not in problems \
            and not clean.get("phone"):
        problems["phone"] = "is required when the preferred contact method is phone"
    return clean, problems


def _started_at(value: Any, now: dt.datetime) -> dt.datetime | str:
    if not isinstance(value, str) or not value.strip():
        return "is required (a date and time)"
    try:
        moment = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        return "must be a date and time like 2026-11-26T08:30"
    if moment.tzinfo is None:
        moment = moment.astimezone()
    moment = moment.astimezone(dt.UTC)
    if moment > now + CLOCK_SKEW:
        return "must not be in the future"
    return moment


@dataclass(frozen=True)
class Ticket:
    """A filed ticket: what was asked, its package job and, once made, its bundle.

    ``state`` is ``waiting`` (for its package), ``ready``, ``failed`` or ``removed`` (the bundle
    was pruned).
    """

    id: str
    created_at: float
    created_by: str
    details: dict
    package_job: str | None
    state: str
    bundle: str | None
    bundle_size: int | None
    bundle_sha256: str | None
    error: str | None
    uploaded_at: float | None
    uploaded_by: str | None
    upload_answer: str | None
    path: Path | None
    upload: Upload | None = None

    @property
    def ready(self) -> bool:
        return self.state == "ready" and self.path is not None

    @property
    def busy(self) -> bool:
        """Its package is being made or its bundle is being sent: pages keep polling."""
        return self.state == "waiting" or (self.upload is not None and self.upload.active)

    @property
    def started_timestamp(self) -> float:
        """When the problem started, as a time stamp for the page's clock."""
        return dt.datetime.fromisoformat(self.details["started_at"]).timestamp()

    def to_dict(self) -> dict[str, Any]:
        """The API shape: the fields, the state and the bundle."""
        bundle = None
        if self.ready:
            bundle = {"filename": self.bundle, "size": self.bundle_size,
                      "sha256": self.bundle_sha256}
        return {"id": self.id, "state": self.state, "created_at": service.iso(self.created_at),
                "created_by": self.created_by, **self.details, "package_id": self.package_job,
                "bundle": bundle, "error": self.error,
                "uploaded_at": service.iso(self.uploaded_at), "uploaded_by": self.uploaded_by,
                "upload": self.upload.to_dict() if self.upload is not None else None}


def ticket_dir(app: Flask) -> Path:
    """Where the device keeps ticket bundles."""
    return Path(app.config["INSTANCE"]) / TICKET_DIR


_SELECT = ("SELECT t.*, j.state AS job_state, j.error AS job_error FROM support_tickets t "
           "LEFT JOIN jobs j ON j.id = t.package_job")


def _ticket(row: sqlite3.Row, directory: Path) -> Ticket:
    state, error = row["state"], row["error"]
    # A ticket waits on its package job; when that job ends without a package, so does the ticket.
    if state == "waiting" and row["package_job"] and row["job_state"] != "succeeded" \
            and row["job_state"] not in ("queued", "running"):
        state = "failed"
        error = ("The support package for this ticket was not made: "
                 + (row["job_error"] or row["job_state"] or "it was deleted"))
    path = service.file_in(directory, row["bundle"]) if state == "ready" else None
    if state == "ready" and path is None:
        state, error = "removed", ("The bundle is no longer on the device: only the newest "
                                   "bundles are kept.")
    return Ticket(row["id"], row["created_at"], row["created_by"], json.loads(row["details"]),
                  row["package_job"], state, row["bundle"], row["bundle_size"],
                  row["bundle_sha256"], error, row["uploaded_at"], row["uploaded_by"],
                  row["upload_answer"], path)


def get(conn: sqlite3.Connection, directory: Path, ticket_id: str) -> Ticket | None:
    """The ticket with this id, or None (also for malformed ids)."""
    if not _TICKET_ID.match(ticket_id):
        return None
    row = conn.execute(f"{_SELECT} WHERE t.id = ?", (ticket_id,)).fetchone()
    if row is None:
        return None
    return dataclasses.replace(_ticket(row, directory), upload=latest_upload(conn, ticket_id))


def recent(conn: sqlite3.Connection, directory: Path, limit: int = 20) -> list[Ticket]:
    """The newest tickets first."""
    rows = conn.execute(f"{_SELECT} ORDER BY t.created_at DESC LIMIT ?", (limit,)).fetchall()
    return [_ticket(row, directory) for row in rows]


class TicketError(Exception):
    """The ticket's bundle could not be made; the message says why."""


def create(app: Flask, conn: sqlite3.Connection, details: dict[str, str], created_by: str,
           package: service.Package | None) -> Ticket:
    """File a ticket. With a ready ``package`` the bundle is made now; without one a new
    package job starts and bundles the ticket when it is done.

    Raises ``InsufficientSpace`` or ``JobConflict`` when a new package cannot start, and
    :class:`TicketError` when the bundle cannot be written.
    """
    if package is None:
        service.ensure_space(app)  # refused before anything is written
    ticket_id = secrets.token_hex(8)
    conn.execute("INSERT INTO support_tickets(id, created_at, created_by, details, state) "
                 "VALUES (?, ?, ?, ?, 'waiting')",
                 (ticket_id, db.now(), created_by, json.dumps(details)))
    if package is not None:
        conn.execute("UPDATE support_tickets SET package_job = ? WHERE id = ?",
                     (package.id, ticket_id))
        try:
            _bundle(app, conn, ticket_id, package.path, package.sha256, package.options)
        except (OSError, zipfile.BadZipFile) as exc:
            _fail(conn, ticket_id, f"The ticket bundle could not be written: {exc}")
            raise TicketError(f"The ticket bundle could not be written: {exc}") from exc
    else:
        options = service.parse_options()
        try:
            job_id = service.start(app, options, created_by,
                                   then=lambda info: _bundle_in_job(app, ticket_id, info,
                                                                    service.options_dict(options)),
                                   params={"ticket_id": ticket_id})
        except Exception:
            conn.execute("DELETE FROM support_tickets WHERE id = ?", (ticket_id,))
            raise
        conn.execute("UPDATE support_tickets SET package_job = ? WHERE id = ?",
                     (job_id, ticket_id))
    return get(conn, ticket_dir(app), ticket_id)


def _bundle_in_job(app: Flask, ticket_id: str, info: Any, options: dict) -> dict:
    conn = db.connect(db.path_for(app))
    try:
        name = _bundle(app, conn, ticket_id, info.path, info.sha256, options)
    finally:
        conn.close()
    return {"ticket_id": ticket_id, "ticket_bundle": name}


def _fail(conn: sqlite3.Connection, ticket_id: str, error: str) -> None:
    conn.execute("UPDATE support_tickets SET state = 'failed', error = ? WHERE id = ?",
                 (error, ticket_id))


def _bundle(app: Flask, conn: sqlite3.Connection, ticket_id: str, package_path: Path,
            package_sha256: str | None, package_options: dict) -> str:
    row = conn.execute("SELECT * FROM support_tickets WHERE id = ?", (ticket_id,)).fetchone()
    run = service.latest_diagnostic_run(conn)
    directory = ticket_dir(app)
    directory.mkdir(parents=True, exist_ok=True)
    when = dt.datetime.now(dt.UTC)
    name = _free_name(directory, package_filename(app.config["DEVICE_NAME"], when,
                                                  PREFIX).removesuffix(".zip"))
    document = {
        "format": 1, "ticket_id": ticket_id, "device": app.config["DEVICE_NAME"],
        "software_version": app.config["VERSION"], "created_at": service.iso(row["created_at"]),
        "created_by": row["created_by"], **json.loads(row["details"]),
        "connectivity_mode": _mode(conn),
        "support_package": {"filename": package_path.name, "sha256": package_sha256,
                            "options": package_options},
        "diagnostic_run": {"id": run["id"], "finished_at": run["finished_at"]} if run else None,
    }
    members = {"ticket.json": json.dumps(document, indent=1).encode() + b"\n"}
    if run:
        members["diagnostic-run.json"] = json.dumps(run, indent=1).encode() + b"\n"
    partial = directory / (name + PARTIAL)
    sums = [f"{hashlib.sha256(data).hexdigest()}  {member}"
            for member, data in members.items()]
    sums.append(f"{package_sha256 or file_sha256(package_path)}  {package_path.name}")
    try:
        with open(partial, "xb") as f:
            with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
                for member, data in members.items():
                    bundle.writestr(member, data)
                # The package is a zip already: stored, not compressed twice.
                bundle.write(package_path, package_path.name, compress_type=zipfile.ZIP_STORED)
                bundle.writestr("SHA256SUMS", "\n".join(sums) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(partial, directory / name)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    final = directory / name
    conn.execute("UPDATE support_tickets SET state = 'ready', bundle = ?, bundle_size = ?, "
                 "bundle_sha256 = ?, error = NULL WHERE id = ?",
                 (name, final.stat().st_size, file_sha256(final), ticket_id))
    _prune(directory, app.config["SUPPORT_KEEP"], name)
    return name


def withdraw_bundle(app: Flask, ticket_id: str) -> None:
    """The ticket's package was cancelled after its bundle was made: remove the bundle."""
    conn = db.connect(db.path_for(app))
    try:
        row = conn.execute("SELECT bundle FROM support_tickets WHERE id = ?",
                           (ticket_id,)).fetchone()
        if row is not None and row["bundle"]:
            (ticket_dir(app) / row["bundle"]).unlink(missing_ok=True)
        _fail(conn, ticket_id, "The support package for this ticket was cancelled.")
    finally:
        conn.close()


def _prune(directory: Path, keep: int, made: str) -> None:
    """Keep the newest ``keep`` bundles (each holds a whole package, so they add up), never
    the one just made; dated by their files, as same-second names do not sort by time."""
    bundles = sorted(directory.glob(f"{PREFIX}*.zip"), key=lambda p: p.stat().st_mtime,
                     reverse=True)
    for path in bundles[keep:]:
        if path.name != made:
            path.unlink(missing_ok=True)


def _free_name(directory: Path, stem: str) -> str:
    """``<stem>.zip``, or ``<stem>-2.zip`` … when two tickets share a second."""
    name, number = f"{stem}.zip", 1
    while (directory / name).exists() or (directory / (name + PARTIAL)).exists():
        number += 1
        name = f"{stem}-{number}.zip"
    return name


def _mode(conn: sqlite3.Connection) -> str:
    from webui.connectivity import current_mode

    return current_mode(conn)


def clean_leftovers(app: Flask) -> None:
    """Remove bundles a crash left half-written."""
    directory = ticket_dir(app)
    if directory.is_dir():
        for path in directory.glob(f"{PREFIX}*{PARTIAL}"):
            path.unlink(missing_ok=True)


class UploadBlocked(Exception):
    """The connectivity mode does not allow the upload; the message says why."""


class SizeNotConfirmed(Exception):
    """The mode asks the admin to confirm the upload's size first; the message says so."""

    def __init__(self, message: str, size: int):
        super().__init__(message)
        self.size = size


def start_upload(app: Flask, conn: sqlite3.Connection, ticket: Ticket, actor: str,
                 size_confirmed: bool) -> str:
    """Queue the upload of the ticket's bundle when the connectivity mode allows it (SPEC F5);
    answers the upload job's id. The job's outcome is audited.

    Raises :class:`UploadBlocked`, :class:`SizeNotConfirmed`, ``upload.UploadError`` (no usable
    endpoint) or ``JobConflict`` (another upload is running).
    """
    from webui.connectivity import allows, current_mode

    allowance = allows("support_upload", current_mode(conn))
    if not allowance:
        audit.record("support_ticket_upload", ticket.id, "refused", allowance.reason, conn=conn)
        raise UploadBlocked(allowance.reason)
    if allowance.warn and not size_confirmed:
        raise SizeNotConfirmed(f"{allowance.reason} The bundle is "
                               f"{ticket.bundle_size / 2**20:.1f} MiB "
                               f"({ticket.bundle_size:,} bytes): confirm to send it.",
                               ticket.bundle_size)
    upload.check_endpoint(app.config["SUPPORT_UPLOAD_URL"], app.config["SUPPORT_UPLOAD_CA"])
    return jobs.runner().submit(UPLOAD_KIND, lambda ctx: _send(app, ticket.id, actor),
                                {"ticket_id": ticket.id}, created_by=actor, exclusive=True)


def _send(app: Flask, ticket_id: str, actor: str) -> dict:
    with app.app_context():
        conn = db.get_db()
        ticket = get(conn, ticket_dir(app), ticket_id)
        try:
            if ticket is None or not ticket.ready:
                raise upload.UploadError("The ticket's bundle is no longer on the device.")
            receipt = upload.upload_bundle(ticket.path, app.config["SUPPORT_UPLOAD_URL"],
                                           ca_file=app.config["SUPPORT_UPLOAD_CA"],
                                           ticket_id=ticket_id, device=app.config["DEVICE_NAME"])
        except upload.UploadError as exc:
            audit.record("support_ticket_upload", ticket_id, "failure", str(exc), actor=actor)
            raise
        conn.execute("UPDATE support_tickets SET uploaded_at = ?, uploaded_by = ?, "
                     "upload_answer = ? WHERE id = ?",
                     (db.now(), actor, receipt.answer, ticket_id))
        audit.record("support_ticket_upload", ticket_id,
                     detail={"file": ticket.bundle, "status": receipt.status}, actor=actor)
        return {"status": receipt.status, "answer": receipt.answer}


@dataclass(frozen=True)
class Upload:
    """The latest upload job of a ticket."""

    id: str
    state: str
    error: str | None
    created_at: float
    finished_at: float | None

    @property
    def active(self) -> bool:
        return self.state in jobs.ACTIVE_STATES

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "state": self.state, "error": self.error,
                "created_at": service.iso(self.created_at),
                "finished_at": service.iso(self.finished_at)}


def latest_upload(conn: sqlite3.Connection, ticket_id: str) -> Upload | None:
    """The ticket's most recent upload job, or None when it was never sent."""
    row = conn.execute("SELECT * FROM jobs WHERE kind = ? AND json_extract(params, "
                       "'$.ticket_id') = ? ORDER BY created_at DESC LIMIT 1",
                       (UPLOAD_KIND, ticket_id)).fetchone()
    if row is None:
        return None
    return Upload(row["id"], row["state"], row["error"], row["created_at"], row["finished_at"])


def copy_to_usb(conn: sqlite3.Connection, ticket: Ticket, drive: usb.UsbDrive) -> Path:
    """Copy the ticket's bundle and its checksum file onto ``drive``, audited.

    Raises ``usb.UsbError`` (``usb.DriveFull`` when it does not fit).
    """
    try:
        copy = usb.copy_to_drive(ticket.path, drive, ticket.bundle_sha256)
    except usb.UsbError as exc:
        audit.record("support_ticket_usb_copy", ticket.id, "failure", str(exc), conn=conn)
        raise
    audit.record("support_ticket_usb_copy", ticket.id,
                 detail={"file": ticket.bundle, "drive": drive.device, "path": str(copy)},
                 conn=conn)
    return copy
