"""Support tickets (SPEC F8): the form's rules, the ticket record and its bundle.

A bundle is ``supportticket-<device>-<UTC stamp>.zip`` in ``<instance>/support-tickets`` holding
``ticket.json``, the support package, the latest succeeded diagnostic run and ``SHA256SUMS``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import re
import secrets
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from diagnostics.collect import InsufficientSpace, PackageError
from diagnostics.collect.archive import PackageWriter, file_sha256, package_filename
from diagnostics.readers.drives import RemovableDrive
from webui import audit, db, jobs
from webui.formats import is_hex_id, iso
from webui.support import packages, upload, usb
from webui.support.packages import Settings

TICKET_DIR = "support-tickets"
UPLOAD_KIND = "support_upload"
USB_KIND = "support_usb_copy"
# Said (and audited) when a ticket needs a new package while another one is being made.
PACKAGE_BUSY = ("A support package is already being made. Wait for it to finish, then choose "
                "it for this ticket.")
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
STATES = ("waiting", "ready", "failed", "removed")
# Exactly what str.strip() removes, spelt out: regex engines disagree on what \s means.
SPACE = r"\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# Text that is not only white space: what a required field needs.
NOT_BLANK = f"[^{SPACE}]"
# The e-mail and phone rules hold for the value as sent: white space around it is dropped.
EMAIL_PATTERN = f"^[{SPACE}]*[^@{SPACE}]+@[^@{SPACE}]+\\.[^@.{SPACE}]+[{SPACE}]*$"
PHONE_PATTERN = f"^[{SPACE}]*(?:\\+?[0-9 ()-]*[0-9()-])?[{SPACE}]*$"
IN_FUTURE = "must not be in the future"
_EMAIL = re.compile(EMAIL_PATTERN)
_PHONE = re.compile(PHONE_PATTERN)


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
            # Labels as people read them; the value sent, where the label does not show it.
            problems[field] = "must be one of " + "; ".join(
                label if label.lower().startswith(value.lower()) else f"{label} ({value})"
                for value, label in choices.items())
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
    try:
        # Without an offset it is the device's local time.
        moment = (moment if moment.tzinfo else moment.astimezone()).astimezone(dt.UTC)
    except OverflowError:
        # Beyond the calendar's ends in UTC: the last hours of 9999 or before the year 1.
        if moment.year == dt.MAXYEAR:
            return IN_FUTURE
        return dt.datetime.min.replace(tzinfo=dt.UTC)
    if moment > now + CLOCK_SKEW:
        return IN_FUTURE
    return moment


@dataclass(frozen=True)
class TicketJob:
    """The latest job sending a ticket's bundle somewhere (to support, onto a USB drive)."""

    id: str
    state: str
    error: str | None
    created_at: float
    finished_at: float | None
    params: dict
    result: dict | None

    @property
    def active(self) -> bool:
        return self.state in jobs.ACTIVE_STATES

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "state": self.state, "error": self.error,
                "created_at": iso(self.created_at), "finished_at": iso(self.finished_at)}


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
    upload: TicketJob | None = None
    usb_copy: TicketJob | None = None

    @property
    def ready(self) -> bool:
        return self.state == "ready" and self.path is not None

    @property
    def busy(self) -> bool:
        """Its package is being made or its bundle is being sent: pages keep polling."""
        return self.state == "waiting" or any(
            job is not None and job.active for job in (self.upload, self.usb_copy))

    @property
    def started_timestamp(self) -> float:
        """When the problem started, as a time stamp for the page's clock."""
        return dt.datetime.fromisoformat(self.details["started_at"]).timestamp()

    def to_dict(self) -> dict[str, Any]:
        """The API shape: the fields, the state, the bundle and where it was sent."""
        bundle = None
        if self.ready:
            bundle = {"filename": self.bundle, "size": self.bundle_size,
                      "sha256": self.bundle_sha256}
        usb_copy = None
        if self.usb_copy is not None:
            copied = self.usb_copy.result or {}
            usb_copy = {**self.usb_copy.to_dict(),
                        "mount_point": self.usb_copy.params.get("mount_point"),
                        "path": copied.get("path"), "checksum_path": copied.get("checksum_path")}
        return {"id": self.id, "state": self.state, "created_at": iso(self.created_at),
                "created_by": self.created_by, **self.details, "package_id": self.package_job,
                "bundle": bundle, "error": self.error,
                "uploaded_at": iso(self.uploaded_at), "uploaded_by": self.uploaded_by,
                "upload": self.upload.to_dict() if self.upload is not None else None,
                "usb_copy": usb_copy}


def ticket_dir(settings: Settings) -> Path:
    """Where the device keeps ticket bundles."""
    return settings.instance / TICKET_DIR


def _ticket(conn: sqlite3.Connection, row: sqlite3.Row, directory: Path,
            package_jobs: dict[str, sqlite3.Row] | None = None) -> Ticket:
    """The ticket of ``row``; its package job is looked up, or taken from ``package_jobs``
    (by id) when the caller read the jobs of many tickets at once."""
    state, error = row["state"], row["error"]
    job = None
    if row["package_job"]:
        job = (jobs.get_job(conn, row["package_job"]) if package_jobs is None
               else package_jobs.get(row["package_job"]))
    job_state = job["state"] if job is not None else None
    # A ticket waits on its package job; when that job ends without a package, so does the ticket.
    if state == "waiting" and row["package_job"] and job_state != "succeeded" \
            and job_state not in jobs.ACTIVE_STATES:
        state = "failed"
        error = ("The support package for this ticket was not made: "
                 + ((job["error"] if job is not None else None) or job_state
                    or "it was deleted"))
    path = packages.file_in(directory, row["bundle"]) if state == "ready" else None
    if state == "ready" and path is None:
        state, error = "removed", ("The bundle is no longer on the device: only the newest "
                                   "bundles are kept.")
    return Ticket(row["id"], row["created_at"], row["created_by"], json.loads(row["details"]),
                  row["package_job"], state, row["bundle"], row["bundle_size"],
                  row["bundle_sha256"], error, row["uploaded_at"], row["uploaded_by"],
                  row["upload_answer"], path)


def get(conn: sqlite3.Connection, directory: Path, ticket_id: str) -> Ticket | None:
    """The ticket with this id, or None (also for malformed ids)."""
    if not is_hex_id(ticket_id):
        return None
    row = conn.execute("SELECT * FROM support_tickets WHERE id = ?", (ticket_id,)).fetchone()
    if row is None:
        return None
    return dataclasses.replace(_ticket(conn, row, directory),
                               upload=latest_job(conn, UPLOAD_KIND, ticket_id),
                               usb_copy=latest_job(conn, USB_KIND, ticket_id))


def recent(conn: sqlite3.Connection, directory: Path, limit: int = 20,
           offset: int = 0) -> list[Ticket]:
    """The newest tickets first, from ``offset`` on."""
    rows = conn.execute("SELECT * FROM support_tickets ORDER BY created_at DESC, rowid DESC "
                        "LIMIT ? OFFSET ?", (limit, offset)).fetchall()
    # The package jobs of the whole page in one query, not one query a ticket.
    wanted = sorted({row["package_job"] for row in rows if row["package_job"]})
    package_jobs = {job["id"]: job for job in conn.execute(
        f"SELECT * FROM jobs WHERE id IN ({', '.join('?' * len(wanted))})", wanted)}
    return [_ticket(conn, row, directory, package_jobs) for row in rows]


def count(conn: sqlite3.Connection) -> int:
    """How many tickets were filed."""
    return conn.execute("SELECT COUNT(*) FROM support_tickets").fetchone()[0]


def latest_job(conn: sqlite3.Connection, kind: str, ticket_id: str) -> TicketJob | None:
    """The ticket's most recent job of ``kind``, or None when there was none."""
    row = jobs.latest(conn, kind, subject=ticket_id)
    if row is None:
        return None
    job = jobs.job_to_dict(row)
    return TicketJob(job["id"], job["state"], job["error"], job["created_at"],
                     job["finished_at"], job["params"], job["result"])


class TicketError(Exception):
    """The ticket's bundle could not be made; the message says why."""


def create(runner: jobs.JobRunner, settings: Settings, conn: sqlite3.Connection,
           details: dict[str, str], actor: audit.Actor,
           package: packages.Package | None) -> Ticket:
    """File a ticket, audited. With a ready ``package`` the bundle is made now; without one a
    new package job starts and bundles the ticket when it is done.

    Raises ``InsufficientSpace`` or ``JobConflict`` when a new package cannot start (audited as
    refused), and :class:`TicketError` when the bundle cannot be written.
    """
    if package is None:
        # Refused before anything is written.
        packages.ensure_space(settings, conn, actor, "support_ticket_create")
    ticket_id = secrets.token_hex(8)
    conn.execute("INSERT INTO support_tickets(id, created_at, created_by, details, state) "
                 "VALUES (?, ?, ?, ?, 'waiting')",
                 (ticket_id, db.now(), actor.name, json.dumps(details)))
    if package is not None:
        conn.execute("UPDATE support_tickets SET package_job = ? WHERE id = ?",
                     (package.id, ticket_id))
        try:
            _bundle(settings, conn, ticket_id, package.path, package.sha256, package.options)
        except (OSError, PackageError) as exc:
            reason = str(exc) if isinstance(exc, PackageError) else \
                f"The ticket bundle could not be written: {exc}"
            _fail(conn, ticket_id, reason)
            audit.record(conn, actor, "support_ticket_create", None, "failure", reason)
            raise TicketError(reason) from exc
    else:
        _start_package(runner, settings, conn, ticket_id, actor)
    ticket = get(conn, ticket_dir(settings), ticket_id)
    audit.record(conn, actor, "support_ticket_create", ticket.id,
                 detail={"summary": ticket.details["summary"], "package": ticket.package_job})
    return ticket


def _start_package(runner: jobs.JobRunner, settings: Settings, conn: sqlite3.Connection,
                   ticket_id: str, actor: audit.Actor) -> None:
    options = packages.parse_options()
    then = packages.Then(
        made=lambda info: _bundle_in_job(settings, ticket_id, info,
                                         packages.options_dict(options)),
        undo=lambda: withdraw_bundle(settings, ticket_id))
    try:
        job_id = packages.start(runner, settings, conn, options, actor, then=then,
                                params={"ticket_id": ticket_id})
    except jobs.JobConflict:
        conn.execute("DELETE FROM support_tickets WHERE id = ?", (ticket_id,))
        packages.record_refusal(conn, actor, "support_ticket_create", PACKAGE_BUSY)
        raise
    except InsufficientSpace:
        conn.execute("DELETE FROM support_tickets WHERE id = ?", (ticket_id,))
        raise
    conn.execute("UPDATE support_tickets SET package_job = ? WHERE id = ?", (job_id, ticket_id))


def _bundle_in_job(settings: Settings, ticket_id: str, info: Any, options: dict) -> dict:
    conn = db.connect(settings.db_path)
    try:
        name = _bundle(settings, conn, ticket_id, info.path, info.sha256, options)
    finally:
        conn.close()
    return {"ticket_id": ticket_id, "ticket_bundle": name}


def _fail(conn: sqlite3.Connection, ticket_id: str, error: str) -> None:
    conn.execute("UPDATE support_tickets SET state = 'failed', error = ? WHERE id = ?",
                 (error, ticket_id))


def _bundle(settings: Settings, conn: sqlite3.Connection, ticket_id: str, package_path: Path,
            package_sha256: str | None, package_options: dict) -> str:
    row = conn.execute("SELECT * FROM support_tickets WHERE id = ?", (ticket_id,)).fetchone()
    run = packages.latest_diagnostic_run(conn)
    directory = ticket_dir(settings)
    directory.mkdir(parents=True, exist_ok=True)
    when = dt.datetime.now(dt.UTC)
    name = _free_name(directory, package_filename(settings.device_name, when,
                                                  PREFIX).removesuffix(".zip"))
    document = {
        "format": 1, "ticket_id": ticket_id, "device": settings.device_name,
        "software_version": settings.version, "created_at": iso(row["created_at"]),
        "created_by": row["created_by"], **json.loads(row["details"]),
        "connectivity_mode": _mode(conn),
        "support_package": {"filename": package_path.name,
                            "sha256": package_sha256, "options": package_options},
        "diagnostic_run": {"id": run["id"], "finished_at": run["finished_at"]} if run else None,
    }
    members = {"ticket.json": json.dumps(document, indent=1).encode() + b"\n"}
    if run:
        members["diagnostic-run.json"] = json.dumps(run, indent=1).encode() + b"\n"
    partial = directory / (name + PARTIAL)
    _write_bundle(partial, members, package_path)
    os.replace(partial, directory / name)
    final = directory / name
    conn.execute("UPDATE support_tickets SET state = 'ready', bundle = ?, bundle_size = ?, "
                 "bundle_sha256 = ?, error = NULL WHERE id = ?",
                 (name, final.stat().st_size, file_sha256(final), ticket_id))
    _prune(directory, settings.keep, name)
    return name


def _write_bundle(partial: Path, members: dict[str, bytes], package_path: Path) -> None:
    """The bundle's zip: ``members``, the package stored as it is (a zip already, not
    compressed twice) and ``SHA256SUMS`` of them all. Raises ``PackageError``."""
    writer = PackageWriter(partial, "the ticket bundle")
    try:
        sums = []
        for member, data in members.items():
            _size, sha256, _failure = writer.add(member, [data])
            sums.append(f"{sha256}  {member}")
        _size, sha256, failure = writer.add(package_path.name, _chunks(package_path),
                                            compress=False)
        if failure is not None:
            raise PackageError(f"The ticket bundle could not be written: {failure}")
        sums.append(f"{sha256}  {package_path.name}")
        writer.add("SHA256SUMS", [("\n".join(sums) + "\n").encode()])
        writer.close()
    except BaseException:
        writer.abandon()
        raise


def _chunks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            yield chunk


def withdraw_bundle(settings: Settings, ticket_id: str) -> None:
    """The ticket's package was cancelled after its bundle was made: remove the bundle."""
    conn = db.connect(settings.db_path)
    try:
        row = conn.execute("SELECT bundle FROM support_tickets WHERE id = ?",
                           (ticket_id,)).fetchone()
        if row is not None and row["bundle"]:
            (ticket_dir(settings) / row["bundle"]).unlink(missing_ok=True)
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
    from webui.connectivity.state import current_mode

    return current_mode(conn)


def clean_leftovers(settings: Settings) -> None:
    """Remove bundles a crash left half-written."""
    directory = ticket_dir(settings)
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


def start_upload(runner: jobs.JobRunner, settings: Settings, conn: sqlite3.Connection,
                 ticket: Ticket, actor: audit.Actor, size_confirmed: bool) -> str:
    """Queue the upload of the ticket's bundle when the connectivity mode allows it (SPEC F5);
    answers the upload job's id. The job's outcome is audited.

    Raises :class:`UploadBlocked`, :class:`SizeNotConfirmed`, ``upload.UploadError`` (no usable
    endpoint) or ``JobConflict`` (another upload is running).
    """
    from webui.connectivity.policy import allows
    from webui.connectivity.state import current_mode

    allowance = allows("support_upload", current_mode(conn))
    if not allowance:
        audit.record(conn, actor, "support_ticket_upload", ticket.id, "refused",
                     allowance.reason)
        raise UploadBlocked(allowance.reason)
    if allowance.warn and not size_confirmed:
        raise SizeNotConfirmed(f"{allowance.reason} The bundle is "
                               f"{ticket.bundle_size / 2**20:.1f} MiB "
                               f"({ticket.bundle_size:,} bytes): confirm to send it.",
                               ticket.bundle_size)
    upload.check_endpoint(settings.upload_url, settings.upload_ca)
    return runner.submit(UPLOAD_KIND, lambda ctx: _send(settings, ticket.id, actor),
                         {"ticket_id": ticket.id}, created_by=actor.name, exclusive=True,
                         subject=ticket.id)


def _on_bundle(settings: Settings, ticket_id: str, actor: audit.Actor, action: str,
               error: type[Exception], work: Callable[[sqlite3.Connection, Ticket], dict]
               ) -> dict:
    """Run ``work`` on the ticket's bundle inside a job; a failure (``error``) is audited."""
    conn = db.connect(settings.db_path)
    try:
        ticket = get(conn, ticket_dir(settings), ticket_id)
        try:
            if ticket is None or not ticket.ready:
                raise error("The ticket's bundle is no longer on the device.")
            return work(conn, ticket)
        except error as exc:
            audit.record(conn, actor, action, ticket_id, "failure", str(exc))
            raise
    finally:
        conn.close()


def _send(settings: Settings, ticket_id: str, actor: audit.Actor) -> dict:
    def send(conn: sqlite3.Connection, ticket: Ticket) -> dict:
        receipt = upload.upload_bundle(ticket.path, settings.upload_url,
                                       ca_file=settings.upload_ca, ticket_id=ticket_id,
                                       device=settings.device_name, proxy=settings.proxy)
        conn.execute("UPDATE support_tickets SET uploaded_at = ?, uploaded_by = ?, "
                     "upload_answer = ? WHERE id = ?",
                     (db.now(), actor.name, receipt.answer, ticket_id))
        audit.record(conn, actor, "support_ticket_upload", ticket_id,
                     detail={"file": ticket.bundle, "status": receipt.status})
        return {"status": receipt.status, "answer": receipt.answer}
    return _on_bundle(settings, ticket_id, actor, "support_ticket_upload", upload.UploadError,
                      send)


def start_usb_copy(runner: jobs.JobRunner, settings: Settings, conn: sqlite3.Connection,
                   ticket: Ticket, drive: RemovableDrive, actor: audit.Actor) -> str:
    """Queue the copy of the ticket's bundle and its checksum file onto ``drive``; answers the
    copy job's id. The outcome is audited.

    Raises ``usb.DriveFull`` at once when the bundle cannot fit (audited), ``JobConflict``
    while another copy runs.
    """
    try:
        usb.check_room(ticket.path, drive)
    except usb.UsbError as exc:
        audit.record(conn, actor, "support_ticket_usb_copy", ticket.id, "failure", str(exc))
        raise
    params = {"ticket_id": ticket.id, "device": drive.device, "mount_point": drive.mount_point,
              "label": drive.label}
    return runner.submit(USB_KIND, lambda ctx: _copy(settings, ticket.id, drive, actor), params,
                         created_by=actor.name, exclusive=True, subject=ticket.id)


def _copy(settings: Settings, ticket_id: str, drive: RemovableDrive, actor: audit.Actor) -> dict:
    def copy(conn: sqlite3.Connection, ticket: Ticket) -> dict:
        path = usb.copy_to_drive(ticket.path, drive, ticket.bundle_sha256)
        audit.record(conn, actor, "support_ticket_usb_copy", ticket_id,
                     detail={"file": ticket.bundle, "drive": drive.device, "path": str(path)})
        return {"path": str(path), "checksum_path": f"{path}.sha256"}
    return _on_bundle(settings, ticket_id, actor, "support_ticket_usb_copy", usb.UsbError, copy)
