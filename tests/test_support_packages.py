"""Support packages on the web under stress: same-second names, odd file names, cancel at any
moment, obfuscated user names, a full disk, and file names in headers."""

from __future__ import annotations

import csv
import io
import json
import os
import random
import re
import shutil
import sqlite3
import threading
import zipfile
from pathlib import Path

import pytest

from diagnostics.collect import CollectContext, ExtraItem
from diagnostics.collect import package as package_module
from webui import audit, db
from webui.downloads import content_disposition
from webui.support import packages, tickets

from copylog_fixtures import FIXTURES, SERVICE_LOG
from support_helpers import (
    API,
    PAGE,
    VALID,
    DiskUsage,
    SlowProducer,
    audit_actions,
    download,
    finished,
    make_package,
    package_files,
    support_settings,
    ticket_dir,
)

TICKETS = "/api/v1/support/tickets"


def zip_of(client, path: str) -> zipfile.ZipFile:
    response, data = download(client, path)
    assert response.status_code == 200, response.get_data(as_text=True)
    return zipfile.ZipFile(io.BytesIO(data))


@pytest.mark.usefixtures("frozen_clock")
def test_packages_of_one_second_stay_downloadable_and_the_newest_are_kept(app, client, auth):
    auth.sign_in()
    keep = app.config["SUPPORT_KEEP"]
    made = []
    for _ in range(15):
        package = make_package(auth, ["audit"])
        assert package["state"] == "succeeded", package["error"]
        assert zip_of(client, f"{API}/{package['id']}/download").read("manifest.json")
        made.append(package["id"])
    listed = [p["id"] for p in client.get(API).get_json()["items"]]
    assert listed == made[::-1][:keep]
    assert len(package_files(app)) == keep

    response = auth.api("POST", TICKETS, VALID)
    assert response.status_code == 202
    ticket = finished(client, response.headers["Location"], waiting=("waiting",))
    assert ticket["state"] == "ready", ticket["error"]
    package = finished(client, f"{API}/{ticket['package_id']}")
    assert package["state"] == "succeeded"
    bundle = zip_of(client, f"{TICKETS}/{ticket['id']}/download")
    assert package["filename"] in bundle.namelist()
    listed = [p["id"] for p in client.get(API).get_json()["items"]]
    assert listed == [package["id"], *made[::-1][:keep - 1]]


def test_a_package_a_ticket_is_bundling_is_not_pruned(app, client, auth, monkeypatch):
    app.config["SUPPORT_KEEP"] = 1
    auth.sign_in()
    chosen = make_package(auth, ["audit"])
    bundling, go_on = threading.Event(), threading.Event()
    real_bundle = tickets._bundle

    def slow_bundle(*args):
        bundling.set()
        assert go_on.wait(60)
        return real_bundle(*args)

    monkeypatch.setattr(tickets, "_bundle", slow_bundle)
    answers = []
    filing = threading.Thread(target=lambda: answers.append(
        auth.api("POST", TICKETS, {**VALID, "package_id": chosen["id"]})))
    filing.start()
    try:
        assert bundling.wait(60)
        with app.app_context():
            newer = packages.console_package(support_settings(app), collectors=["audit"])
    finally:
        go_on.set()
        filing.join(60)
    assert newer.path.exists()
    assert answers[0].status_code == 201, answers[0].get_json()
    bundle = zip_of(client, f"{TICKETS}/{answers[0].get_json()['id']}/download")
    assert chosen["filename"] in bundle.namelist()


def make_bytes_file(directory: Path, name: bytes, content: bytes) -> None:
    fd = os.open(os.fsencode(directory) + b"/" + name, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        os.write(fd, content)
    finally:
        os.close(fd)


def test_a_copy_log_named_with_bytes_that_are_not_text_does_not_break_the_package(
        app, client, auth, tmp_path):
    root = tmp_path / "copylogs"
    (root / "share1").mkdir(parents=True)
    make_bytes_file(root / "share1", b"share\xff.xml", b"<copy>odd name</copy>\n")
    make_bytes_file(root / "share1", b"plain.log", b"plain\n")
    (root / "acct").mkdir()
    make_bytes_file(root / "acct", b"ORD1_SER1_CopyLog_\xff.xml",
                    (FIXTURES / SERVICE_LOG).read_bytes())
    app.config["COPYLOG_ROOTS"] = [str(root)]
    auth.sign_in()
    package = make_package(auth, ["copylogs"])
    assert package["state"] == "succeeded", package["error"]
    archive = zip_of(client, f"{API}/{package['id']}/download")
    assert archive.read("copylogs/1-copylogs/share1/share_.xml") == b"<copy>odd name</copy>\n"
    assert archive.read("copylogs/1-copylogs/share1/plain.log") == b"plain\n"
    # The summaries name the log as people read it: strict UTF-8 JSON, no surrogate escapes.
    summaries = archive.read("copylogs/copylog-summaries.json")
    assert b"\\udc" not in summaries
    paths = [log["path"] for log in json.loads(summaries.decode("utf-8", "strict"))["logs"]]
    assert "acct/ORD1_SER1_CopyLog_\ufffd.xml" in paths


class Gate(SlowProducer):
    """App items of one collector: the first runs until the package is cancelled; the next
    one notes whether it ever ran."""

    def __init__(self):
        super().__init__()
        self.next_ran = threading.Event()

    def second(self):
        self.next_ran.set()
        yield b"after the cancel\n"


@pytest.fixture
def gate(monkeypatch):
    gate = Gate()
    monkeypatch.setattr(packages, "collect_context", lambda app: CollectContext(
        extra_items={"audit": [ExtraItem("first.txt", gate),
                               ExtraItem("second.txt", gate.second)]}))
    yield gate
    gate.stop.set()


def wait_for_audit(app, entry) -> None:
    for _ in range(1200):
        if entry in audit_actions(app):
            return
        threading.Event().wait(0.05)
    raise AssertionError(f"{entry} never audited")


def test_api_cancel_stops_inside_the_collector_and_the_page_says_cancelled(app, client, auth,
                                                                          gate):
    auth.sign_in()
    created = auth.api("POST", API, {"collectors": ["audit"]})
    package_url = created.headers["Location"]
    assert gate.started.wait(30)
    response = auth.api("POST", f"{package_url}/cancel")
    assert response.status_code == 200 and response.get_json()["state"] == "cancelled"
    wait_for_audit(app, ("support_package_create", "cancelled"))
    assert not gate.next_ran.is_set()
    assert package_files(app) == []
    assert ("support_package_cancel", "success") in audit_actions(app)
    assert client.get(package_url).get_json()["state"] == "cancelled"
    page = client.get(PAGE).get_data(as_text=True)
    assert "Making a support package" not in page and "Cancelled" in page
    assert auth.api("POST", f"{package_url}/cancel").status_code == 409


def cancel_running_package(app) -> None:
    """What an admin's cancel does, at the moment the caller chooses."""
    conn = db.connect(db.path_for(app))
    try:
        row = conn.execute("SELECT id FROM jobs WHERE kind = ? AND state = 'running'",
                           (packages.KIND,)).fetchone()
    finally:
        conn.close()
    assert app.extensions["jobs"].cancel(row["id"])


def test_a_cancel_after_the_last_item_leaves_no_package(app, client, auth, monkeypatch):
    real_manifest = package_module.build_manifest

    def manifest_then_cancel(**fields):
        cancel_running_package(app)
        return real_manifest(**fields)

    monkeypatch.setattr(package_module, "build_manifest", manifest_then_cancel)
    auth.sign_in()
    package_url = auth.api("POST", API, {"collectors": ["audit"]}).headers["Location"]
    wait_for_audit(app, ("support_package_create", "cancelled"))
    assert client.get(package_url).get_json()["state"] == "cancelled"
    assert package_files(app) == []
    assert ("support_package_create", "success") not in audit_actions(app)


def test_a_cancel_while_the_ticket_is_bundled_removes_package_and_bundle(app, client, auth,
                                                                         monkeypatch):
    real_bundle = tickets._bundle_in_job

    def cancelled_while_bundling(*args):
        answer = real_bundle(*args)
        cancel_running_package(app)
        return answer

    monkeypatch.setattr(tickets, "_bundle_in_job", cancelled_while_bundling)
    auth.sign_in()
    response = auth.api("POST", TICKETS, VALID)
    ticket_url = response.headers["Location"]
    wait_for_audit(app, ("support_package_create", "cancelled"))
    ticket = client.get(ticket_url).get_json()
    assert ticket["state"] == "failed" and "cancelled" in ticket["error"]
    assert package_files(app) == []
    assert list(ticket_dir(app).glob("*.zip")) == []


def word(name: str) -> re.Pattern[bytes]:
    return re.compile(rb"(?<![\w.-])" + re.escape(name.encode()) + rb"(?![\w-])", re.I)


def test_obfuscation_leaves_no_user_name_the_instance_knows(app, client, auth):
    auth.sign_in()
    token = auth.api("POST", "/api/v1/tokens", {"name": "grafana-hq"}).get_json()["token"]
    with app.app_context():
        conn = db.get_db()
        conn.execute("INSERT INTO jobs(id, kind, state, progress, result, created_by, "
                     "created_at, finished_at) VALUES ('00000000000000d1', 'diagnostics', "
                     "'succeeded', 1, '{\"results\": []}', 'admin', 1, 2)")
        audit.record(conn, audit.Actor("admin"), "user_remove", "marguerite")
    assert client.get("/api/v1/status",
                      headers={"Authorization": f"Bearer {token}"}).status_code == 200
    log_dir = Path(app.config["LOG_DIR"])
    log_dir.mkdir(parents=True, exist_ok=True)
    (log_dir / "webui.log").write_text("admin signed in; viewer looked; marguerite left\n")

    package = make_package(auth, ["audit", "diagnostic_history", "webui_log"], obfuscate=True)

    assert package["state"] == "succeeded", package["error"]
    archive = zip_of(client, f"{API}/{package['id']}/download")
    everything = b"\n".join([*(archive.read(n) for n in archive.namelist()),
                             *(n.encode() for n in archive.namelist())])
    assert b"user-0001" in archive.read("audit/audit-log.csv")
    for name in ("admin", "viewer", "grafana-hq", "marguerite"):
        assert not word(name).search(everything), name
    assert b",sign_in," in archive.read("audit/audit-log.csv")


@pytest.fixture
def full_disk(monkeypatch):
    """Too little free space for a package, and an audit log that cannot take a row."""
    monkeypatch.setattr(shutil, "disk_usage", lambda path: DiskUsage(10 << 30, 10 << 30, 3 << 20))

    def no_room(*args, **kwargs):
        raise sqlite3.OperationalError("database or disk is full")
    return lambda: monkeypatch.setattr(audit, "record", no_room)


def test_short_space_is_507_even_when_the_refusal_cannot_be_audited(app, client, auth,
                                                                    full_disk):
    auth.sign_in()
    full_disk()
    api = auth.api("POST", API, {"collectors": ["system"]})
    assert api.status_code == 507 and api.mimetype == "application/problem+json"
    assert "3.0 MiB free" in api.get_json()["detail"]
    page = auth.post(PAGE + "packages", {"collectors": ["system"], "since_hours": "24"})
    assert page.status_code == 507 and "3.0 MiB free" in page.get_data(as_text=True)
    ticket = auth.api("POST", TICKETS, VALID)
    assert ticket.status_code == 507 and ticket.mimetype == "application/problem+json"
    form = auth.post(PAGE + "ticket", {**VALID, "started_at": "2026-11-20T22:15",
                                       "package": "new"})
    assert form.status_code == 507 and "3.0 MiB free" in form.get_data(as_text=True)
    assert client.get(TICKETS).get_json()["items"] == []
    assert package_files(app) == []


def test_downloads_name_the_file_with_one_safe_header(app, client, auth):
    auth.sign_in()
    package = make_package(auth, ["audit"])
    for path in (f"{API}/{package['id']}/download",
                 f"{PAGE}packages/{package['id']}/download"):
        response, _ = download(client, path)
        assert response.headers["Content-Disposition"] == content_disposition(
            package["filename"])
    response = auth.api("POST", TICKETS, {**VALID, "package_id": package["id"]})
    ticket = response.get_json()
    for path in (f"{TICKETS}/{ticket['id']}/download",
                 f"{PAGE}tickets/{ticket['id']}/download"):
        response, _ = download(client, path)
        assert response.headers["Content-Disposition"] == content_disposition(
            ticket["bundle"]["filename"])


def test_the_audit_export_of_a_package_streams_every_entry_in_batches(app, client, auth,
                                                                       monkeypatch):
    """More entries than a batch holds, recorded in a jumbled order of time: the package has
    each of them, newest first, and the first batch leaves before the last entry is read."""
    seconds = range(1_700_000_000, 1_700_000_000 + audit.service.CSV_BATCH * 2 + 37)
    with app.app_context():  # one entry a second, recorded in a jumbled order
        db.get_db().executemany(
            "INSERT INTO audit(at, actor, action, target, outcome) VALUES "
            "(?, 'alice', 'power_request', 'target-' || ?, 'success')",
            [(at, at) for at in random.Random(5).sample(seconds, len(seconds))])
    newest_first = [f"target-{at}" for at in reversed(seconds)]
    read: list[str] = []
    entries = audit.service.entries

    def noting(*args, **kwargs):
        for row in entries(*args, **kwargs):
            read.append(row["target"])
            yield row

    monkeypatch.setattr(audit.service, "entries", noting)
    export = packages._audit_export(support_settings(app))
    first = next(export)
    assert 0 < len(read) < len(newest_first)
    chunks = [first, *export]
    assert len(chunks) > 2
    rows = list(csv.DictReader(io.StringIO(b"".join(chunks).decode(), newline="")))
    assert [row["target"] for row in rows] == newest_first

    auth.sign_in()
    package = make_package(auth, ["audit"])
    assert package["state"] == "succeeded", package["error"]
    archive = zip_of(client, f"{API}/{package['id']}/download")
    rows = list(csv.DictReader(io.StringIO(archive.read("audit/audit-log.csv").decode(),
                                           newline="")))
    assert [row["target"] for row in rows if row["target"].startswith("target-")] == newest_first
