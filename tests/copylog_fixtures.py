"""Copy-log test fixtures: a root of sample logs, an app searching it, its index, hostile files."""

from __future__ import annotations

import contextlib
import shutil
import time
from html import escape
from pathlib import Path

import pytest

from webui import db, jobs
from webui.auth import users
from webui.copylogs import indexer

from conftest import ADMIN_PASSWORD, VIEWER_PASSWORD, make_app

FIXTURES = Path(__file__).parent / "data" / "copylogs" / "root1"
UPLOAD = "share1/Microsoft Data Box Edge/Upload/upload-2019-03-18.xml"
SERVICE_LOG = "databoxcopylog/ORD123_SER456_CopyLog_5e8f8c59-0c1b-4a21-9f3b-3c9b3a8d2f10.xml"
VALIDATION = "share1/error.xml"
ENTRY = ('<ErroredEntity Path="{path}" CloudFormat="BlockBlob">\n'
         "  <Category>{category}</Category>\n  <ErrorCode>{code}</ErrorCode>\n"
         "  <ErrorMessage>{message}</ErrorMessage>\n  <Type>File</Type>\n</ErroredEntity>\n")


def copy_log_bytes(rows) -> bytes:
    """A service copy log of ``(path, category, code, message)`` rows and its summary."""
    body = "".join(ENTRY.format(path=p, category=c, code=k, message=m) for p, c, k, m in rows)
    summary = (f"<CopyLog Summary=\"Summary\"><Status>Failed</Status><TotalFiles_Blobs>"
               f"{len(rows) + 5}</TotalFiles_Blobs><FilesErrored>{len(rows)}</FilesErrored>"
               "</CopyLog>\n")
    return (body + summary).encode()


def big_log_rows(n: int = 250):
    """``n`` entries: every third a Win32 error, the rest HTTP 409; paths big/00000 …"""
    return [(f"big/{i:05d}.bin", "UploadErrorWin32" if i % 3 == 0 else "UploadErrorCloudHttp",
             "32" if i % 3 == 0 else "409", "Conflict.") for i in range(n)]


@pytest.fixture
def root(tmp_path):
    path = tmp_path / "root1"
    shutil.copytree(FIXTURES, path)
    (path / "big").mkdir()
    (path / "big" / "ORD9_SER9_CopyLog_big.xml").write_bytes(copy_log_bytes(big_log_rows()))
    return path


@contextlib.contextmanager
def copylog_app(instance: Path, roots: str):
    """An app searching ``roots`` (comma-separated), with an admin and a viewer."""
    app = make_app(instance, COPYLOG_ROOTS=roots)
    with app.app_context():
        users.create(db.get_db(), "admin", ADMIN_PASSWORD, "administrator", must_change=False)
        users.create(db.get_db(), "viewer", VIEWER_PASSWORD, "viewer", must_change=False)
    try:
        yield app
    finally:
        app.extensions["copylogs"].close()
        app.extensions["jobs"].shutdown()


@pytest.fixture
def app(tmp_path, root):
    with copylog_app(tmp_path / "instance", str(root)) as app:
        yield app


@pytest.fixture
def store(app):
    return app.extensions["copylogs"].store


@pytest.fixture
def indexed(store):
    """Every log indexed now, so counts and summaries are complete."""
    for copy_log in store.list():
        store.ensure_index(copy_log.id)
    return store


def wait_for_indexing(app, seconds: float = 60.0) -> None:
    """Until no copy log is being indexed: each index job submits the next before it ends."""
    deadline = time.monotonic() + seconds
    conn = db.connect(db.path_for(app))
    try:
        while jobs.any_active(conn, indexer.KIND) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        conn.close()


def log_id(store, path: str) -> str:
    return next(log.id for log in store.list() if log.path == path)


@pytest.fixture
def hostile(root, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.xml").write_bytes(copy_log_bytes([("SECRET/payroll.xlsx",
                                                          "UploadErrorWin32", "5", "x")]))
    upload = root / "share2" / "Microsoft Data Box Edge" / "Upload"
    upload.mkdir(parents=True)
    (upload / "escape.xml").symlink_to(outside / "secret.xml")
    (root / "acct2" / "ORD1_SER1_CopyLog_laughs.xml").write_bytes(
        b'<!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>\n'
        b'<ErroredEntity Path="&b;"><Category>UploadErrorWin32</Category></ErroredEntity>\n')
    (root / "acct2" / "ORD2_SER2_CopyLog_garbage.xml").write_bytes(bytes(range(256)) * 64)
    return {"escape": "share2/Microsoft Data Box Edge/Upload/escape.xml",
            "laughs": "acct2/ORD1_SER1_CopyLog_laughs.xml",
            "garbage": "acct2/ORD2_SER2_CopyLog_garbage.xml"}


def entity(path, i, category="UploadErrorCloudHttp", code="409"):
    """One ``ErroredEntity`` element of a service copy log, CRLF, its path escaped."""
    return (f'<ErroredEntity Path="{escape(path)}" CloudFormat="BlockBlob">\r\n'
            f"  <Category>{category}</Category>\r\n  <ErrorCode>{code}</ErrorCode>\r\n"
            f"  <ErrorMessage>message {i}</ErrorMessage>\r\n  <Type>File</Type>\r\n"
            "</ErroredEntity>\r\n")
