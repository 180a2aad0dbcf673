"""Support tickets: the F8 fields, the bundle, upload over real TLS, copy to a USB drive."""

from __future__ import annotations

import datetime as dt
import hashlib
import http.server
import io
import json
import re
import ssl
import sys
import threading
import time
import zipfile
from pathlib import Path

import pytest
import trustme

from diagnostics.readers import drives as drives_reader
from webui import db
from webui.downloads import content_disposition
from webui.support import tickets, upload, usb

from conftest import finished, make_app
from network_peers import ConnectProxy
from support_helpers import VALID, download, file_ticket, make_package, ticket_dir

API = "/api/v1/support/tickets"
PAGE = "/troubleshooting/support/"


def set_mode(app, mode: str) -> None:
    with app.app_context():
        db.put_setting(db.get_db(), "connectivity_mode", mode, "test")


@pytest.mark.parametrize(("change", "field"), [
    ({"summary": ""}, "summary"),
    ({"summary": "   "}, "summary"),
    ({"summary": "x" * 141}, "summary"),
    ({"summary": None}, "summary"),
    ({"problem_type": "furniture"}, "problem_type"),
    ({"problem_type": None}, "problem_type"),
    ({"severity": "D"}, "severity"),
    ({"severity": "a"}, "severity"),
    ({"started_at": "last tuesday"}, "started_at"),
    ({"started_at": ""}, "started_at"),
    ({"started_at": 1700000000}, "started_at"),
    ({"started_at": "2026-11-20T22:15"}, "started_at"),
    ({"started_at": "2026-02-30T22:15:00Z"}, "started_at"),
    ({"description": ""}, "description"),
    ({"description": "x" * 10_001}, "description"),
    ({"contact_name": ""}, "contact_name"),
    ({"email": "ada.example.com"}, "email"),
    ({"email": "ada@example"}, "email"),
    ({"email": ""}, "email"),
    ({"phone": "call me maybe"}, "phone"),
    ({"phone": "", "contact_method": "phone"}, "phone"),
    ({"contact_method": "pigeon"}, "contact_method"),
    ({"package_id": "not-an-id"}, "package_id"),
    ({"package_id": 42}, "package_id"),
])
def test_each_bad_field_is_refused_by_name(app, auth, change, field):
    auth.sign_in()
    response = auth.api("POST", API, {**VALID, **change})
    assert response.status_code == 422
    problem = response.get_json()
    assert [e["field"] for e in problem["errors"]] == [field]
    assert field in problem["detail"]
    assert auth.client.get(API).get_json()["items"] == []


@pytest.mark.parametrize(("change", "field"), [
    ({"started_at": "2999-01-01T00:00:00Z"}, "started_at"),
    ({"started_at": "9999-12-31T23:00:00-05:00"}, "started_at"),
    ({"package_id": "0123456789abcdef"}, "package_id"),
])
def test_what_the_device_does_not_hold_is_a_conflict(app, auth, change, field):
    auth.sign_in()
    response = auth.api("POST", API, {**VALID, **change})
    assert response.status_code == 409
    assert [e["field"] for e in response.get_json()["errors"]] == [field]
    assert auth.client.get(API).get_json()["items"] == []


def test_a_start_before_the_calendar_in_utc_is_kept_as_its_first_moment(app, auth):
    auth.sign_in()
    package = make_package(auth, ["system"])
    response = auth.api("POST", API, {**VALID, "started_at": "0001-01-01T00:00:00+05:00",
                                      "package_id": package["id"]})
    assert response.status_code == 201
    started = dt.datetime.fromisoformat(response.get_json()["started_at"])
    assert started == dt.datetime.min.replace(tzinfo=dt.UTC)


def test_limits_and_optional_fields_are_accepted():
    clean, problems = tickets.check({**VALID, "summary": "x" * 140, "phone": "",
                                     "contact_method": "email",
                                     "started_at": "2026-11-20T22:15"})
    assert problems == {}
    assert clean["summary"] == "x" * 140 and clean["phone"] == ""
    assert clean["started_at"].endswith("+00:00")


DISKS_WARNING = {"id": "disks", "title": "Disks", "status": "warning",
                 "summary": "1 disk reports SMART warnings", "details": {},
                 "recommended_action": "Replace the disk."}


def test_ticket_with_a_chosen_package_bundles_everything(app, client, auth):
    auth.sign_in()
    with app.app_context():
        db.get_db().execute(
            "INSERT INTO jobs(id, kind, state, progress, result, created_at, finished_at) "
            "VALUES ('00000000000000d1', 'diagnostics', 'succeeded', 1, ?, 1, 2)",
            (json.dumps({"results": [DISKS_WARNING]}),))
    package = make_package(auth, ["system"])
    response = auth.api("POST", API, {**VALID, "package_id": package["id"]})
    assert response.status_code == 201
    ticket = response.get_json()
    assert ticket["state"] == "ready" and ticket["package_id"] == package["id"]
    bundle = ticket["bundle"]
    assert bundle["filename"].startswith("supportticket-edge-test-")
    assert bundle["filename"].endswith("Z.zip")

    reply, data = download(client, f"{API}/{ticket['id']}/download")
    assert reply.status_code == 200
    assert int(reply.headers["Content-Length"]) == bundle["size"] == len(data)
    assert hashlib.sha256(data).hexdigest() == bundle["sha256"]
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert sorted(archive.namelist()) == sorted(["ticket.json", "diagnostic-run.json",
                                                 package["filename"], "SHA256SUMS"])
    document = json.loads(archive.read("ticket.json"))
    assert {k: document[k] for k in VALID} == VALID
    assert document["device"] == "edge-test" and document["connectivity_mode"] == \
        "fully_connected"
    assert document["support_package"]["filename"] == package["filename"]
    assert document["diagnostic_run"]["id"] == "00000000000000d1"
    run = json.loads(archive.read("diagnostic-run.json"))
    assert run["results"] == [DISKS_WARNING]
    inner = zipfile.ZipFile(io.BytesIO(archive.read(package["filename"])))
    assert "manifest.json" in inner.namelist()
    sums = dict(reversed(line.split("  ")) for line in
                archive.read("SHA256SUMS").decode().splitlines())
    for name in ("ticket.json", "diagnostic-run.json", package["filename"]):
        assert sums[name] == hashlib.sha256(archive.read(name)).hexdigest()
    actions = [r["action"] for r in client.get("/api/v1/audit").get_json()["items"]]
    assert "support_ticket_create" in actions and "support_ticket_download" in actions


def test_ticket_without_a_package_makes_one_then_bundles(app, client, auth):
    auth.sign_in()
    response = auth.api("POST", API, VALID)
    assert response.status_code == 202
    assert response.get_json()["state"] == "waiting"
    ticket = finished(client, response.headers["Location"], waiting=("waiting",))
    assert ticket["state"] == "ready", ticket["error"]
    package = finished(client, f"/api/v1/support/packages/{ticket['package_id']}")
    assert package["state"] == "succeeded"
    archive = zipfile.ZipFile(io.BytesIO(download(client, f"{API}/{ticket['id']}/download")[1]))
    assert package["filename"] in archive.namelist()
    assert "diagnostic-run.json" not in archive.namelist()
    assert json.loads(archive.read("ticket.json"))["diagnostic_run"] is None


def test_ticket_fails_with_its_package(app, client, auth, monkeypatch):
    from diagnostics.collect import PackageError
    from diagnostics.collect.archive import PackageWriter

    def disk_full(self):
        raise PackageError("No space left on device.")
    monkeypatch.setattr(PackageWriter, "close", disk_full)
    auth.sign_in()
    ticket = file_ticket(auth, package_id=None)
    assert ticket["state"] == "failed" and "No space left on device" in ticket["error"]
    assert ticket["bundle"] is None
    assert client.get(f"{API}/{ticket['id']}/download").status_code == 409
    assert list(ticket_dir(app).glob("*")) == []


def test_ticket_form_flow(app, client, auth):
    auth.sign_in()
    form = client.get(PAGE + "ticket").get_data(as_text=True)
    assert "Critical impact" in form and "Make a new support package" in form
    response = auth.post(PAGE + "ticket", {**VALID, "started_at": "2026-11-20T22:15",
                                           "package": "new"})
    assert response.status_code == 303
    ticket_url = response.headers["Location"]
    ticket_id = ticket_url.rstrip("/").rsplit("/", 1)[1]
    finished(client, f"{API}/{ticket_id}", waiting=("waiting",))
    poll = client.get(ticket_url, headers={"HX-Request": "true"})
    assert poll.status_code == 286 and "Download bundle" in poll.get_data(as_text=True)
    page = client.get(ticket_url).get_data(as_text=True)
    assert VALID["summary"] in page and "Copy to a USB drive" in page
    reply, data = download(client, f"{PAGE}tickets/{ticket_id}/download")
    assert reply.status_code == 200 and "ticket.json" in zipfile.ZipFile(
        io.BytesIO(data)).namelist()


def test_ticket_form_shows_each_problem(app, client, auth):
    auth.sign_in()
    response = auth.post(PAGE + "ticket", {**VALID, "summary": "", "email": "nope",
                                           "started_at": "2999-01-01T00:00",
                                           "package": "new"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Summary is required." in page
    assert "E-mail must be an e-mail address" in page
    assert "Start time must not be in the future." in page
    assert client.get(API).get_json()["items"] == []


def test_viewer_cannot_reach_tickets(app, client, auth):
    auth.sign_in_viewer()
    assert client.get(PAGE + "ticket").status_code == 403
    assert auth.api("POST", API, VALID).status_code == 403
    assert client.get(API).status_code == 403


@pytest.mark.parametrize("ticket_id", ["x", "..", "0123456789abcdeg", "0123456789abcdef"])
def test_unknown_ticket_ids_are_not_found(app, client, auth, ticket_id):
    auth.sign_in()
    assert client.get(f"{API}/{ticket_id}").status_code == 404
    assert client.get(f"{API}/{ticket_id}/download").status_code == 404
    assert client.get(f"{PAGE}tickets/{ticket_id}").status_code == 404
    assert auth.api("POST", f"{API}/{ticket_id}/upload", {}).status_code == 404


class SupportEndpoint:
    """An HTTPS server (certificate from a test CA) that records uploads and answers in turn."""

    def __init__(self, tmp_path: Path, answers: list[int]):
        self.answers = list(answers)
        self.received: list[tuple[dict, bytes]] = []
        ca = trustme.CA()
        self.ca_file = tmp_path / "support-ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_file))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ca.issue_cert("127.0.0.1").configure_cert(context)
        endpoint = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                endpoint.received.append((dict(self.headers), body))
                status = endpoint.answers.pop(0) if endpoint.answers else 201
                reply = json.dumps({"reference": "SR-1042"}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.server.server_address[1]}/tickets"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def endpoint(app, tmp_path):
    created = []

    def make(answers=()):
        server = SupportEndpoint(tmp_path, list(answers))
        app.config["SUPPORT_UPLOAD_URL"] = server.url
        app.config["SUPPORT_UPLOAD_CA"] = str(server.ca_file)
        created.append(server)
        return server
    yield make
    for server in created:
        server.close()


def send(auth, ticket_id: str, body=None) -> dict:
    """Ask for the upload through the API and wait for its job; answers the ticket."""
    response = auth.api("POST", f"{API}/{ticket_id}/upload", body or {})
    assert response.status_code == 202, response.get_json()
    assert response.get_json()["upload"]["state"] in ("queued", "running", "succeeded", "failed")
    return _upload_done(auth.client, ticket_id)


def _upload_done(client, ticket_id: str) -> dict:
    for _ in range(1200):
        ticket = client.get(f"{API}/{ticket_id}").get_json()
        if ticket["upload"]["state"] not in ("queued", "running"):
            return ticket
        time.sleep(0.05)
    raise AssertionError("the upload did not finish")


def _bundle_bytes(app, ticket) -> bytes:
    return (ticket_dir(app) / ticket["bundle"]["filename"]).read_bytes()


def test_upload_sends_the_bundle_over_tls(app, client, auth, endpoint):
    server = endpoint()
    auth.sign_in()
    ticket = file_ticket(auth)
    sent = send(auth, ticket["id"])
    assert sent["upload"]["state"] == "succeeded" and sent["uploaded_by"] == "admin"
    [(headers, body)] = server.received
    assert body == _bundle_bytes(app, ticket)
    assert headers["X-Support-Ticket"] == ticket["id"]
    assert headers["Content-Type"] == "application/zip"
    assert headers["Content-Disposition"] == content_disposition(ticket["bundle"]["filename"])
    entries = client.get("/api/v1/audit").get_json()["items"]
    assert any(e["action"] == "support_ticket_upload" and e["outcome"] == "success"
               for e in entries)


def test_upload_retries_after_a_503(app, auth, endpoint):
    server = endpoint([503])
    auth.sign_in()
    ticket = file_ticket(auth)
    assert send(auth, ticket["id"])["upload"]["state"] == "succeeded"
    assert len(server.received) == 2
    assert server.received[0][1] == server.received[1][1] == _bundle_bytes(app, ticket)


def test_upload_gives_up_with_a_clear_message(app, auth, endpoint, monkeypatch):
    monkeypatch.setattr(upload, "BACKOFF", 0)
    server = endpoint([503] * (upload.RETRIES + 1))
    auth.sign_in()
    ticket = file_ticket(auth)
    sent = send(auth, ticket["id"])
    assert sent["upload"]["state"] == "failed" and "503" in sent["upload"]["error"]
    assert len(server.received) == upload.RETRIES + 1
    assert sent["uploaded_at"] is None
    page = auth.client.get(f"{PAGE}tickets/{ticket['id']}").get_data(as_text=True)
    assert "The last attempt to send the bundle failed" in page


PROXY_PASSWORD = "proxy pass 3b9e"


@pytest.fixture
def proxy():
    peer = ConnectProxy(credentials=("edge", PROXY_PASSWORD))
    yield peer
    peer.stop()


def test_upload_goes_through_the_web_proxy_with_its_credentials(app, auth, endpoint, proxy):
    server = endpoint()
    app.config.update(PROXY_URL=proxy.url, PROXY_USER="edge", PROXY_PASSWORD=PROXY_PASSWORD)
    auth.sign_in()
    ticket = file_ticket(auth)
    sent = send(auth, ticket["id"])
    assert sent["upload"]["state"] == "succeeded", sent["upload"]
    [(_headers, body)] = server.received
    assert body == _bundle_bytes(app, ticket)
    port = server.url.split(":")[2].split("/")[0]
    assert proxy.targets == [f"127.0.0.1:{port}"]


def test_the_no_proxy_list_uploads_directly(app, auth, endpoint, proxy):
    server = endpoint()
    app.config.update(PROXY_URL=proxy.url, NO_PROXY=["127.0.0.0/8"])
    auth.sign_in()
    ticket = file_ticket(auth)
    assert send(auth, ticket["id"])["upload"]["state"] == "succeeded"
    assert len(server.received) == 1
    assert proxy.tunnels == []


def test_a_proxy_refusing_the_upload_says_so(app, auth, endpoint, proxy, monkeypatch):
    monkeypatch.setattr(upload, "BACKOFF", 0)
    server = endpoint()
    app.config.update(PROXY_URL=proxy.url, PROXY_USER="edge", PROXY_PASSWORD="wrong")
    auth.sign_in()
    ticket = file_ticket(auth)
    sent = send(auth, ticket["id"])
    assert sent["upload"]["state"] == "failed"
    assert f"web proxy {proxy.url.removeprefix('http://')}" in sent["upload"]["error"]
    assert "407" in sent["upload"]["error"]
    assert server.received == []


def test_upload_refuses_an_untrusted_certificate(app, auth, endpoint, tmp_path):
    endpoint()
    other_ca = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other_ca))
    app.config["SUPPORT_UPLOAD_CA"] = str(other_ca)
    auth.sign_in()
    ticket = file_ticket(auth)
    sent = send(auth, ticket["id"])
    assert sent["upload"]["state"] == "failed" and "certificate" in sent["upload"]["error"]


def test_upload_is_refused_when_fully_disconnected(app, client, auth, endpoint):
    server = endpoint()
    auth.sign_in()
    ticket = file_ticket(auth)
    set_mode(app, "fully_disconnected")
    response = auth.api("POST", f"{API}/{ticket['id']}/upload", {})
    assert response.status_code == 409
    assert "fully disconnected" in response.get_json()["detail"]
    page = auth.post(f"{PAGE}tickets/{ticket['id']}/upload")
    assert page.status_code == 409 and "fully disconnected" in page.get_data(as_text=True)
    assert server.received == []
    view = client.get(f"{PAGE}tickets/{ticket['id']}").get_data(as_text=True)
    assert "Send to support</button>" not in view and "USB" in view


def test_partially_disconnected_upload_needs_size_confirmation(app, client, auth, endpoint):
    server = endpoint()
    auth.sign_in()
    ticket = file_ticket(auth)
    set_mode(app, "partially_disconnected")
    unconfirmed = auth.api("POST", f"{API}/{ticket['id']}/upload", {})
    assert unconfirmed.status_code == 409
    assert unconfirmed.get_json()["size"] == ticket["bundle"]["size"]
    page = auth.post(f"{PAGE}tickets/{ticket['id']}/upload")
    assert page.status_code == 409 and "confirm to send it" in page.get_data(as_text=True)
    assert server.received == []
    confirmed = auth.post(f"{PAGE}tickets/{ticket['id']}/upload", {"confirm_size": "y"})
    assert confirmed.status_code == 303
    assert _upload_done(client, ticket["id"])["upload"]["state"] == "succeeded"
    assert len(server.received) == 1


def test_upload_without_an_endpoint_says_so(app, auth):
    auth.sign_in()
    ticket = file_ticket(auth)
    response = auth.api("POST", f"{API}/{ticket['id']}/upload", {})
    assert response.status_code == 409
    assert "No upload endpoint is configured" in response.get_json()["detail"]


class FakeDevice:
    """Just what :mod:`diagnostics.readers.drives` reads of a ``pyudev.Device``."""

    def __init__(self, node, properties, removable=None, parent=None):
        self.device_node = node
        self.properties = properties
        self.attributes = {} if removable is None else {"removable": removable}
        self.parent = parent

    def find_parent(self, subsystem, device_type=None):
        return self.parent


class FakeUdev:
    def __init__(self, devices):
        self.devices = devices

    def list_devices(self, subsystem=None):
        return [d for d in self.devices if subsystem == "block"]


@pytest.fixture
def drives(tmp_path, monkeypatch):
    """A USB stick (sdb1) and an SD card (mmcblk0p1) mounted in tmp, a fixed disk ignored."""
    stick, card, fixed = tmp_path / "usb stick", tmp_path / "card", tmp_path / "fixed"
    for mount in (stick, card, fixed):
        mount.mkdir()
    sd_card = FakeDevice("/dev/mmcblk0", {"DEVTYPE": "disk"}, removable=b"1\n")
    system_disk = FakeDevice("/dev/sda", {"DEVTYPE": "disk"}, removable=b"0\n")
    devices = [
        FakeDevice("/dev/sda1", {"DEVTYPE": "partition"}, parent=system_disk),
        FakeDevice("/dev/sdb1", {"DEVTYPE": "partition", "ID_BUS": "usb",
                                 "ID_FS_LABEL": "SUPPORT_KEY"}),
        FakeDevice("/dev/sdc1", {"DEVTYPE": "partition", "ID_BUS": "usb"}),
        FakeDevice("/dev/mmcblk0p1", {"DEVTYPE": "partition"}, parent=sd_card),
    ]
    mounts = tmp_path / "mounts"
    escaped = str(stick).replace(" ", "\\040")
    mounts.write_text(f"/dev/sda1 {fixed} ext4 rw 0 0\n/dev/sdb1 {escaped} vfat rw 0 0\n"
                      f"/dev/mmcblk0p1 {card} vfat rw 0 0\nproc /proc proc rw 0 0\n")
    monkeypatch.setattr(drives_reader, "udev_context", lambda: FakeUdev(devices))
    monkeypatch.setattr(drives_reader, "MOUNTS", str(mounts))
    return {"stick": stick, "card": card, "fixed": fixed}


def _copy_done(client, ticket_id: str) -> dict:
    """Wait for the ticket's copy to a USB drive to finish; answers the ticket."""
    return finished(client, f"{API}/{ticket_id}",
                    until=lambda ticket: ticket["usb_copy"] is not None
                    and ticket["usb_copy"]["state"] not in ("queued", "running"))


def test_removable_drives_are_the_mounted_usb_and_removable_ones(drives):
    found = usb.removable_drives()
    assert [(d.device, d.mount_point, d.label) for d in found] == [
        ("/dev/mmcblk0p1", str(drives["card"]), "USB drive"),
        ("/dev/sdb1", str(drives["stick"]), "SUPPORT KEY"),
    ]


def test_no_udev_means_no_drives(monkeypatch):
    monkeypatch.setattr(drives_reader, "udev_context", lambda: None)
    assert usb.removable_drives() == []


def test_bundle_is_copied_to_the_usb_drive_with_a_checksum(app, client, auth, drives):
    auth.sign_in()
    ticket = file_ticket(auth)
    listed = client.get("/api/v1/support/usb-drives").get_json()["items"]
    assert [d["device"] for d in listed] == ["/dev/mmcblk0p1", "/dev/sdb1"]
    page = client.get(f"{PAGE}tickets/{ticket['id']}").get_data(as_text=True)
    assert "SUPPORT KEY (/dev/sdb1)" in page
    response = auth.post(f"{PAGE}tickets/{ticket['id']}/usb",
                         {"mount_point": str(drives["stick"])})
    assert response.status_code == 303
    copied = _copy_done(client, ticket["id"])
    assert copied["usb_copy"]["state"] == "succeeded"
    page = client.get(f"{PAGE}tickets/{ticket['id']}").get_data(as_text=True)
    assert "were copied to SUPPORT KEY" in page and "Unmount the drive" in page
    name = ticket["bundle"]["filename"]
    copy = drives["stick"] / name
    assert copy.read_bytes() == _bundle_bytes(app, ticket)
    assert (drives["stick"] / f"{name}.sha256").read_text() == \
        f"{ticket['bundle']['sha256']}  {name}\n"
    assert not list(drives["stick"].glob("*.partial"))

    by_api = auth.api("POST", f"{API}/{ticket['id']}/usb", {"mount_point": str(drives["card"])})
    assert by_api.status_code == 202
    assert by_api.headers["Location"].endswith(f"{API}/{ticket['id']}")
    copied = _copy_done(client, ticket["id"])["usb_copy"]
    assert copied["state"] == "succeeded" and copied["mount_point"] == str(drives["card"])
    assert copied["path"] == str(drives["card"] / name)
    assert copied["checksum_path"] == str(drives["card"] / f"{name}.sha256")
    assert (drives["card"] / name).read_bytes() == _bundle_bytes(app, ticket)


@pytest.mark.parametrize(("mount_point", "status"), [
    ("fixed", 409), ("/", 409), ("../card", 409), (None, 422)])
def test_copy_only_goes_to_a_listed_drive(app, auth, drives, mount_point, status):
    auth.sign_in()
    ticket = file_ticket(auth)
    target = str(drives[mount_point]) if mount_point in drives else mount_point
    response = auth.api("POST", f"{API}/{ticket['id']}/usb", {"mount_point": target})
    assert response.status_code == status
    assert response.get_json()["errors"][0]["field"] == "mount_point"
    assert list(drives["fixed"].iterdir()) == []


def test_copy_refuses_a_drive_too_small(app, auth, drives, monkeypatch):
    auth.sign_in()
    ticket = file_ticket(auth)
    monkeypatch.setattr(usb, "SPARE_BYTES", 1 << 60)
    response = auth.api("POST", f"{API}/{ticket['id']}/usb",
                        {"mount_point": str(drives["stick"])})
    assert response.status_code == 507
    assert "Not enough free space on SUPPORT KEY" in response.get_json()["detail"]
    assert list(drives["stick"].iterdir()) == []


def test_started_at_uses_device_local_time_without_an_offset():
    clean, problems = tickets.check({**VALID, "started_at": "2026-11-20T22:15"})
    assert not problems
    local = dt.datetime(2026, 11, 20, 22, 15).astimezone()
    assert clean["started_at"] == local.astimezone(dt.UTC).isoformat(timespec="seconds")


def test_upload_to_an_endpoint_that_does_not_answer(app, auth, monkeypatch):
    import socket

    monkeypatch.setattr(upload, "BACKOFF", 0)
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    app.config["SUPPORT_UPLOAD_URL"] = f"https://127.0.0.1:{port}/tickets"
    auth.sign_in()
    ticket = file_ticket(auth)
    sent = send(auth, ticket["id"])
    assert sent["upload"]["state"] == "failed"
    assert "Could not reach the upload endpoint" in sent["upload"]["error"]


def test_upload_refuses_a_plain_http_endpoint(app, auth):
    app.config["SUPPORT_UPLOAD_URL"] = "http://127.0.0.1:9/tickets"
    auth.sign_in()
    ticket = file_ticket(auth)
    response = auth.api("POST", f"{API}/{ticket['id']}/upload", {})
    assert response.status_code == 409
    assert "https://" in response.get_json()["detail"]


def test_only_the_newest_bundles_are_kept(app, client, auth):
    app.config["SUPPORT_KEEP"] = 1
    auth.sign_in()
    package = make_package(auth, ["system"])
    first = file_ticket(auth, package_id=package["id"])
    second = file_ticket(auth, package_id=package["id"])
    assert [p.name for p in ticket_dir(app).iterdir()] == \
        [second["bundle"]["filename"]]
    old = client.get(f"{API}/{first['id']}").get_json()
    assert old["state"] == "removed" and old["bundle"] is None
    assert "only the newest" in old["error"]
    assert client.get(f"{API}/{first['id']}/download").status_code == 409


def test_form_refuses_a_package_deleted_meanwhile(app, client, auth):
    auth.sign_in()
    package = make_package(auth, ["system"])
    assert auth.api("DELETE", f"/api/v1/support/packages/{package['id']}").status_code == 204
    response = auth.post(PAGE + "ticket", {**VALID, "started_at": "2026-11-20T22:15",
                                           "package": package["id"]})
    assert response.status_code == 422
    assert "Choose a support package from the list." in response.get_data(as_text=True)
    assert client.get(API).get_json()["items"] == []


def test_half_written_bundles_are_removed_at_start_up(app):
    directory = ticket_dir(app)
    directory.mkdir(parents=True, exist_ok=True)
    leftover = directory / "supportticket-edge-test-20261126T010203Z.zip.partial"
    leftover.write_bytes(b"PK")
    make_app(app.config["INSTANCE"]).extensions["jobs"].shutdown()
    assert not leftover.exists()


def test_the_space_the_rules_name_is_what_strip_removes():
    # The API's patterns and the form's stripping must mean the same white space.
    every = (chr(code) for code in range(sys.maxunicode + 1))
    spaces = "".join(char for char in every if char.isspace())
    assert re.fullmatch(f"[{tickets.SPACE}]+", spaces)
    assert re.fullmatch(f"[{tickets.SPACE}]*", "x\u200b") is None
    for value in ("\x1f", "\u3000 ", "\x85"):
        assert tickets.check({**VALID, "summary": value})[1] == {"summary": "is required"}


def test_tickets_page_newest_first(app, auth):
    auth.sign_in()
    package = make_package(auth, ["system"])
    first = file_ticket(auth, package_id=package["id"])
    second = file_ticket(auth, package_id=package["id"])
    listed = auth.client.get(f"{API}?per_page=1").get_json()
    assert listed["total"] == 2 and [t["id"] for t in listed["items"]] == [second["id"]]
    assert [t["id"] for t in auth.client.get(f"{API}?per_page=1&page=2").get_json()["items"]] \
        == [first["id"]]


def test_a_bad_choice_is_refused_naming_the_field(app, auth):
    auth.sign_in()
    response = auth.api("POST", API, {**VALID, "severity": "urgent", "phone": 5})
    assert response.status_code == 422
    assert {e["field"] for e in response.get_json()["errors"]} == {"severity", "phone"}
