"""Copy logs: a generated ~50 MB service log, paged and filtered at its start, middle and end,
before, during and after indexing, in bounded memory."""

from __future__ import annotations

import os
import sys
import tracemalloc

import pytest

from diagnostics.copylogs import CopyLogStore, index

CASES = [("UploadErrorCloudHttp", "409"), ("UploadErrorCloudHttp", "400"),
         ("UploadErrorWin32", "32"), ("UploadErrorDataValidationError", "0"),
         ("BlobRenamed", "1"), ("ContainerRenamed", "1"), ("UploadErrorUnknownType", "0")]
PER_PAGE = 100


def entry(i: int, category: str, code: str) -> str:
    path = f"share{i % 5}/dir{i % 997}/file-{i}.bin"
    if i % 4999 == 0:  # irregular child order: read one element at a time
        return (f'<ErroredEntity CloudFormat="PageBlob" Path="{path}"><ErrorCode>{code}'
                f"</ErrorCode><Category>{category}</Category><Type>File</Type>"
                "</ErroredEntity>\n")
    return (f'<ErroredEntity Path="{path}" CloudFormat="BlockBlob">\r\n'
            f"  <Category>{category}</Category>\r\n  <ErrorCode>{code}</ErrorCode>\r\n"
            "  <ErrorMessage>The blob type is invalid for this operation.</ErrorMessage>\r\n"
            "  <Type>File</Type>\r\n</ErroredEntity>\r\n")


@pytest.fixture(scope="module")
def big_log(tmp_path_factory):
    root = tmp_path_factory.mktemp("large") / "root"
    (root / "acct").mkdir(parents=True)
    expected = []
    with open(root / "acct" / "ORD_SER_CopyLog_big.xml", "w", encoding="utf-8",
              newline="") as stream:
        i = size = 0
        while size < 50 << 20:
            category, code = CASES[(i * 7 + i // 3) % len(CASES)]
            text = entry(i, category, code)
            stream.write(text)
            size += len(text)
            expected.append((f"share{i % 5}/dir{i % 997}/file-{i}.bin", category, code))
            i += 1
        stream.write("<CopyLog Summary=\"Summary\"><Status>Failed</Status><TotalFiles_Blobs>"
                     f"{i * 2}</TotalFiles_Blobs><FilesErrored>{i}</FilesErrored></CopyLog>\n")
    return root, expected


FILTERS = [{}, {"code": "409"}, {"category": "BlobRenamed"}, {"code": "1"},
           {"category": "UploadErrorCloudHttp", "code": "400"}, {"q": "dir996/"},
           {"q": "FILE-12345"}, {"code": "32", "q": "share3/"}]


def wanted(expected, filters):
    q = filters.get("q", "").lower()
    return [path for path, category, code in expected
            if filters.get("code") in (None, code)
            and filters.get("category") in (None, category) and q in path.lower()]


def check_pages(store, log_id, expected, filters):
    paths = wanted(expected, filters)
    last = max(1, -(-len(paths) // PER_PAGE))
    for page in sorted({1, 2, (last + 1) // 2, last}):
        got = store.entries(log_id, page=page, per_page=PER_PAGE, **filters)
        assert [e.path for e in got.entries] == paths[(page - 1) * PER_PAGE:page * PER_PAGE], \
            (filters, page)
        if got.total_exact:
            assert got.total == len(paths)
        else:
            assert got.total <= len(paths)


@pytest.mark.parametrize("filters", FILTERS)
def test_pages_and_filters_once_indexed(big_log, tmp_path, filters):
    root, expected = big_log
    store = CopyLogStore([str(root)], str(tmp_path / "idx"))
    log_id = store.list()[0].id
    store.ensure_index(log_id)
    check_pages(store, log_id, expected, filters)
    if "q" not in filters:
        assert store.entries(log_id, **filters).total_exact


def test_pages_and_filters_with_a_partial_index(big_log, tmp_path):
    root, expected = big_log
    store = CopyLogStore([str(root)], str(tmp_path / "idx"))
    log_id = store.list()[0].id
    store.close()  # the build stops, and saves, after its first range
    store.ensure_index(log_id)
    status = store.index_status(log_id)
    assert status["state"] == "partial" and 0 < status["indexed_bytes"] < status["size"]
    for filters in FILTERS[:3]:
        check_pages(store, log_id, expected, filters)


def test_first_page_cold_and_summary(big_log, tmp_path):
    root, expected = big_log
    store = CopyLogStore([str(root)], str(tmp_path / "idx"))
    log = store.list()[0]
    assert log.totals["files_errored"] == len(expected) and log.status == "failed"
    first = store.entries(log.id, per_page=PER_PAGE)
    assert [e.path for e in first.entries] == wanted(expected, {})[:PER_PAGE]
    assert not first.total_exact
    store.ensure_index(log.id)
    summary = store.summary(log.id)
    assert summary.entries == len(expected) and summary.indexed
    assert summary.warnings == sum(1 for _, category, _ in expected if "Renamed" in category)
    assert summary.by_code["409"] == sum(1 for _, _, code in expected if code == "409")


def test_export_streams_every_matching_entry(big_log, tmp_path):
    root, expected = big_log
    store = CopyLogStore([str(root)], str(tmp_path / "idx"))
    log_id = store.list()[0].id
    store.ensure_index(log_id)
    exported = [e.path for e in store.iter_entries(log_id, code="400")]
    assert exported == wanted(expected, {"code": "400"})


@pytest.mark.parametrize("python", [sys.executable, "/bin/false"])
def test_parallel_indexing_matches(big_log, tmp_path, monkeypatch, python):
    """Worker processes, or this process alone when they fail, give the same index."""
    root, expected = big_log
    monkeypatch.setattr(index, "PARALLEL_MIN_BYTES", 1 << 20)
    monkeypatch.setattr(index, "SEGMENT_BYTES", 8 << 20)
    monkeypatch.setattr(index, "MAX_WORKERS", 2)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    monkeypatch.setattr(index.sys, "executable", python)
    store = CopyLogStore([str(root)], str(tmp_path / "idx"))
    log_id = store.list()[0].id
    store.ensure_index(log_id)
    assert store.summary(log_id).entries == len(expected)
    for filters in FILTERS[:3]:
        check_pages(store, log_id, expected, filters)


def test_memory_stays_bounded(big_log, tmp_path):
    root, expected = big_log
    store = CopyLogStore([str(root)], str(tmp_path / "idx"))
    log_id = store.list()[0].id
    tracemalloc.start()
    try:
        store.entries(log_id, page=3)
        store.ensure_index(log_id)
        for filters in ({}, {"code": "409"}, {"q": "dir5/"}):
            store.entries(log_id, page=400, **filters)
        for _ in store.iter_entries(log_id, q="file-4242"):
            pass
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 24 << 20
