"""Support packages on the web: create, follow, list, download, delete, keep N, clean up."""

from __future__ import annotations

import io
import json
import shutil
import time
import zipfile
from pathlib import Path

import pytest

from diagnostics.collect import DEFAULT, CollectContext, ExtraItem, PackageError
from diagnostics.collect.archive import PackageWriter
from webui import db
from webui.downloads import content_disposition
from webui.support import packages, tickets
from webui.support.forms import PackageForm
from webui.support.views import ATTEMPTS_LISTED

from conftest import finished, make_app
from support_helpers import (
    API,
    PAGE,
    DiskUsage,
    SlowProducer,
    audit_actions,
    download,
    make_package,
    package_dir,
    package_files,
    support_settings,
)


@pytest.fixture
def slow(monkeypatch):
    producer = SlowProducer()
    monkeypatch.setattr(packages, "collect_context", lambda app: CollectContext(
        extra_items={"audit": [ExtraItem("slow.txt", producer)]}))
    yield producer
    producer.stop.set()


def test_api_package_downloads_as_a_zip_with_manifest_and_no_secrets(app, client, auth):
    auth.sign_in()
    token = auth.api("POST", "/api/v1/tokens", {"name": "monitor"}).get_json()["token"]
    with app.app_context():
        conn = db.get_db()
        token_hash = conn.execute("SELECT token_hash FROM api_tokens").fetchone()[0]
        password_hash = conn.execute("SELECT password_hash FROM users "
                                     "WHERE username = 'admin'").fetchone()[0]
    log_dir = Path(app.config["LOG_DIR"])
    log_dir.mkdir(parents=True, exist_ok=True)
    (log_dir / "webui.log").write_text(
        f"started with key {app.secret_key.decode()}\ntoken {token_hash} for {token[:4]}\n"
        f"hash {password_hash}\n")

    package = make_package(auth, ["system", "webui_log"])

    assert package["state"] == "succeeded" and package["error"] is None
    assert package["filename"].startswith("supportpackage-edge-test-")
    assert package["options"] == {"collectors": ["system", "webui_log"], "since_hours": 24,
                                  "obfuscate": False}
    response, data = download(client, f"{API}/{package['id']}/download")
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    assert response.headers["Content-Disposition"] == content_disposition(package["filename"])
    assert int(response.headers["Content-Length"]) == package["size"] == len(data)
    archive = zipfile.ZipFile(io.BytesIO(data))
    manifest = json.loads(archive.read("manifest.json"))
    assert [c["id"] for c in manifest["collectors"]] == ["system", "webui_log"]
    everything = b"".join(archive.read(name) for name in archive.namelist())
    assert b"webui.log" in b" ".join(n.encode() for n in archive.namelist())
    for secret in (app.secret_key.decode(), token_hash, password_hash):
        assert secret.encode() not in everything
    assert ("support_package_create", "success") in audit_actions(app)
    assert ("support_package_download", "success") in audit_actions(app)


CPUS_HEALTHY = {"id": "cpus", "title": "CPUs", "status": "healthy", "summary": "4 of 4 online",
                "details": {}, "recommended_action": None}


def test_default_package_on_this_machine_carries_the_app_items(app, client, auth):
    auth.sign_in()
    with app.app_context():
        db.get_db().execute(
            "INSERT INTO jobs(id, kind, state, progress, result, created_at, finished_at) "
            "VALUES ('00000000000000d1', 'diagnostics', 'succeeded', 1, ?, 1, 2)",
            (json.dumps({"results": [CPUS_HEALTHY]}),))
    response = auth.api("POST", API, {})
    assert response.status_code == 202
    package = finished(client, response.headers["Location"])
    assert package["state"] == "succeeded", package["error"]
    assert sorted(package["options"]["collectors"]) == sorted(DEFAULT)
    archive = zipfile.ZipFile(io.BytesIO(download(client, f"{API}/{package['id']}/download")[1]))
    names = archive.namelist()
    assert "manifest.json" in names
    assert "audit/audit-log.csv" in names
    history = json.loads(archive.read("diagnostic_history/diagnostic-runs.json"))
    assert history["runs"][0]["results"] == [CPUS_HEALTHY]
    assert b"sign_in" in archive.read("audit/audit-log.csv")


def test_form_creates_a_package_and_the_list_shows_it(app, client, auth):
    auth.sign_in()
    response = auth.post(PAGE + "packages", {"collectors": ["system"], "since_hours": "6"})
    assert response.status_code == 303
    conn, directory = _conn_dir(app)
    try:
        newest = packages.packages(conn, directory)[0].id
    finally:
        conn.close()
    package = finished(client, f"{API}/{newest}")
    assert package["options"]["since_hours"] == 6
    page = client.get(PAGE).get_data(as_text=True)
    assert package["filename"] in page
    assert '<span class="badge job-finished">Finished</span>' in page
    fragment = client.get(PAGE + "packages", headers={"HX-Request": "true"})
    assert fragment.status_code == 286
    response, data = download(client, f"{PAGE}packages/{package['id']}/download")
    assert response.status_code == 200
    assert zipfile.ZipFile(io.BytesIO(data)).read("manifest.json")


def _conn_dir(app):
    return db.connect(db.path_for(app)), package_dir(app)


@pytest.mark.parametrize(("body", "field"), [
    ({"collectors": "system"}, "collectors"),
    ({"collectors": ["system", "nonsense"]}, "collectors.1"),
    ({"collectors": []}, "collectors"),
    ({"collectors": [3]}, "collectors.0"),
    ({"since_hours": 0}, "since_hours"),
    ({"since_hours": -6}, "since_hours"),
    ({"since_hours": "24"}, "since_hours"),
    ({"since_hours": True}, "since_hours"),
    ({"since_hours": 10**6}, "since_hours"),
    ({"obfuscate": "yes"}, "obfuscate"),
])
def test_bad_options_are_refused_naming_the_field(app, auth, body, field):
    auth.sign_in()
    response = auth.api("POST", API, body)
    assert response.status_code == 422
    problem = response.get_json()
    assert problem["errors"][0]["field"] == field and problem["detail"].startswith(field)
    assert package_files(app) == []


def test_form_refuses_an_empty_choice(app, auth):
    auth.sign_in()
    response = auth.post(PAGE + "packages", {"since_hours": "24"})
    assert response.status_code == 422
    assert "choose at least one collector" in response.get_data(as_text=True)


def test_short_free_space_refuses_with_figures(app, client, auth, monkeypatch):
    auth.sign_in()
    monkeypatch.setattr(shutil, "disk_usage", lambda path: DiskUsage(10 << 30, 10 << 30, 3 << 20))
    response = auth.api("POST", API, {"collectors": ["system"]})
    assert response.status_code == 507
    problem = response.get_json()
    assert "3.0 MiB free" in problem["detail"] and "512.0 MiB needed" in problem["detail"]
    assert problem["free_bytes"] == 3 << 20
    page = auth.post(PAGE + "packages", {"collectors": ["system"], "since_hours": "24"})
    assert page.status_code == 507
    assert "3.0 MiB free" in page.get_data(as_text=True)
    assert client.get(API).get_json()["items"] == []
    assert ("support_package_create", "refused") in audit_actions(app)


def test_one_package_at_a_time(app, client, auth, slow):
    auth.sign_in()
    first = auth.api("POST", API, {"collectors": ["audit"]})
    assert first.status_code == 202
    assert slow.started.wait(30)
    second = auth.api("POST", API, {"collectors": ["system"]})
    assert second.status_code == 409
    assert second.get_json()["job_id"] == first.get_json()["id"]
    assert auth.api("DELETE", first.headers["Location"]).status_code == 409
    slow.stop.set()
    assert finished(client, first.headers["Location"])["state"] == "succeeded"


def test_progress_is_shown_live_and_cancel_removes_the_partial(app, client, auth, slow):
    auth.sign_in()
    package_id = auth.api("POST", API, {"collectors": ["system", "audit"]}).get_json()["id"]
    assert slow.started.wait(30)
    running = client.get(f"{API}/{package_id}").get_json()
    assert running["state"] == "running" and running["current_collector"] == "audit"
    assert running["progress"] == 0.5
    fragment = client.get(PAGE + "packages", headers={"HX-Request": "true"})
    html = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and 'hx-trigger="every 1s"' in html
    assert "Collecting 2 of 2: Audit log export of the web UI" in html
    assert any(name.endswith(".partial") for name in package_files(app))

    response = auth.post(f"{PAGE}packages/{package_id}/cancel")
    assert response.status_code == 303
    assert client.get(f"{API}/{package_id}").get_json()["state"] == "cancelled"
    for _ in range(600):
        if ("support_package_create", "cancelled") in audit_actions(app):
            break
        time.sleep(0.05)
    assert package_files(app) == []
    listed = client.get(API).get_json()["items"]
    assert [(p["state"], p["filename"]) for p in listed] == [("cancelled", None)]
    assert client.get(PAGE + "packages", headers={"HX-Request": "true"}).status_code == 286


def test_failed_package_leaves_nothing_ready_and_no_partial(app, client, auth, monkeypatch):
    auth.sign_in()

    def disk_full(self):
        raise PackageError("Could not write the support package: No space left on device.")
    monkeypatch.setattr(PackageWriter, "close", disk_full)
    package = make_package(auth, ["system"])
    assert package["state"] == "failed"
    assert "No space left on device" in package["error"]
    assert package["filename"] is None and package["size"] is None
    assert package_files(app) == []
    assert client.get(f"{API}/{package['id']}/download").status_code == 409
    page = client.get(PAGE).get_data(as_text=True)
    assert "No space left on device" in page and "Download" not in page
    assert ("support_package_create", "failure") in audit_actions(app)


def test_the_page_lists_every_ready_package_and_only_the_latest_failed_attempts(
        app, client, auth):
    """Many failed attempts do not bury the packages: the page lists the newest few, says how
    many more there are, and the API still lists every one."""
    auth.sign_in()
    ready = make_package(auth, ["system"])
    attempts = ATTEMPTS_LISTED + 3
    with app.app_context():
        conn = db.get_db()
        options = json.dumps({"collectors": ["system"], "since_hours": 24, "obfuscate": False})
        conn.executemany("INSERT INTO jobs(id, kind, state, params, error, created_at) "
                         "VALUES (?, 'support_package', 'failed', ?, ?, ?)",
                         [(f"{n:016x}", options, f"Attempt {n} failed.", float(n))
                          for n in range(1, attempts + 1)])
        conn.commit()
    page = client.get(PAGE).get_data(as_text=True)
    assert ready["filename"] in page
    listed = [n for n in range(1, attempts + 1) if f"Attempt {n} failed." in page]
    assert listed == list(range(attempts - ATTEMPTS_LISTED + 1, attempts + 1))
    assert "3 older attempts that made no package are not listed here" in page
    answer = client.get(API + "?limit=100").get_json()
    assert len(answer["items"]) == attempts + 1


def test_interrupted_job_is_cleaned_up_at_restart(app, tmp_path):
    directory = package_dir(app)
    directory.mkdir(parents=True, exist_ok=True)
    partial = directory / "supportpackage-edge-test-20261126T010203Z.zip.partial"
    partial.write_bytes(b"PK half a zip")
    with app.app_context():
        db.get_db().execute(
            "INSERT INTO jobs(id, kind, state, params, created_at, owner) VALUES "
            "('0123456789abcdef', 'support_package', 'running', '{}', 1, 'gone:999999:0')")
    app.extensions["jobs"].shutdown()

    restarted = make_app(app.config["INSTANCE"])
    try:
        with restarted.app_context():
            row = db.get_db().execute("SELECT state FROM jobs WHERE id = '0123456789abcdef'"
                                      ).fetchone()
        assert row["state"] == "interrupted"
        assert not partial.exists()
    finally:
        restarted.extensions["jobs"].shutdown()


def test_start_up_removes_leftover_partials_when_nothing_runs(app):
    directory = package_dir(app)
    directory.mkdir(parents=True, exist_ok=True)
    leftover = directory / "supportpackage-edge-test-20261126T010203Z.zip.partial"
    leftover.write_bytes(b"PK")
    make_app(app.config["INSTANCE"]).extensions["jobs"].shutdown()
    assert not leftover.exists()


def _seed_old_package(app, stamp: str, job_id: str) -> Path:
    directory = package_dir(app)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"supportpackage-edge-test-{stamp}.zip"
    path.write_bytes(b"PK old package")
    with app.app_context():
        db.get_db().execute(
            "INSERT INTO jobs(id, kind, state, progress, params, result, created_by, "
            "created_at, finished_at) VALUES (?, 'support_package', 'succeeded', 1, ?, ?, "
            "'admin', ?, ?)",
            (job_id, json.dumps({"collectors": ["system"], "since_hours": 24,
                                 "obfuscate": False}),
             json.dumps({"filename": path.name, "size": path.stat().st_size, "sha256": "0"}),
             int(stamp[:4]), int(stamp[:4])))
    return path


def test_only_the_newest_packages_are_kept(app, client, auth):
    app.config["SUPPORT_KEEP"] = 2
    oldest = _seed_old_package(app, "20240101T000000Z", "00000000000000a1")
    older = _seed_old_package(app, "20250101T000000Z", "00000000000000a2")
    auth.sign_in()
    new = make_package(auth, ["system"])
    assert not oldest.exists() and older.exists()
    listed = [p["id"] for p in client.get(API).get_json()["items"]]
    assert listed == [new["id"], "00000000000000a2"]
    assert client.get(f"{API}/00000000000000a1").status_code == 404


def test_delete_removes_the_file_and_the_entry(app, client, auth):
    auth.sign_in()
    package = make_package(auth, ["system"])
    deleted = auth.api("DELETE", f"{API}/{package['id']}")
    assert deleted.status_code == 204 and deleted.data == b""
    assert "Content-Type" not in deleted.headers
    assert package_files(app) == []
    assert client.get(API).get_json()["items"] == []
    assert client.get(f"{API}/{package['id']}").status_code == 404
    assert ("support_package_delete", "success") in audit_actions(app)


def test_delete_from_the_page(app, client, auth):
    auth.sign_in()
    package = make_package(auth, ["system"])
    response = auth.post(f"{PAGE}packages/{package['id']}/delete")
    assert response.status_code == 303
    assert package_files(app) == []
    assert "Deleted " + package["filename"] in client.get(PAGE).get_data(as_text=True)


def test_viewer_sees_the_list_but_cannot_act(app, client, auth):
    auth.sign_in()
    package = make_package(auth, ["system"])
    client.post("/sign-out", data={"csrf_token": auth.csrf()})
    auth.sign_in_viewer()
    page = client.get(PAGE)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert package["filename"] in html and "Create support package" not in html
    assert client.get(API).status_code == 200
    assert auth.api("POST", API, {"collectors": ["system"]}).status_code == 403
    assert client.get(f"{API}/{package['id']}/download").status_code == 403
    assert auth.api("DELETE", f"{API}/{package['id']}").status_code == 403
    assert client.get(f"{PAGE}packages/{package['id']}/download").status_code == 403
    assert auth.post(f"{PAGE}packages/{package['id']}/delete").status_code == 403
    assert auth.post(PAGE + "packages", {"collectors": ["system"]}).status_code == 403
    assert package_files(app) == [package["filename"]]


@pytest.mark.parametrize("package_id", ["x", "0123456789abcdeg", "..", "%2e%2e%2fwebui.db",
                                        "0123456789ABCDEF", "0" * 17])
def test_malformed_ids_are_not_found(app, client, auth, package_id):
    auth.sign_in()
    assert client.get(f"{API}/{package_id}").status_code == 404
    assert client.get(f"{API}/{package_id}/download").status_code == 404
    assert auth.api("DELETE", f"{API}/{package_id}").status_code == 404
    assert client.get(f"{PAGE}packages/{package_id}/download").status_code == 404


def test_console_package_is_the_same_package(app, tmp_path):
    with app.app_context():
        info = packages.console_package(support_settings(app), collectors=["system", "audit"])
        elsewhere = packages.console_package(support_settings(app), out=tmp_path / "out",
                                             collectors=["system"])
        conn = db.get_db()
        listed = packages.packages(conn, package_dir(app))
    assert info.path.parent == package_dir(app)
    assert [p.filename for p in listed] == [info.filename]
    assert listed[0].created_by == "console"
    assert elsewhere.path.parent == tmp_path / "out"
    with zipfile.ZipFile(info.path) as archive:
        assert "audit/audit-log.csv" in archive.namelist()
        assert app.secret_key not in b"".join(archive.read(n) for n in archive.namelist())
    with pytest.raises(ValueError, match="collectors"):
        packages.console_package(support_settings(app), collectors=["nonsense"])


def test_console_command_writes_the_package(app, tmp_path):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("WEBUI_")}
    env.update({"WEBUI_INSTANCE": app.config["INSTANCE"], "WEBUI_DEVICE_NAME": "edge-test"})
    command = [str(Path(sys.executable).with_name("edge-webui")), "support-package",
               "--out", str(tmp_path / "out"), "--collector", "system", "--collector",
               "audit", "--since", "6"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    path = Path(done.stdout.strip())
    assert path.parent == tmp_path / "out" and path.name.startswith("supportpackage-edge-test-")
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    assert [c["id"] for c in manifest["collectors"]] == ["system", "audit"]
    assert manifest["options"]["since_hours"] == 6


def test_packages_fragment_is_for_htmx_only(app, client, auth):
    auth.sign_in()
    response = client.get(PAGE + "packages")
    assert response.status_code == 303 and response.headers["Location"].endswith(PAGE)


KILLED_WORKER = """
import sys, time
sys.path.insert(0, {tests!r})
from conftest import make_app
from diagnostics.collect import CollectContext, ExtraItem
from webui import db, jobs
from webui.audit import Actor
from webui.support import packages

def endless():
    while True:
        yield b"collecting " * 100
        time.sleep(0.01)

packages.collect_context = lambda settings: CollectContext(
    extra_items={{"audit": [ExtraItem("endless.txt", endless)]}})
app = make_app({instance!r})
with app.app_context():
    print(packages.start(jobs.runner(), packages.settings_from(app.config, app.secret_key),
                         db.get_db(), packages.parse_options(["audit"]), Actor("admin")),
          flush=True)
time.sleep(600)
"""


def test_worker_killed_mid_package_leaves_no_package_after_restart(app, client, auth):
    import subprocess
    import sys

    instance = app.config["INSTANCE"]
    app.extensions["jobs"].shutdown()
    worker = subprocess.Popen(
        [sys.executable, "-c", KILLED_WORKER.format(tests=str(Path(__file__).parent),
                                                    instance=instance)],
        stdout=subprocess.PIPE, text=True)
    try:
        job_id = worker.stdout.readline().strip()
        directory = package_dir(app)
        for _ in range(1200):
            partials = list(directory.glob("*.partial"))
            if partials:
                break
            time.sleep(0.05)
        assert partials, "the package never started"
    finally:
        worker.kill()
        worker.wait()
        worker.stdout.close()

    restarted = make_app(instance)
    try:
        client = restarted.test_client()
        auth.client = client
        auth.sign_in()
        package = client.get(f"{API}/{job_id}").get_json()
        assert package["state"] == "interrupted" and package["filename"] is None
        assert "stopped while this job ran" in package["error"]
        assert package_files(restarted) == []
    finally:
        restarted.extensions["jobs"].shutdown()


def test_a_package_name_leading_outside_the_folder_is_not_served(app, client, auth, tmp_path):
    outside = tmp_path / "secret.zip"
    outside.write_bytes(b"not for download")
    planted = _seed_old_package(app, "20260101T000000Z", "00000000000000b1")
    planted.unlink()
    planted.symlink_to(outside)
    auth.sign_in()
    assert client.get(f"{API}/00000000000000b1").status_code == 404
    assert client.get(f"{API}/00000000000000b1/download").status_code == 404


def test_a_bodiless_request_makes_the_default_package_on_the_page_of_packages(app, client, auth):
    auth.sign_in()
    started = auth.api("POST", API)
    assert started.status_code == 202
    assert started.headers["Location"].endswith(f"{API}/{started.get_json()['id']}")
    package = finished(client, started.headers["Location"])
    assert package["options"]["collectors"] == packages.DEFAULT_COLLECTORS
    assert package["options"]["since_hours"] == packages.DEFAULT_WINDOW
    listed = client.get(f"{API}?per_page=1&page=1").get_json()
    assert listed["total"] == 1 and listed["per_page"] == 1
    assert [p["id"] for p in listed["items"]] == [package["id"]]
    assert client.get(f"{API}?page=2&per_page=1").get_json()["items"] == []
    assert client.get(f"{API}?per_page=0").status_code == 422


def test_cancel_reads_no_body(app, client, auth):
    auth.sign_in()
    package = make_package(auth, ["system"])
    for body in (None, {"anything": True}):
        response = auth.api("POST", f"{API}/{package['id']}/cancel", body)
        assert response.status_code == 409 and response.mimetype == "application/problem+json"


def test_the_proxy_password_and_channel_secrets_are_redacted_from_packages(tmp_path):
    from webui import audit
    from webui.notifications import channels

    app = make_app(tmp_path / "instance", PROXY_PASSWORD="pr0xy-s3cret-4711")
    try:
        with app.app_context():
            conn = db.get_db()
            channels.add(conn, Path(app.config["INSTANCE"]), audit.CONSOLE, name="Hook",
                         kind="webhook", min_severity="warning", enabled=True,
                         settings={"url": "https://127.0.0.1:9/edge", "ca_file": ""},
                         secret="h00k-s3cret-0815")
            # A secret an admin pasted where it should not be: it still never leaves in a package.
            audit.record(conn, audit.CONSOLE, "note", "pr0xy-s3cret-4711 h00k-s3cret-0815")
            info = packages.console_package(support_settings(app), collectors=["audit"])
        with zipfile.ZipFile(info.path) as archive:
            content = b"".join(archive.read(n) for n in archive.namelist())
        assert b"pr0xy-s3cret-4711" not in content and b"h00k-s3cret-0815" not in content
        assert b"[redacted] [redacted]" in content
    finally:
        app.extensions["jobs"].shutdown()


def test_the_ticket_list_reads_the_package_jobs_of_a_page_in_one_query(app):
    """Tickets waiting on a package job that failed, is still running or was deleted: the list
    says of each what the ticket's own page says, with one query for all their jobs."""
    jobs_of = {"00000000000000a1": ("failed", "The disk filled up."),
               "00000000000000a2": ("running", None)}
    with app.app_context():
        conn = db.get_db()
        conn.executemany("INSERT INTO jobs(id, kind, state, error, created_at) "
                         "VALUES (?, 'support_package', ?, ?, 1)",
                         [(job_id, state, error) for job_id, (state, error) in jobs_of.items()])
        conn.executemany(
            "INSERT INTO support_tickets(id, created_at, created_by, details, package_job, "
            "state) VALUES (?, ?, 'admin', '{\"summary\": \"Disks\"}', ?, 'waiting')",
            [(f"{n:016x}", float(n), job_id) for n, job_id in enumerate(
                ["00000000000000a1", "00000000000000a2", "00000000000000a3", None] * 5, 1)])
        directory = tickets.ticket_dir(support_settings(app))
        statements: list[str] = []
        conn.set_trace_callback(statements.append)
        listed = tickets.recent(conn, directory)
        conn.set_trace_callback(None)
        one_by_one = [tickets.get(conn, directory, ticket.id) for ticket in listed]

    assert len(statements) == 2  # the tickets, then their package jobs
    assert [(t.state, t.error) for t in listed] == [(t.state, t.error) for t in one_by_one]
    assert {t.state for t in listed} == {"failed", "waiting"}
    assert any(t.error and "The disk filled up." in t.error for t in listed)
    assert any(t.error and "it was deleted" in t.error for t in listed)


@pytest.mark.parametrize("sent", [None, {"collectors": ["system", "journal"], "since_hours": "0"},
                                  {"collectors": ["nope"], "since_hours": "24"}],
                         ids=["fresh form", "refused window", "unknown collector"])
def test_the_collector_checkboxes_read_as_their_widgets_write_them(app, client, auth, sent):
    auth.sign_in()
    if sent is None:
        page = client.get(PAGE).get_data(as_text=True)
    else:
        response = auth.post(PAGE + "packages", sent)
        assert response.status_code == 422
        page = response.get_data(as_text=True)
    with app.test_request_context(method="POST" if sent else "GET", data=sent or {}):
        form = PackageForm() if sent else PackageForm(collectors=packages.DEFAULT_COLLECTORS)
        if sent:
            assert not form.validate()
        attributes = {"aria-describedby": "collectors-error"} if form.collectors.errors else {}
        expected = [f"{option(**attributes)} "
                    f"{option.label(text=packages.COLLECTOR_DESCRIPTIONS[option.data])}"
                    for option in form.collectors]
        checked = sum(1 for option in form.collectors if option.checked)
    assert len(expected) == len(packages.COLLECTOR_DESCRIPTIONS)
    for checkbox in expected:
        assert checkbox in page
    assert page.count(' checked id="collectors-') == checked
    assert bool(attributes) == (sent is not None and "nope" in sent["collectors"])
