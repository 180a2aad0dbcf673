"""Path search through the index's path columns: exact, skipping blocks, rebuilt when old."""

import json
import os
import random

import pytest

from diagnostics.copylogs import CopyLogStore, paging, search
from diagnostics.copylogs import index as indexing
from diagnostics.copylogs.formats import COPY_LOG, SHARE, VALIDATION

from copylog_fixtures import entity

ALPHABET = "aAbBzZ09/-_. ßẞſKkİıéÉ\\&<\"'😀ﬁ"


def indexed(root, tmp_path):
    """A store over ``root`` with its one log indexed under ``tmp_path/idx``, and its id."""
    store = CopyLogStore([str(root)], str(tmp_path / "idx"))
    log_id = store.list()[0].id
    store.ensure_index(log_id)
    return store, log_id


def write_log(root, paths, name="A_S_CopyLog_x.xml"):
    folder = root / "acct"
    folder.mkdir(parents=True, exist_ok=True)
    text = "".join(entity(p, i) for i, p in enumerate(paths))
    (folder / name).write_text(text + '<CopyLog Summary="Summary"><Status>Failed</Status>'
                               "</CopyLog>\r\n", encoding="utf-8")


def holding(paths, q, fmt=COPY_LOG):
    return [p for p in paths if search.fold(q, fmt) in search.fold(p, fmt)]


def random_text(rng, n):
    return "".join(rng.choice(ALPHABET) for _ in range(n))


@pytest.mark.parametrize("seed", range(5))
def test_column_counts_every_path_holding_the_text(seed):
    rng = random.Random(seed)
    paths = [random_text(rng, rng.randint(0, 12)) for _ in range(300)]
    data = "".join(entity(p, i) for i, p in enumerate(paths)).encode()
    column = search.column(COPY_LOG, data, len(paths))
    assert column is not None
    lines = search.lines(COPY_LOG, data, len(paths))
    assert column.split(b"\n") == lines
    for _ in range(200):
        source = rng.choice(paths)
        start = rng.randint(0, len(source))
        q = source[start:start + rng.randint(1, 4)] or random_text(rng, 2)
        q = "".join(c.upper() if rng.random() < 0.5 else c for c in q)
        expected = sum(1 for p in paths if search.fold(q, COPY_LOG) in search.fold(p, COPY_LOG))
        sought = search.needle(q, COPY_LOG)
        assert search.count_lines(column, sought) == expected, q
        assert len(search.lines_holding(column, sought, len(column))) == expected, q
        assert len(search.matching_lines(lines, sought)) == expected, q


def test_count_lines_counts_a_line_once_and_dense_columns_exactly():
    column = b"\n".join([b"aa-aa-aa", b"b", b"aa"] * 100)
    assert search.count_lines(column, b"aa") == 200
    assert search.count_lines(column, b"a-a") == 100
    assert search.count_lines(b"xaax\n\0aa", b"aa") == 2
    assert search.count_lines(b"", b"aa") == 0


def test_irregular_entries_and_other_formats_give_one_line_per_entry():
    data = (b'<ErroredEntity CloudFormat="X" Path="One"><Category>c</Category></ErroredEntity>'
            b"<ErroredEntity Path='Two'><Category>c</Category></ErroredEntity>")
    assert search.lines(COPY_LOG, data, 2) == [b"one", b"two"]
    share = b'<file item="Dir/&#xC9;t&#233;.txt" error="16001" />\n<file item="b" error="1"/>'
    assert search.lines(SHARE, share, 2) == ["dir/été.txt".encode(), b"b"]
    listed = b'<file error="E">\\PageBlob\\F</file>\n<file error="E" name_encoding="Base64">' \
             b"XEludmFsaWQ=</file>"
    assert search.lines(VALIDATION, listed, 2) == [b"/pageblob/f", b"/invalid"]
    newline = b'<ErroredEntity Path="a&#10;b"></ErroredEntity>'
    assert search.column(COPY_LOG, newline, 1) is None
    assert search.lines(COPY_LOG, newline, 1) == [b"a\nb"]


@pytest.fixture()
def spread(tmp_path):
    """A log of several blocks whose rare paths sit in the second block only."""
    paths = [f"share/dir{i % 50}/file-{i}.bin" for i in range(14000)]
    for i in range(5000, 5020):
        paths[i] = f"Rare/Ünïcode-{i}.BIN"
    root = tmp_path / "root"
    write_log(root, paths)
    return root, paths


def reads(monkeypatch):
    """Offsets of the blocks read, whole or in parts."""
    counted = []
    real, real_parts = paging.Reader._data, paging.Reader._read_parts

    def data(self, offset, length):
        counted.append(offset)
        return real(self, offset, length)

    def parts(self, block, column, chosen):
        if chosen:
            counted.append(block.offset)
        return real_parts(self, block, column, chosen)

    monkeypatch.setattr(paging.Reader, "_data", data)
    monkeypatch.setattr(paging.Reader, "_read_parts", parts)
    return counted


def test_search_reads_only_the_blocks_its_page_needs(spread, tmp_path, monkeypatch):
    root, paths = spread
    store, log_id = indexed(root, tmp_path)
    index = indexing.load(next(str(p) for p in (tmp_path / "idx").glob("*.json")))
    assert len(index.blocks) >= 3 and all(b.column_at >= 0 for b in index.blocks)
    offsets = {b.offset for b in index.blocks}
    counted = reads(monkeypatch)
    page = store.entries(log_id, q="rare/ÜNÏCODE", per_page=10, page=2)
    assert [e.path for e in page.entries] == holding(paths, "rare/ünïcode")[10:20]
    assert page.total == 20 and page.total_exact
    assert len(offsets & set(counted)) == 1  # of the indexed blocks, only the one holding them
    counted.clear()
    none = store.entries(log_id, q="no such path")
    assert (none.total, none.total_exact, none.entries) == (0, True, [])
    assert not offsets & set(counted)
    counted.clear()
    exported = list(store.iter_entries(log_id, q="RARE"))
    assert [e.path for e in exported] == holding(paths, "rare")
    assert len(offsets & set(counted)) == 1


@pytest.mark.parametrize("q", ["rare", "FILE-45", "dir7/", "/", "ü", ".bin", "e-1"])
def test_indexed_search_pages_as_a_plain_scan(spread, tmp_path, q):
    root, paths = spread
    plain = CopyLogStore([str(root)], None)
    store, log_id = indexed(root, tmp_path)
    expected = holding(paths, q)
    last = max(1, -(-len(expected) // 100))
    for number in sorted({1, 2, last // 2 or 1, last}):
        got = store.entries(log_id, page=number, q=q)
        scanned = plain.entries(log_id, page=number, q=q)
        assert [e.to_dict() for e in got.entries] == [e.to_dict() for e in scanned.entries]
        assert [e.path for e in got.entries] == expected[(number - 1) * 100:number * 100]
        if got.total_exact:
            assert got.total == len(expected)
        else:
            assert got.total <= len(expected)
    narrowed = store.entries(log_id, q=q, code="409", category="UploadErrorCloudHttp")
    assert [e.path for e in narrowed.entries] == expected[:100]


def test_an_index_of_the_old_version_is_rebuilt(spread, tmp_path):
    root, paths = spread
    store, log_id = indexed(root, tmp_path)
    (stored,) = (tmp_path / "idx").glob("*.json")
    data = json.loads(stored.read_text())
    data["version"] = 1
    for block in data["blocks"]:
        del block[5:]
    del data["columns"]
    for column in (tmp_path / "idx").glob("*.paths"):
        column.unlink()
    stored.write_text(json.dumps(data))
    old = CopyLogStore([str(root)], str(tmp_path / "idx"))
    assert old.index_status(log_id)["state"] == "none"
    assert [e.path for e in old.entries(log_id, q="rare").entries] == holding(paths, "rare")
    assert old.ensure_index(log_id)["state"] == "complete"
    assert len(list((tmp_path / "idx").glob("*.paths"))) == 1
    assert old.entries(log_id, q="rare").total == 20


def test_lost_or_cut_columns_still_give_exact_results(spread, tmp_path):
    root, paths = spread
    store, log_id = indexed(root, tmp_path)
    (column,) = (tmp_path / "idx").glob("*.paths")
    os.truncate(column, column.stat().st_size // 2)
    cut = CopyLogStore([str(root)], str(tmp_path / "idx"))
    page = cut.entries(log_id, q="e-13")
    assert [e.path for e in page.entries] == holding(paths, "e-13")[:100]
    column.unlink()
    assert cut.entries(log_id, q="rare").total == 20
    cut.ensure_index(log_id)  # its columns are gone: built again
    assert len(list((tmp_path / "idx").glob("*.paths"))) == 1
    assert cut.entries(log_id, q="rare").total == 20


def test_a_rebuilt_index_leaves_one_column_file(spread, tmp_path):
    root, paths = spread
    store, log_id = indexed(root, tmp_path)
    write_log(root, paths[:3000] + ["New/Path"])
    store = CopyLogStore([str(root)], str(tmp_path / "idx"))
    store.ensure_index(log_id)
    assert len(list((tmp_path / "idx").glob("*.paths"))) == 1
    assert [e.path for e in store.entries(log_id, q="new/").entries] == ["New/Path"]


def column_lines(folder):
    (stored,), (columns,) = folder.glob("*.json"), folder.glob("*.paths")
    data = columns.read_bytes()
    return [line for block in indexing.load(str(stored)).blocks
            for line in search.Column(data[block.column_at:block.column_at + block.column_length],
                                      block.column_length, block.count, len(block.keys),
                                      block.prefix, block.suffix,
                                      search.chunks(COPY_LOG, block.length)).lines()]


def test_parallel_build_keeps_the_same_columns(spread, tmp_path, monkeypatch):
    root, paths = spread
    alone = CopyLogStore([str(root)], str(tmp_path / "alone"))
    log_id = alone.list()[0].id
    alone.ensure_index(log_id)
    monkeypatch.setattr(indexing, "PARALLEL_MIN_BYTES", 1)
    monkeypatch.setattr(indexing, "SEGMENT_BYTES", 1 << 20)
    monkeypatch.setattr(indexing, "_idle_cpus", lambda: 2)
    workers = CopyLogStore([str(root)], str(tmp_path / "workers"))
    workers.ensure_index(log_id)
    assert sorted(os.listdir(tmp_path / "workers"))[0].endswith(".paths")
    assert len(os.listdir(tmp_path / "workers")) == 2  # the workers' files are gone
    assert column_lines(tmp_path / "workers") == column_lines(tmp_path / "alone") == \
        [search.fold(p, COPY_LOG).encode() for p in paths]
    assert workers.entries(log_id, q="rare").total == 20
