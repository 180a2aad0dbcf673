"""Copy logs whose names come from the host as bytes: not UTF-8, CR/LF, quotes and semicolons,
bidirectional overrides, 4,000-byte paths. Every page, the API, the download and the CSV export
answer without a 500, show the names with U+FFFD, keep every header free of control characters
and serve the original bytes; nothing outside the roots is read."""
# ruff: noqa: F811  (the fixtures come from test_copylogs_web and are named as parameters)

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
from pathlib import Path
from urllib.parse import unquote

import pytest
from markupsafe import escape

from diagnostics.copylogs import CopyLogStore
from diagnostics.copylogs import index as indexing
from webui import db
from webui.copylogs.indexer import INDEX_DIR
from webui.downloads import content_disposition, display_name

from copylog_fixtures import (  # noqa: F401  (fixtures are found by name)
    FIXTURES,
    SERVICE_LOG,
    UPLOAD,
    app,
    copy_log_bytes,
    root,
    store,
)

LONG_FOLDER = ("é" * 125).encode()  # 250 bytes, within NAME_MAX
# 4,256 bytes: longer than PATH_MAX even without the root in front
LONG_PATH = b"/".join([LONG_FOLDER] * 16) + b"/ORD5_SER5_CopyLog_" + b"x" * 218 + b".xml"

# (what is odd, path under the root as bytes, fixture with its content, path as shown)
NAMES = [
    ("file name not UTF-8", b"acct2/ORD1_SER1_CopyLog_\xff\xfe.xml", SERVICE_LOG,
     "acct2/ORD1_SER1_CopyLog_\ufffd\ufffd.xml"),
    ("sniffed file name not UTF-8", b"misc/Upload\xff\xfe.xml", UPLOAD,
     "misc/Upload\ufffd\ufffd.xml"),
    ("share folder not UTF-8", b"sh\xffare/Microsoft Data Box Edge/Upload/upload\xfe.xml", UPLOAD,
     "sh\ufffdare/Microsoft Data Box Edge/Upload/upload\ufffd.xml"),
    ("CR/LF", b"acct2/ORD2_SER2_CopyLog_a\r\nSet-Cookie: stolen=1.xml", SERVICE_LOG,
     "acct2/ORD2_SER2_CopyLog_a\ufffd\ufffdSet-Cookie: stolen=1.xml"),
    ("quotes and semicolons", b'acct2/ORD3_SER3_CopyLog_"x";filename=evil.xml', SERVICE_LOG,
     'acct2/ORD3_SER3_CopyLog_"x";filename=evil.xml'),
    ("right-to-left override", "acct2/ORD4_SER4_CopyLog_\u202elmx.exe.xml".encode(), SERVICE_LOG,
     "acct2/ORD4_SER4_CopyLog_\ufffdlmx.exe.xml"),
    ("4,256-byte path", LONG_PATH, SERVICE_LOG, LONG_PATH.decode()),
]
ESCAPE = b"acct2/ORD6_SER6_CopyLog_\xff\r\n.xml"  # a symbolic link out of the root
ESCAPE_SHOWN = "acct2/ORD6_SER6_CopyLog_\ufffd\ufffd\ufffd.xml"
NEVER_SHOWN = ("a\r\nSet-Cookie", "\u202e", "\\udc", "SECRET", "payroll")


def plant(root: Path, rel: bytes, content: bytes) -> None:
    """Write ``content`` at ``rel`` under ``root`` one folder at a time, as a path of 4,256
    bytes is longer than the system takes in one piece."""
    parts = rel.split(b"/")
    directory = os.open(os.fsencode(root), os.O_RDONLY | os.O_DIRECTORY)
    try:
        for part in parts[:-1]:
            with contextlib.suppress(FileExistsError):
                os.mkdir(part, dir_fd=directory)
            child = os.open(part, os.O_RDONLY | os.O_DIRECTORY, dir_fd=directory)
            os.close(directory)
            directory = child
        fd = os.open(parts[-1], os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644, dir_fd=directory)
        with os.fdopen(fd, "wb") as stream:
            stream.write(content)
    finally:
        os.close(directory)


@pytest.fixture
def named(root, tmp_path):
    """Every hostile name planted in the root, with valid log content; answers
    ``{shown path: original bytes}``."""
    originals = {}
    for _odd, rel, fixture, shown in NAMES:
        content = (FIXTURES / fixture).read_bytes()
        plant(root, rel, content)
        originals[shown] = content
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.xml").write_bytes(copy_log_bytes([("SECRET/payroll.xlsx",
                                                          "UploadErrorWin32", "5", "x")]))
    os.symlink(outside / "secret.xml", os.fsencode(root) + b"/" + ESCAPE)
    return originals


def ids_by_path(client) -> dict[str, str]:
    logs = client.get("/api/v1/copylogs").get_json()["items"]
    return {log["path"]: log["id"] for log in logs}


def assert_safe(response) -> None:
    """No 500, no traceback, no raw hostile name or surrogate escape, nothing from outside the
    root, no header that carries anything but printable ASCII."""
    assert response.status_code < 500
    body = response.get_data().decode("utf-8")
    assert "Traceback" not in body
    if not response.mimetype.startswith(("text/csv", "application/octet-stream")):
        for text in NEVER_SHOWN:
            assert text not in body
    for name, value in response.headers.items():
        assert all(0x20 <= ord(c) < 0x7F for c in value), (name, value)


def filename_star(header: str) -> str:
    return unquote(re.search(r"filename\*=UTF-8''(\S+)", header)[1])


@pytest.mark.parametrize("odd, rel, fixture, shown", NAMES, ids=[row[0] for row in NAMES])
def test_every_page_works_for_a_hostile_name(client, auth, root, named, odd, rel, fixture,
                                             shown):
    auth.sign_in()
    listing = client.get("/copy-logs/")
    assert listing.status_code == 200
    assert_safe(listing)
    assert f'aria-label="{escape(shown)}"' in listing.get_data(as_text=True)

    api = client.get("/api/v1/copylogs")
    assert api.status_code == 200
    assert_safe(api)
    row = next(log for log in json.loads(api.get_data().decode("utf-8"))["items"]
               if log["path"] == shown)
    assert row["error"] is None and re.fullmatch(r"[A-Za-z0-9_-]{16}", row["id"])
    if rel.startswith(b"sh\xff"):
        assert row["share"] == "sh\ufffdare"

    page = client.get(f"/copy-logs/{row['id']}")
    assert page.status_code == 200
    assert_safe(page)
    assert f"<code>{escape(shown)}</code>" in page.get_data(as_text=True)
    assert "Download the original" in page.get_data(as_text=True)

    one = client.get(f"/api/v1/copylogs/{row['id']}")
    assert one.status_code == 200 and one.get_json()["path"] == shown
    entries = client.get(f"/api/v1/copylogs/{row['id']}/entries")
    assert entries.status_code == 200 and entries.get_json()["items"]
    assert_safe(entries)


@pytest.mark.parametrize("odd, rel, fixture, shown", NAMES, ids=[row[0] for row in NAMES])
def test_download_and_export_of_a_hostile_name(client, auth, root, named, odd, rel, fixture,
                                               shown):
    auth.sign_in()
    log_id = ids_by_path(client)[shown]
    download = client.get(f"/copy-logs/{log_id}/download")
    assert download.status_code == 200
    assert_safe(download)
    assert download.get_data() == named[shown] == (FIXTURES / fixture).read_bytes()
    header = download.headers["Content-Disposition"]
    assert header == content_disposition(rel.rsplit(b"/", 1)[-1])
    assert filename_star(header).endswith(".xml")
    download.close()

    export = client.get(f"/copy-logs/{log_id}/entries.csv")
    assert export.status_code == 200 and export.mimetype == "text/csv"
    assert_safe(export)
    header = export.headers["Content-Disposition"]
    assert header.startswith('attachment; filename="') and filename_star(header).endswith(".csv")
    rows = list(csv.DictReader(io.StringIO(export.get_data(as_text=True))))
    assert len(rows) == client.get(f"/api/v1/copylogs/{log_id}/entries").get_json()["total"]

    with client.application.app_context():
        audited = db.get_db().execute("SELECT action, target FROM audit WHERE action LIKE "
                                      "'copylog_%' ORDER BY id").fetchall()
    assert [tuple(row) for row in audited] == [("copylog_download", shown),
                                               ("copylog_export", shown)]


def test_a_hostile_symlink_out_of_the_root_is_listed_and_never_read(client, auth, named):
    auth.sign_in()
    listing = client.get("/copy-logs/")
    assert_safe(listing)
    assert f'aria-label="{escape(ESCAPE_SHOWN)}"' in listing.get_data(as_text=True)
    log_id = ids_by_path(client)[ESCAPE_SHOWN]
    responses = [client.get(f"/copy-logs/{log_id}"),
                 client.get(f"/copy-logs/{log_id}/download"),
                 client.get(f"/copy-logs/{log_id}/entries.csv"),
                 client.get(f"/api/v1/copylogs/{log_id}"),
                 client.get(f"/api/v1/copylogs/{log_id}/entries")]
    assert [r.status_code for r in responses] == [200, 404, 409, 200, 409]
    for response in responses:
        assert_safe(response)
    assert "symbolic link" in responses[0].get_data(as_text=True)
    assert_safe(client.get("/"))


def test_ids_of_hostile_names_are_stable_across_restarts(client, auth, root, tmp_path, named):
    auth.sign_in()
    first = ids_by_path(client)
    again = CopyLogStore([str(root)], str(tmp_path / "other-index"))
    assert {display_name(log.path): log.id for log in again.list()} == first
    assert set(named) <= set(first)


def test_index_files_of_hostile_names_are_plain_file_names(client, auth, app, store, named):
    for copy_log in store.list():
        store.ensure_index(copy_log.id)
    files = os.listdir(Path(app.config["INSTANCE"]) / INDEX_DIR)
    assert len(files) >= len(named)
    assert all(re.fullmatch(r"[0-9a-f]{32}\.(json|[0-9a-f]{16}\.paths)", name) for name in files)
    auth.sign_in()
    ids = ids_by_path(client)
    for shown in named:
        summary = client.get(f"/api/v1/copylogs/{ids[shown]}").get_json()
        assert summary["indexed"] and summary["entries"]
        assert summary["index"]["state"] == "complete"


def test_index_workers_open_hostile_names_inside_their_root(store, named, monkeypatch):
    expected = {}
    for copy_log in store.list():
        store.ensure_index(copy_log.id)
        expected[copy_log.id] = store.summary(copy_log.id).by_code
    workers = CopyLogStore(store.roots, store.index_dir + "-workers")
    monkeypatch.setattr(indexing, "PARALLEL_MIN_BYTES", 1)
    monkeypatch.setattr(indexing, "_idle_cpus", lambda: 2)

    def counted_here(*args):
        raise AssertionError("a worker failed, so this process counted the range itself")

    monkeypatch.setattr(indexing, "count_segment", counted_here)
    for shown in named:
        log_id = next(log.id for log in workers.list() if display_name(log.path) == shown)
        assert workers.ensure_index(log_id)["state"] == "complete"
        assert workers.summary(log_id).by_code == expected[log_id]
