"""Path search combined with category and code filters, answered from the index's columns:
the same entries, order and totals as a plain scan, blocks read only for the page's entries."""

import json
import random

import pytest

from diagnostics.copylogs import CopyLogStore, paging, search
from diagnostics.copylogs import index as indexing
from diagnostics.copylogs.formats import COPY_LOG

from copylog_fixtures import entity

PAIRS = [("UploadErrorCloudHttp", "409"), ("UploadErrorCloudHttp", "400"),
         ("BlobRenamed", "1"), ("ContainerRenamed", "1"), ("UploadErrorWin32", "32")]


def write(root, rows, name="A_S_CopyLog_x.xml"):
    folder = root / "acct"
    folder.mkdir(parents=True, exist_ok=True)
    text = "".join(entity(path, i, category, code) for i, (path, category, code) in
                   enumerate(rows))
    (folder / name).write_text(text + '<CopyLog Summary="Summary"><Status>Failed</Status>'
                               "</CopyLog>\r\n", encoding="utf-8")


@pytest.fixture()
def mixed(tmp_path):
    """Several blocks whose tables differ: the first block knows three pairs, later ones five,
    in another order; all paths share a prefix and a suffix, a few are upper case."""
    rows = []
    for i in range(16000):
        pairs = PAIRS[:3] if i < 3000 else PAIRS[::-1]
        category, code = pairs[(i * 7 + i // 3) % len(pairs)]
        path = f"Share{i % 3}/Dir{i % 40}/File-{i}.BIN" if i % 11 == 0 else \
            f"share{i % 3}/dir{i % 40}/file-{i}.bin"
        rows.append((path, category, code))
    root = tmp_path / "root"
    write(root, rows)
    store = CopyLogStore([str(root)], str(tmp_path / "idx"))
    log_id = store.list()[0].id
    store.ensure_index(log_id)
    return root, rows, store, log_id


def expected(rows, q, category=None, code=None):
    return [path for path, c, k in rows
            if search.fold(q, COPY_LOG) in search.fold(path, COPY_LOG)
            and (category is None or c.casefold() == category.casefold())
            and (code is None or k == code)]


def test_blocks_keep_their_own_tables_and_shared_affixes(mixed, tmp_path):
    index = indexing.load(str(next((tmp_path / "idx").glob("*.json"))))
    assert len(index.blocks) >= 4
    tables = {tuple(index.keys[k] for k in block.keys) for block in index.blocks}
    assert len(tables) >= 2  # the key ids of a column refer to its block's own table
    assert all(block.prefix == b"share" and block.suffix == b".bin"
               for block in index.blocks[:-1])


@pytest.mark.parametrize(("q", "category", "code"), [
    ("dir7/", "BlobRenamed", None), ("DIR7/", "blobrenamed", None),
    ("dir3/", "UploadErrorCloudHttp", "400"), ("FILE-1", None, "409"),
    ("file-1", None, "32"), ("share", "ContainerRenamed", None), (".bin", None, "400"),
    ("e1/d", "UploadErrorCloudHttp", None), ("n", "BlobRenamed", "1"),
    ("0.bi", "UploadErrorWin32", "32"), ("no such", "BlobRenamed", None),
    ("dir7/", "NoSuchCategory", None)])
def test_combined_filters_page_as_a_plain_scan(mixed, q, category, code):
    root, rows, store, log_id = mixed
    plain = CopyLogStore([str(root)], None)
    want = expected(rows, q, category, code)
    last = max(1, -(-len(want) // 100))
    for number in sorted({1, 2, last // 2 or 1, last}):
        got = store.entries(log_id, page=number, q=q, category=category, code=code)
        scanned = plain.entries(log_id, page=number, q=q, category=category, code=code)
        assert [e.to_dict() for e in got.entries] == [e.to_dict() for e in scanned.entries]
        assert [e.path for e in got.entries] == want[(number - 1) * 100:number * 100]
        assert got.total_exact and got.total == len(want)
    exported = list(store.iter_entries(log_id, q=q, category=category, code=code))
    assert [e.path for e in exported] == want


def test_a_combined_filter_reads_no_block_without_page_entries(mixed, tmp_path,
                                                                monkeypatch):
    root, rows, store, log_id = mixed
    whole, parts = [], []
    real, real_data = paging.Reader._read_parts, paging.Reader._data

    def data(self, offset, length):
        whole.append(offset)
        return real_data(self, offset, length)

    monkeypatch.setattr(paging.Reader, "_data", data)

    def read_parts(self, block, column, chosen):
        parts.append(len(chosen))
        return real(self, block, column, chosen)

    monkeypatch.setattr(paging.Reader, "_read_parts", read_parts)
    page = store.entries(log_id, q="DIR7/", category="blobrenamed", per_page=5, page=3)
    assert [e.path for e in page.entries] == expected(rows, "dir7/", "BlobRenamed")[10:15]
    index = indexing.load(str(next((tmp_path / "idx").glob("*.json"))))
    # no indexed block read whole: counts from the columns, entries read alone
    assert not {block.offset for block in index.blocks} & set(whole)
    assert sum(parts) == 5 and all(parts)


def test_a_table_of_more_than_256_pairs_uses_two_byte_ids(tmp_path):
    rows = [(f"p/{i % 7}/f{i}", f"Cat{i % 300}", str(i % 300)) for i in range(2000)]
    root = tmp_path / "root"
    write(root, rows)
    store = CopyLogStore([str(root)], str(tmp_path / "idx"))
    log_id = store.list()[0].id
    store.ensure_index(log_id)
    index = indexing.load(str(next((tmp_path / "idx").glob("*.json"))))
    assert len(index.blocks[0].keys) == 300
    for q, category in [("/3/", "cat299"), ("F1", "Cat12"), ("p/", "Cat0")]:
        page = store.entries(log_id, q=q, category=category)
        assert [e.path for e in page.entries] == expected(rows, q, category)
        assert page.total == len(expected(rows, q, category))


def test_an_index_of_format_version_2_is_rebuilt(mixed, tmp_path):
    root, rows, store, log_id = mixed
    (stored,) = (tmp_path / "idx").glob("*.json")
    data = json.loads(stored.read_text())
    data["version"] = 2
    for block in data["blocks"]:
        del block[7:]  # version 2 kept neither affixes nor key ids in its columns
    stored.write_text(json.dumps(data))
    old_columns = set((tmp_path / "idx").glob("*.paths"))
    again = CopyLogStore([str(root)], str(tmp_path / "idx"))
    assert again.index_status(log_id)["state"] == "none"
    assert again.ensure_index(log_id)["state"] == "complete"
    (columns,) = (tmp_path / "idx").glob("*.paths")
    assert columns not in old_columns
    page = again.entries(log_id, q="dir7/", category="BlobRenamed")
    assert page.total == len(expected(rows, "dir7/", "BlobRenamed"))


@pytest.mark.parametrize("seed", range(3))
def test_packed_columns_find_what_the_whole_paths_hold(seed):
    rng = random.Random(seed)
    for _ in range(300):
        stem = "".join(rng.choice("ab/") for _ in range(rng.randint(0, 4)))
        tail = "".join(rng.choice("ab.") for _ in range(rng.randint(0, 3)))
        paths = [stem + "".join(rng.choice("ab/.") for _ in range(rng.randint(0, 5))) + tail
                 for _ in range(rng.randint(1, 90))]
        lines = [p.encode() for p in paths]
        keys = [rng.randrange(3) for _ in lines]
        packed, prefix, suffix = search.pack(b"\n".join(lines), len(lines), bytes(keys), [])
        column = search.Column(packed, len(packed), len(lines), 3, prefix, suffix)
        assert column.lines() == lines
        for sought in (b"a", b"b/", b"/a.", b"ab", b"a.b", b"..", stem.encode()[-2:] or b"b"):
            for wanted in (None, {0}, {1, 2}):
                hits = [i for i, line in enumerate(lines) if sought in line and
                        (wanted is None or keys[i] in wanted)]
                assert column.holding(sought, wanted) == hits
                assert column.count_holding(sought, wanted) == len(hits)
