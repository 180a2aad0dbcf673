"""Copy logs: discovery, the three formats and the reference, from the fixtures under
tests/data/copylogs (written from shared/reference/copy-logs.md)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from diagnostics.copylogs import CopyLogError, CopyLogStore, discover, reference

FIXTURES = Path(__file__).parent / "data" / "copylogs" / "root1"


@pytest.fixture
def store(tmp_path):
    root = tmp_path / "root1"
    shutil.copytree(FIXTURES, root)
    store = CopyLogStore([str(root)], str(tmp_path / "copylog-index"))
    for log in store.list():
        store.ensure_index(log.id)
    return store


def by_path(store, suffix):
    return next(log for log in store.list() if log.path.endswith(suffix))


def test_discovers_every_log_once_and_nothing_else(store):
    paths = sorted(log.path for log in store.list())
    assert paths == sorted([
        "acct2/ORD100_SER456_CopyLog_old.xml",
        "archive/Microsoft Azure Stack Edge Pro/Refresh/refresh.xml",
        "databoxcopylog/ORD123_SER456_CopyLog_5e8f8c59-0c1b-4a21-9f3b-3c9b3a8d2f10.xml",
        "disk/ORD200_SER789_CopyLog_disk.xml",
        "misc/exported-upload.xml",
        "photos/Microsoft Data Box Gateway/Upload/photos.log",
        "share1/Microsoft Data Box Edge/Refresh/refresh-2019-03-19.xml",
        "share1/Microsoft Data Box Edge/Upload/upload-2019-03-18.xml",
        "share1/error.xml",
    ])
    kinds = {log.path: log.kind for log in store.list()}
    assert kinds["share1/Microsoft Data Box Edge/Upload/upload-2019-03-18.xml"] == "upload"
    assert kinds["archive/Microsoft Azure Stack Edge Pro/Refresh/refresh.xml"] == "refresh"
    assert kinds["share1/error.xml"] == "validation"
    assert kinds["misc/exported-upload.xml"] == "upload"  # recognised by content alone


def test_ids_are_stable_url_safe_and_reveal_no_path(store, tmp_path):
    first = {log.path: log.id for log in store.list()}
    again = CopyLogStore([str(tmp_path / "root1")], str(tmp_path / "other-index"))
    assert {log.path: log.id for log in again.list()} == first
    for log_id in first.values():
        assert log_id.replace("-", "").replace("_", "").isalnum()
        assert "share" not in log_id and "/" not in log_id


def test_list_rows_have_the_api_shape(store):
    row = by_path(store, "refresh-2019-03-19.xml").to_dict()
    assert {"id", "root", "share", "kind", "path", "modified_at", "size", "status", "entries",
            "errors", "warnings", "by_category", "by_code", "error"} <= row.keys()
    json.dumps(row)
    assert row["share"] == "share1" and row["status"] == "failed" and row["error"] is None
    assert row["device"] == "EDGE-01" and row["timestamp"] == "03/19/2019 08:00:00"


def test_per_share_upload_log_covers_every_code_of_table_c(store):
    log = by_path(store, "upload-2019-03-18.xml")
    refresh = by_path(store, "refresh-2019-03-19.xml")
    assert set(log.by_code) | set(refresh.by_code) == set(reference.codes())
    assert log.entries == 24 and log.warnings == 1 and log.errors == 23  # 2997 is transient
    assert log.totals["errors"] == 24 and log.totals["runtime"] == "00:00:01.0945320"
    entries = store.entries(log.id, per_page=100).entries
    first = entries[0].to_dict()
    assert first["path"] == "dir/a.txt-0" and first["code"] == 100
    assert first["code_name"] == "ERROR_CONTAINER_OR_SHARE_NAME_LENGTH"
    assert first["local"] is True and first["remote"] is False
    paths = [e.path for e in entries]
    assert "Fotos/Überweisung März.pdf-1" in paths and "日本語/ファイル.txt-2" in paths
    assert "bad&name.txt-5" in paths and "tab\tname-6" in paths


def test_refresh_log_and_gateway_log_with_declaration_and_odd_layout(store):
    refresh = store.entries(by_path(store, "refresh-2019-03-19.xml").id).entries
    assert [(e.code, e.code_name) for e in refresh] == [
        (16001, "RefreshAlreadyExistsException"), (16000, "RefreshException"),
        (16002, "RefreshWorkNeededException")]
    assert refresh[2].path == "reports/ünïcödé.docx"
    gateway = by_path(store, "photos.log")
    assert gateway.device == "GW-7" and gateway.share == "photos"
    assert [e.path for e in store.entries(gateway.id).entries] == [
        "2026/11/IMG_0001.JPG", "2026/11/IMG_0002.JPG"]


def test_empty_refresh_log_is_a_success(store):
    log = by_path(store, "Edge Pro/Refresh/refresh.xml")
    assert (log.status, log.entries, log.errors, log.device) == ("succeeded", 0, 0, "ASE-PRO-2")


def test_service_copy_log_every_category_and_renames_as_warnings(store):
    log = by_path(store, "CopyLog_5e8f8c59-0c1b-4a21-9f3b-3c9b3a8d2f10.xml")
    service = {name for name in reference.categories()
               if name.startswith(("UploadError", "Export")) or name in
               reference.rename_categories()}
    assert set(log.by_category) == service
    assert (log.status, log.entries, log.errors, log.warnings) == ("failed", 12, 7, 5)
    assert log.totals == {"total_files": 72, "files_errored": 7}
    entries = store.entries(log.id).entries
    first = entries[0].to_dict()
    assert first == first | {"path": "iso/disk.iso", "category": "UploadErrorCloudHttp",
                             "code": 409, "code_name": "HTTP 409 Conflict", "type": "File",
                             "cloud_format": "BlockBlob", "severity": "error",
                             "message": "The blob type is invalid for this operation."}
    renamed = [e for e in entries if e.category in reference.rename_categories()]
    assert len(renamed) == 5 and all(e.severity == "warning" and e.code == 1 for e in renamed)
    assert entries[3].path == "data/täglich.csv"


def test_old_service_log_with_total_files_and_any_child_order(store):
    log = by_path(store, "CopyLog_old.xml")
    assert log.totals == {"total_files": 10, "files_errored": 2}
    entries = store.entries(log.id).entries
    assert [(e.path, e.code, e.message) for e in entries] == [
        ("legacy/a.txt", 409, "There is currently a lease on the blob and no lease ID was "
                              "specified in the request."),
        ("legacy/b.txt", 400, "Invalid name.")]


def test_disk_copy_log_with_nested_summary(store):
    log = by_path(store, "CopyLog_disk.xml")
    assert log.status == "warnings" and log.warnings == 1 and log.errors == 0
    assert log.disk["drive_id"] == "184020D95632"
    assert log.disk["drive_log_version"] == "2018-10-01"
    assert {"name": "ContainerRenamed", "count": 2,
            "description": "Renamed the container as the name did not follow Azure "
                           "conventions."} in log.disk["CopyErrors"]


def test_validation_list_symbolic_errors_base64_and_severity(store):
    log = by_path(store, "share1/error.xml")
    assert set(log.by_code) >= set(reference.symbolic_errors())
    entries = store.entries(log.id).entries
    by_symbol = {e.code_name: e for e in entries if e.name_encoding is None}
    assert by_symbol["ERROR_BLOB_OR_FILE_SIZE_ALIGNMENT"].code == 109
    assert by_symbol["ERROR_BLOB_OR_FILE_SIZE_ALIGNMENT"].severity == "error"
    assert by_symbol["ERROR_BLOB_OR_FILE_NAME_CHARACTER_ILLEGAL"].severity == "warning"
    assert by_symbol["ERROR_GENERAL"].code == "ERROR_GENERAL"
    assert by_symbol["ERROR_GENERAL"].severity == "error"
    assert entries[0].path == "\\share1\\folder0\\file0.dat"
    encoded = [e for e in entries if e.name_encoding == "Base64"]
    assert [e.path for e in encoded] == ["\\share1\\Überschrift\x07.txt", "\\Invalid"]
    assert encoded[1].raw_name == "XEludmFsaWQ="
    assert log.status == "failed" and log.warnings == 10 and log.errors == 13


@pytest.mark.parametrize(("suffix", "filters", "expected"), [
    ("upload-2019-03-18.xml", {"code": "2002"}, ["dir/a.txt-14"]),
    ("upload-2019-03-18.xml", {"code": "error_already_open"}, ["dir/a.txt-14"]),
    ("upload-2019-03-18.xml", {"category": "BlobOrFileSize"},
     ["Fotos/Überweisung März.pdf-8", "日本語/ファイル.txt-9"]),
    ("upload-2019-03-18.xml", {"q": "ÜBERWEISUNG"},
     ["Fotos/Überweisung März.pdf-1", "Fotos/Überweisung März.pdf-8",
      "Fotos/Überweisung März.pdf-15", "Fotos/Überweisung März.pdf-22"]),
    ("upload-2019-03-18.xml", {"category": "Upload", "q": "com1"}, ["COM1-18"]),
    ("share1/error.xml", {"code": "109"},
     ["\\share1\\folder9\\file9.dat", "\\PageBlob\\File100Bytes"]),
    ("share1/error.xml", {"q": "überschrift"}, ["\\share1\\Überschrift\x07.txt"]),
    ("share1/error.xml", {"q": "folder9/file9"}, ["\\share1\\folder9\\file9.dat"]),
    ("CopyLog_5e8f8c59-0c1b-4a21-9f3b-3c9b3a8d2f10.xml", {"code": "1", "q": "disk"},
     ["disks/Disk 1.vhd"]),
    ("CopyLog_5e8f8c59-0c1b-4a21-9f3b-3c9b3a8d2f10.xml", {"category": "uploaderrorcloudhttp"},
     ["iso/disk.iso", "iso/huge.vhd"]),
])
def test_filters(store, suffix, filters, expected):
    log = by_path(store, suffix)
    page = store.entries(log.id, **filters)
    assert [e.path for e in page.entries] == expected
    assert page.total == len(expected) and page.total_exact
    assert [e.path for e in store.iter_entries(log.id, **filters)] == expected


def test_page_shape_and_bounds(store):
    log = by_path(store, "upload-2019-03-18.xml")
    page = store.entries(log.id, page=3, per_page=10)
    assert [e.ordinal for e in page.entries] == [20, 21, 22, 23]
    shape = page.to_dict()
    assert shape["total"] == 24 and shape["page"] == 3 and shape["per_page"] == 10
    assert store.entries(log.id, page=9, per_page=10).entries == []
    with pytest.raises(ValueError):
        store.entries(log.id, page=0)
    with pytest.raises(ValueError):
        store.entries(log.id, per_page=5000)
    with pytest.raises(KeyError):
        store.entries("no-such-id")


def test_paging_before_any_index_reads_in_order(tmp_path):
    root = tmp_path / "root1"
    shutil.copytree(FIXTURES, root)
    store = CopyLogStore([str(root)], str(tmp_path / "idx"))
    log = by_path(store, "upload-2019-03-18.xml")
    assert log.entries is None and not log.indexed and log.status == "failed"
    assert store.index_status(log.id)["state"] == "none"
    page = store.entries(log.id, per_page=5, code="2997")
    assert [e.path for e in page.entries] == ["Fotos/Überweisung März.pdf-22"]
    store.ensure_index(log.id)
    assert store.index_status(log.id)["state"] == "complete"
    assert store.summary(log.id).entries == 24


def test_open_original_gives_the_file(store):
    log = by_path(store, "photos.log")
    with store.open_original(log.id) as stream:
        assert stream.read().startswith(b'<?xml version="1.0"')


def test_discover_without_index(tmp_path):
    logs = discover([str(FIXTURES)])
    assert len(logs) == 9 and all(log.entries is None or log.entries == 0 for log in logs)


def test_reference_for_the_ui():
    assert reference.code_info(16001)["name"] == "RefreshAlreadyExistsException"
    assert reference.code_info("ERROR_ETAG_MISMATCH")["code"] == 2000
    assert reference.code_info("409", "UploadErrorCloudHttp")["action"].startswith("Not retried")
    assert reference.code_info(1, "BlobRenamed")["name"] == "RENAMED"
    assert reference.code_info(32, "UploadErrorWin32") is None
    assert reference.category_info("ContainerRenamed")["severity"] == "warning"
    assert reference.category_info("Nope") is None
    for info in [*reference.codes().values(), *reference.categories().values()]:
        assert info["meaning"] and info["action"]


def test_unknown_log_id(store):
    with pytest.raises(KeyError):
        store.summary("AAAAAAAAAAAAAAAA")
    with pytest.raises(KeyError):
        store.open_original("AAAAAAAAAAAAAAAA")


def test_copy_log_error_is_an_exception_with_a_message():
    assert str(CopyLogError("why")) == "why"


def test_user_xml_files_cannot_crowd_out_the_logs(tmp_path, monkeypatch):
    from diagnostics.copylogs import discovery

    monkeypatch.setattr(discovery, "MAX_UNNAMED", 2)
    root = tmp_path / "share"
    (root / "a-user-data").mkdir(parents=True)
    for i in range(5):
        (root / "a-user-data" / f"doc{i}.xml").write_text("<doc/>")
    shutil.copytree(FIXTURES / "share1" / "Microsoft Data Box Edge",
                    root / "z" / "Microsoft Data Box Edge")
    logs = CopyLogStore([str(root)], str(tmp_path / "idx")).list()
    assert sorted(log.kind for log in logs) == ["refresh", "upload"]
    assert {log.share for log in logs} == {"z"}


@pytest.mark.parametrize(("name", "content"), [
    ("share/Microsoft Data Box Edge/Upload/empty.xml", b""),
    ("share/Microsoft Data Box Gateway/Refresh/decl.xml", b'<?xml version="1.0"?>\r\n'),
    ("share/error.xml", b'\xef\xbb\xbf<?xml version="1.0"?>\n<ErrorList>\n</ErrorList>\n'),
    ("acct/O_S_CopyLog_none.xml", b"<?xml version='1.0'?>"),
])
def test_logs_without_entries(tmp_path, name, content):
    path = tmp_path / "root" / name
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    store = CopyLogStore([str(tmp_path / "root")], str(tmp_path / "idx"))
    (log,) = store.list()
    assert log.error is None
    assert store.entries(log.id).to_dict()["entries"] == []
    store.ensure_index(log.id)
    log = store.summary(log.id)
    assert (log.status, log.entries, log.errors, log.warnings) == ("succeeded", 0, 0, 0)
