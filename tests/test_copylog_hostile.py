"""Copy logs: hostile and damaged files give a clear message for that log only, stay bounded
and never read outside the roots."""

from __future__ import annotations

import os
import tracemalloc

import pytest

from diagnostics.copylogs import CopyLogError, CopyLogStore, index

ENTRY = ('<ErroredEntity Path="{path}" CloudFormat="BlockBlob">\n'
         "  <Category>UploadErrorCloudHttp</Category>\n  <ErrorCode>409</ErrorCode>\n"
         "  <ErrorMessage>Conflict.</ErrorMessage>\n  <Type>File</Type>\n</ErroredEntity>\n")
SUMMARY = ("<CopyLog Summary=\"Summary\"><Status>Failed</Status>"
           "<TotalFiles_Blobs>9</TotalFiles_Blobs><FilesErrored>{n}</FilesErrored></CopyLog>\n")


def entries(*paths: str) -> bytes:
    return "".join(ENTRY.format(path=p) for p in paths).encode()


@pytest.fixture
def root(tmp_path):
    path = tmp_path / "root"
    (path / "acct").mkdir(parents=True)
    (path / "acct" / "A_S_CopyLog_good.xml").write_bytes(entries("ok/one", "ok/two"))
    return path


def make_store(root, tmp_path) -> CopyLogStore:
    return CopyLogStore([str(root)], str(tmp_path / "copylog-index"))


def log_named(store: CopyLogStore, name: str):
    return next(log for log in store.list() if log.path.endswith(name))


def assert_good_log_unaffected(store: CopyLogStore) -> None:
    good = log_named(store, "CopyLog_good.xml")
    assert good.error is None
    assert [e.path for e in store.entries(good.id).entries] == ["ok/one", "ok/two"]


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<ErroredEntity Path="&lol9;"><Category>UploadErrorWin32</Category><ErrorCode>5</ErrorCode>
</ErroredEntity>
"""

EXTERNAL_ENTITY = b"""<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<ErroredEntity Path="&xxe;"><Category>UploadErrorWin32</Category><ErrorCode>5</ErrorCode>
</ErroredEntity>
"""


@pytest.mark.parametrize("content", [BILLION_LAUGHS, EXTERNAL_ENTITY])
def test_dtd_and_entities_are_refused(root, tmp_path, content):
    (root / "acct" / "A_S_CopyLog_evil.xml").write_bytes(content)
    store = make_store(root, tmp_path)
    evil = log_named(store, "CopyLog_evil.xml")
    assert evil.status == "unreadable" and "DTD or entities" in evil.error
    with pytest.raises(CopyLogError, match="DTD or entities"):
        store.entries(evil.id)
    store.ensure_index(evil.id)
    assert store.index_status(evil.id)["state"] == "unavailable"
    assert_good_log_unaffected(store)


def test_entity_reference_without_dtd_is_not_expanded(root, tmp_path):
    (root / "acct" / "A_S_CopyLog_ref.xml").write_bytes(
        entries("a/b") + entries("&xxe;/c").replace(b"&amp;", b"&"))
    store = make_store(root, tmp_path)
    log = log_named(store, "CopyLog_ref.xml")
    page = store.entries(log.id)
    assert [e.path for e in page.entries] == ["a/b", "&xxe;/c"]
    assert "not well-formed" in page.entries[1].problem
    assert "root:" not in page.entries[1].path


def test_binary_garbage_is_reported(root, tmp_path):
    garbage = bytes(range(256)) * 4096
    (root / "acct" / "A_S_CopyLog_garbage.xml").write_bytes(garbage)
    (root / "acct" / "A_S_CopyLog_mixed.xml").write_bytes(
        entries("x/1") + garbage + entries("x/2") + SUMMARY.format(n=2).encode())
    store = make_store(root, tmp_path)
    log = log_named(store, "CopyLog_garbage.xml")
    assert log.status == "unreadable" and "not a copy log" in log.error
    with pytest.raises(CopyLogError):
        store.entries(log.id)
    mixed = log_named(store, "CopyLog_mixed.xml")
    store.ensure_index(mixed.id)
    paths = [e.path for e in store.entries(mixed.id).entries]
    assert paths[0] == "x/1" and paths[-1] == "x/2"
    assert_good_log_unaffected(store)


def test_invalid_utf8_is_replaced_and_flagged(root, tmp_path):
    (root / "acct" / "A_S_CopyLog_latin1.xml").write_bytes(
        entries("caf\N{LATIN SMALL LETTER E WITH ACUTE}/x").replace(b"\xc3\xa9", b"\xe9"))
    store = make_store(root, tmp_path)
    entry = store.entries(log_named(store, "CopyLog_latin1.xml").id).entries[0]
    assert entry.path == "caf\ufffd/x" and entry.invalid_utf8


def test_truncated_file_keeps_complete_entries(root, tmp_path):
    whole = entries("t/1", "t/2", "t/3")
    (root / "acct" / "A_S_CopyLog_cut.xml").write_bytes(whole[: len(whole) - 40])
    store = make_store(root, tmp_path)
    log = log_named(store, "CopyLog_cut.xml")
    assert [e.path for e in store.entries(log.id).entries] == ["t/1", "t/2"]
    store.ensure_index(log.id)
    summary = store.summary(log.id)
    assert summary.entries == 2 and summary.error is None
    assert any("truncated" in problem for problem in summary.problems)


def test_single_50_mb_line_of_entries(root, tmp_path):
    one_line = entries(*(f"line/{i:06d}" for i in range(250_000))).replace(b"\n", b"")
    assert len(one_line) > 48 << 20 and b"\n" not in one_line
    (root / "acct" / "A_S_CopyLog_oneline.xml").write_bytes(one_line)
    del one_line
    store = make_store(root, tmp_path)
    log = log_named(store, "CopyLog_oneline.xml")
    tracemalloc.start()
    try:
        first = store.entries(log.id, per_page=3)
        store.ensure_index(log.id)
        last = store.entries(log.id, page=2500, per_page=100)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [e.path for e in first.entries] == ["line/000000", "line/000001", "line/000002"]
    assert last.total == 250_000 and last.entries[-1].path == "line/249999"
    assert peak < 32 << 20


def test_single_huge_element_is_skipped_with_a_message(root, tmp_path):
    huge = ENTRY.format(path="h" * (50 << 20)).encode()
    (root / "acct" / "A_S_CopyLog_huge.xml").write_bytes(entries("before") + huge +
                                                        entries("after"))
    del huge
    store = make_store(root, tmp_path)
    log = log_named(store, "CopyLog_huge.xml")
    tracemalloc.start()
    try:
        store.ensure_index(log.id)
        page = store.entries(log.id)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [e.path for e in page.entries] == ["before", "after"]
    summary = store.summary(log.id)
    assert summary.entries == 2
    assert any("larger than 1 MiB; skipped" in problem for problem in summary.problems)
    assert peak < 32 << 20


def recorded_opens(monkeypatch) -> list[str]:
    """Every path os.open is asked for, resolved against its directory descriptor."""
    seen: list[str] = []
    real_open = os.open

    def spy(path, flags, mode=0o777, *, dir_fd=None):
        base = os.readlink(f"/proc/self/fd/{dir_fd}") if dir_fd is not None else ""
        seen.append(os.path.join(base, os.fsdecode(path)))
        return real_open(path, flags, mode, dir_fd=dir_fd)

    monkeypatch.setattr(os, "open", spy)
    return seen


def test_symlink_leaving_the_root_is_never_opened(root, tmp_path, monkeypatch):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.xml").write_bytes(entries("SECRET/data"))
    upload = root / "share" / "Microsoft Data Box Edge" / "Upload"
    upload.mkdir(parents=True)
    (upload / "evil.xml").symlink_to(outside / "secret.xml")
    (root / "acct" / "B_S_CopyLog_link.xml").symlink_to(outside / "secret.xml")
    (root / "escape").symlink_to(outside, target_is_directory=True)
    (root / "acct" / "inside.xml").symlink_to(root / "acct" / "A_S_CopyLog_good.xml")
    seen = recorded_opens(monkeypatch)
    store = make_store(root, tmp_path)
    logs = store.list()
    evil = [log for log in logs if log.path.endswith(("evil.xml", "CopyLog_link.xml"))]
    assert len(evil) == 2
    for log in evil:
        assert log.status == "unreadable" and "symbolic link" in log.error
        with pytest.raises(CopyLogError, match="symbolic link"):
            store.entries(log.id)
        with pytest.raises(CopyLogError):
            store.open_original(log.id)
        store.ensure_index(log.id)
    assert not any(log.path.startswith("escape") for log in logs)
    for log in logs:
        if log.error is None:
            assert all("SECRET" not in e.path for e in store.iter_entries(log.id))
    assert not [path for path in seen if path.startswith(str(outside))]
    assert_good_log_unaffected(store)


def test_file_growing_after_indexing_is_extended(root, tmp_path, monkeypatch):
    path = root / "acct" / "A_S_CopyLog_grow.xml"
    path.write_bytes(entries(*(f"g/{i}" for i in range(50))))
    store = make_store(root, tmp_path)
    log = log_named(store, "CopyLog_grow.xml")
    store.ensure_index(log.id)
    indexed = store.index_status(log.id)["indexed_bytes"]
    with path.open("ab") as stream:
        stream.write(entries(*(f"g/{i}" for i in range(50, 80))))
    page = store.entries(log.id, page=8, per_page=10)
    assert [e.path for e in page.entries] == [f"g/{i}" for i in range(70, 80)]
    assert store.index_status(log.id)["state"] == "partial"
    starts = []
    real_scan = index.scan_blocks
    monkeypatch.setattr(index, "scan_blocks", lambda fmt, fd, start, *rest: (
        starts.append(start), real_scan(fmt, fd, start, *rest))[1])
    store.ensure_index(log.id)
    assert starts == [indexed]
    assert store.summary(log.id).entries == 80
    assert store.entries(log.id, page=8, per_page=10).total == 80


def test_rewritten_file_is_reindexed(root, tmp_path):
    path = root / "acct" / "A_S_CopyLog_rewrite.xml"
    path.write_bytes(entries(*(f"old/{i}" for i in range(40))))
    store = make_store(root, tmp_path)
    log = log_named(store, "CopyLog_rewrite.xml")
    store.ensure_index(log.id)
    replacement = root / "acct" / "new.tmp"
    replacement.write_bytes(entries(*(f"new/{i}" for i in range(60))))
    replacement.replace(path)
    assert store.index_status(log.id)["state"] == "none"
    assert store.entries(log.id, per_page=2).entries[0].path == "new/0"
    store.ensure_index(log.id)
    assert store.summary(log.id).entries == 60
    assert store.entries(log.id, page=30, per_page=2).entries[-1].path == "new/59"


def test_fifo_and_directories_named_like_logs(root, tmp_path):
    os.mkfifo(root / "acct" / "C_S_CopyLog_fifo.xml")
    (root / "acct" / "D_S_CopyLog_dir.xml").mkdir()
    store = make_store(root, tmp_path)
    fifo = log_named(store, "CopyLog_fifo.xml")
    assert fifo.status == "unreadable" and "regular file" in fifo.error
    assert not any(log.path.endswith("CopyLog_dir.xml") for log in store.list())
    assert_good_log_unaffected(store)


def test_unwritable_index_directory_still_pages(root, tmp_path):
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("")
    store = CopyLogStore([str(root)], str(blocked / "copylog-index"))
    good = log_named(store, "CopyLog_good.xml")
    status = store.ensure_index(good.id)
    assert status["state"] == "none" and "cannot be written" in status["error"]
    assert [e.path for e in store.entries(good.id).entries] == ["ok/one", "ok/two"]
    assert not list(tmp_path.glob("**/*.tmp"))


def test_log_deleted_after_discovery(root, tmp_path):
    store = make_store(root, tmp_path)
    good = log_named(store, "CopyLog_good.xml")
    (root / "acct" / "A_S_CopyLog_good.xml").unlink()
    with pytest.raises(CopyLogError, match="cannot be opened"):
        store.entries(good.id)
    assert store.index_status(good.id)["state"] == "unavailable"


def test_path_search_sees_through_character_references(root, tmp_path):
    (root / "acct" / "A_S_CopyLog_refs.xml").write_bytes(
        entries("plain/1") + entries("caf&#233;/x&#x2F;y") + entries("2024/07"))
    store = make_store(root, tmp_path)
    log = log_named(store, "CopyLog_refs.xml")
    assert [e.path for e in store.entries(log.id, q="x/Y").entries] == ["café/x/y"]
    assert [e.path for e in store.entries(log.id, q="4/0").entries] == ["2024/07"]
    store.ensure_index(log.id)
    assert store.entries(log.id, q="CAFÉ").total == 1
