"""The storage fails under the service: a locked database, a full disk, a read-only instance.

The UI says what happened, reads go on, writes answer 503/507 with the reason and nothing
stored is lost; with the disk full an admin can still sign in and free space.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

from webui import db, last_seen
from webui.auth import users

from conftest import ADMIN_PASSWORD, VIEWER_PASSWORD, AuthActions, make_app


def _ready_app(instance: Path, **overrides):
    app = make_app(instance, **overrides)
    with app.app_context():
        conn = db.get_db()
        users.create(conn, "admin", ADMIN_PASSWORD, "administrator", must_change=False)
        users.create(conn, "viewer", VIEWER_PASSWORD, "viewer", must_change=False)
    return app


@contextmanager
def database_held_by_another_process(path: Path):
    """Another program takes the database's write lock and keeps it until the block ends."""
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sqlite3, sys\n"
         "conn = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
         "conn.execute('BEGIN IMMEDIATE')\n"
         "print('locked', flush=True)\n"
         "sys.stdin.read()\n", str(path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        yield
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
        holder.stdout.close()


@pytest.fixture
def locked_app(tmp_path):
    app = _ready_app(tmp_path / "instance", DB_BUSY_TIMEOUT=0.2)
    yield app
    app.extensions["last_seen"].close()
    app.extensions["jobs"].shutdown()


def test_locked_database_reads_go_on_and_writes_answer_503(locked_app):
    client = locked_app.test_client()
    auth = AuthActions(client)
    auth.sign_in()
    token = auth.api("POST", "/api/v1/tokens", {"name": "scraper", "role": "viewer"}
                     ).get_json()["token"]
    csrf = auth.csrf()
    scraper = locked_app.test_client()
    bearer = {"Authorization": f"Bearer {token}"}
    with database_held_by_another_process(db.path_for(locked_app)):
        assert locked_app.test_client().get("/healthz").status_code == 200
        for path in ("/", "/audit", "/troubleshooting/diagnostics", "/users/"):
            assert client.get(path).status_code == 200, path
        # A scraper's token is checked and its use noted without a write.
        assert scraper.get("/api/v1/status", headers=bearer).status_code == 200
        refused = client.put("/api/v1/connectivity", json={"mode": "partially_disconnected"},
                             headers={"X-CSRFToken": csrf})
        assert refused.status_code == 503
        assert refused.mimetype == "application/problem+json"
        assert refused.headers["Retry-After"] == "5"
        assert "busy" in refused.get_json()["detail"]
        page = client.post("/connectivity/", data={"mode": "partially_disconnected",
                                                  "csrf_token": csrf})
        assert page.status_code == 503 and b"Traceback" not in page.data
        assert b"another program holds it" in page.data
    # Once the lock is gone the same change goes through, and the token's use is written.
    assert client.put("/api/v1/connectivity", json={"mode": "partially_disconnected"},
                      headers={"X-CSRFToken": csrf}).status_code == 200
    assert locked_app.extensions["last_seen"].flush()
    conn = db.connect(db.path_for(locked_app))
    try:
        used = conn.execute("SELECT last_used_at FROM api_tokens WHERE name = 'scraper'"
                            ).fetchone()[0]
    finally:
        conn.close()
    assert used is not None


def test_a_page_view_writes_nothing(locked_app):
    client = locked_app.test_client()
    AuthActions(client).sign_in()
    path = db.path_for(locked_app)
    before = path.stat().st_mtime_ns, Path(f"{path}-wal").stat().st_size
    for _ in range(3):
        assert client.get("/").status_code == 200
    assert (path.stat().st_mtime_ns, Path(f"{path}-wal").stat().st_size) == before


def test_session_use_is_written_in_batches_and_ended_sessions_removed(locked_app):
    client = locked_app.test_client()
    AuthActions(client).sign_in()
    conn = db.connect(db.path_for(locked_app))
    try:
        conn.execute("UPDATE sessions SET last_seen_at = last_seen_at - 100")
        stale = conn.execute("SELECT last_seen_at FROM sessions").fetchone()[0]
        assert client.get("/").status_code == 200
        uses = locked_app.extensions["last_seen"]
        assert uses.flush()
        assert conn.execute("SELECT last_seen_at FROM sessions").fetchone()[0] > stale + 50
        # A session idle for longer than the limit ends, and its row goes with the next batch.
        conn.execute("UPDATE sessions SET last_seen_at = last_seen_at - 3600")
        uses.forget_session(conn.execute("SELECT id FROM sessions").fetchone()[0])
        assert client.get("/").status_code == 303
        other = locked_app.test_client()
        AuthActions(other).sign_in_viewer()
        other.get("/")
        assert uses.flush()
        names = [r[0] for r in conn.execute(
            "SELECT u.username FROM sessions s JOIN users u ON u.id = s.user_id")]
        assert names == ["viewer"]
    finally:
        conn.close()


def test_a_flush_that_meets_a_lock_keeps_the_times(tmp_path):
    app = _ready_app(tmp_path / "instance")
    uses = last_seen.LastSeen(db.path_for(app), 900, 43200, flush_seconds=3600)
    uses.token_used(7, 1234.0, "127.0.0.1")
    with database_held_by_another_process(db.path_for(app)):
        assert not uses.flush()
    assert uses.token(7) == (1234.0, "127.0.0.1")
    app.extensions["jobs"].shutdown()


# A full or read-only file system needs a mount of its own: root, in a private mount
# namespace (make test runs the suite in one and says so in EDGE_TEST_PRIVATE_MOUNTS), so
# the host's mounts never change.

def _private_mounts_or_skip() -> None:
    if os.geteuid() != 0:
        pytest.skip("mounting a small file system needs root")
    if os.environ.get("EDGE_TEST_PRIVATE_MOUNTS") != "1":
        pytest.skip("needs a private mount namespace (make test runs the suite in one)")


@pytest.fixture
def small_disk(tmp_path):
    _private_mounts_or_skip()
    disk = tmp_path / "disk"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m,mode=0700", "tmpfs", str(disk)],
                   check=True)
    yield disk
    subprocess.run(["umount", "-l", str(disk)], check=False)


def _fill(directory: Path) -> Path:
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for chunk in (1 << 20, 4096):  # megabytes, then the last few blocks
            try:
                while os.write(fd, b"\0" * chunk):
                    pass
            except OSError:
                pass
    finally:
        os.close(fd)
    return filler


def _package(app) -> tuple[str, Path]:
    """A support package made the way the console makes one, listed on the Support page:
    its job id and its file."""
    from webui import jobs
    from webui.support import packages

    info = packages.console_package(packages.settings_from(app.config, app.secret_key),
                                    collectors=["system"], since_hours=1)
    conn = db.connect(db.path_for(app))
    try:
        return jobs.latest(conn, packages.KIND)["id"], info.path
    finally:
        conn.close()


def test_full_disk_admin_signs_in_sees_why_and_frees_space(small_disk):
    app = _ready_app(small_disk / "instance", SUPPORT_MIN_FREE_MB=8)
    try:
        package_id, package_path = _package(app)
        filler = _fill(small_disk)
        client = app.test_client()
        auth = AuthActions(client)
        signed_in = auth.sign_in()
        assert signed_in.status_code == 303, signed_in.data[:500]
        page = client.get("/")
        assert page.status_code == 200
        assert b"Device storage is full." in page.data and b" MiB free of " in page.data
        csrf = auth.csrf()
        answers = {
            "token": auth.api("POST", "/api/v1/tokens", {"name": "t1", "role": "viewer"}),
            "run": client.post("/api/v1/diagnostics/runs", json={"tests": ["cpus"]},
                               headers={"X-CSRFToken": csrf}),
            "package": client.post("/api/v1/support/packages", json={},
                                   headers={"X-CSRFToken": csrf}),
        }
        for name, answer in answers.items():
            assert answer.status_code in (201, 202, 507), (name, answer.status_code, answer.data)
            assert b"Traceback" not in answer.data
        assert answers["package"].status_code == 507
        # Deleting a package frees its space; the page says nothing is wrong once there is room.
        deleted = auth.post(f"/troubleshooting/support/packages/{package_id}/delete")
        assert deleted.status_code in (200, 303), deleted.data[:500]
        assert not package_path.exists()
        filler.unlink()
        app.extensions["storage"].noticed(RuntimeError("look again"))
        assert b"Device storage is full." not in client.get("/").data
        assert (small_disk / "instance" / db.RESERVE_NAME).stat().st_size == db.RESERVE_BYTES
        conn = db.connect(db.path_for(app))
        try:
            actions = [r[0] for r in conn.execute("SELECT action FROM audit")]
        finally:
            conn.close()
        assert "sign_in" in actions
    finally:
        app.extensions["last_seen"].close()
        app.extensions["jobs"].shutdown()


def test_read_only_mount_stops_serve_with_one_line(small_disk):
    app = _ready_app(small_disk / "instance")
    app.extensions["jobs"].shutdown()
    db.close_thread_connections()
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEBUI_")}
    env.update(WEBUI_INSTANCE=str(small_disk / "instance"), WEBUI_TLS="false")
    done = subprocess.run([str(Path(sys.executable).with_name("edge-webui")), "serve"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "Read-only file system" in done.stderr


def test_storage_turning_read_only_keeps_reads_and_refuses_writes(tmp_path, monkeypatch):
    app = _ready_app(tmp_path / "instance")
    client = app.test_client()
    auth = AuthActions(client)
    auth.sign_in()
    csrf = auth.csrf()
    # What SQLite answers once the file system under it is remounted read-only.
    real_connect = sqlite3.connect

    def read_only(database, *args, **kwargs):
        return real_connect(f"file:{database}?mode=ro", *args, uri=True, **kwargs)

    db.close_thread_connections()
    monkeypatch.setattr(db.sqlite3, "connect", read_only)
    try:
        assert client.get("/audit").status_code == 200
        refused = client.put("/api/v1/connectivity", json={"mode": "fully_disconnected"},
                             headers={"X-CSRFToken": csrf})
        assert refused.status_code == 503 and refused.headers["Retry-After"]
        assert "read-only" in refused.get_json()["detail"]
        page = client.get("/")
        assert page.status_code == 200 and b"Device storage is read-only." in page.data
    finally:
        db.close_thread_connections()
        monkeypatch.undo()
        app.extensions["last_seen"].close()
        app.extensions["jobs"].shutdown()
