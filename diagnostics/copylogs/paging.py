"""Paging, filtering and streaming the entries of one open log.

What the index covers is found from its block counts and read from at most a few blocks; the
rest of the file is read in order from where the index stops. A path search (``q``) counts its
matches per block in the blocks' path columns (:mod:`.search`) and reads only the blocks its page
needs; blocks without a column are read, each checked first for the text in its lowered bytes.
"""

from __future__ import annotations

import bisect
import itertools
import os
from collections.abc import Callable, Iterator

from diagnostics.copylogs import index as indexing
from diagnostics.copylogs import reference, search
from diagnostics.copylogs.formats import Format, Key
from diagnostics.copylogs.index import Block, Index
from diagnostics.copylogs.models import Entry, Page

PATH_SEARCH_BUDGET = 4 << 20
COLUMN_COUNT_BUDGET = 200_000

KeyFilter = Callable[[Key], bool]


class Reader:
    """Pages and streams the matching entries of one open log."""

    def __init__(self, fmt: Format, fd: int, index: Index | None, key_filter: KeyFilter | None,
                 q: str | None, searched: dict[int, int] | None = None, columns: int = -1):
        """``searched`` keeps, between pages of one path search, how many entries of each
        indexed block matched, so later pages need not count or read those blocks again;
        ``columns`` is the index's column file open for reading (-1: none)."""
        self.fmt, self.fd, self.index = fmt, fd, index
        self.key_filter = key_filter
        self.needle = search.needle(q, fmt) if q else None
        quick = q.lower().encode() if q and q.isascii() and not set(q) & set("&<>\"'") \
            else None
        self.quick = quick if fmt.name != "validation" else None
        self.wanted: dict[int, bool] = {}
        self._wanted_of: dict[tuple[int, ...], set[int] | None] = {}
        self.searched = searched if searched is not None else {}
        self.columns = columns
        self.counted = 0  # matches counted in columns by this reader
        self._column = bytearray()
        self._column_of: tuple[Block, search.Column] | None = None  # the one in ``_column``
        self._pending: bytes | None = None  # a block already read by the scan after the index

    def _matches_key(self, key_id: int) -> bool:
        if key_id not in self.wanted:
            assert self.index is not None
            self.wanted[key_id] = self.key_filter is None or self.key_filter(
                self.index.keys[key_id])
        return self.wanted[key_id]

    def _block_matches(self, block: Block) -> int:
        if self.key_filter is None:
            return block.count
        return sum(n for key_id, n in block.keys.items() if self._matches_key(key_id))

    def _known(self, number: int, block: Block, matches: int, full: bool) -> int | None:
        """Matches in an indexed block (``matches`` of its entries pass the key filters) when
        known without reading it: from the counts, an earlier page, or the path column (until
        ``COLUMN_COUNT_BUDGET`` matches are counted once the page is full)."""
        if self.needle is None:
            return matches
        if number in self.searched:
            return self.searched[number]
        if block.column_at < 0 or self.columns < 0 or full and \
                self.counted > COLUMN_COUNT_BUDGET:
            return None
        found = self._column_count(block)
        if found is None:
            return None
        self.counted += found
        self.searched[number] = found
        return found

    def _wanted_ids(self, block: Block) -> set[int] | None:
        """Positions in the block's table of the pairs that pass the key filters; None when all
        do."""
        if self.key_filter is None:
            return None
        table = tuple(block.keys)
        if table not in self._wanted_of:
            wanted = {i for i, key_id in enumerate(table) if self._matches_key(key_id)}
            self._wanted_of[table] = None if len(wanted) == len(table) else wanted
        return self._wanted_of[table]

    def _column_count(self, block: Block) -> int | None:
        """Entries of ``block`` that match, from its column; None when the column cannot be
        read."""
        assert self.needle is not None
        if b"\n" in self.needle:
            return 0  # a column is kept only for blocks whose paths hold no newline
        column = self._load_column(block)
        if column is None:
            return None
        return column.count_holding(self.needle, self._wanted_ids(block))

    def _load_column(self, block: Block) -> search.Column | None:
        """The column of ``block`` (read into ``_column``); None when it cannot be read."""
        if self._column_of is not None and self._column_of[0] is block:
            return self._column_of[1]
        self._column_of = None
        if block.column_at < 0 or self.columns < 0:
            return None
        length = block.column_length
        if len(self._column) < length:
            self._column = bytearray(length)
        try:
            got = os.preadv(self.columns, [memoryview(self._column)[:length]], block.column_at)
        except OSError:
            return None
        if got != length:
            return None
        column = search.Column(self._column, length, block.count, len(block.keys),
                               block.prefix, block.suffix,
                               search.chunks(self.fmt, block.length))
        self._column_of = block, column
        return column

    def _matching(self, data: bytes, block: Block | None = None
                  ) -> tuple[list[tuple[int, int]] | None, list[int]]:
        """Spans of a block's entries (None when not needed to find them) and the indexes of
        those that match, read cheaply: keys and paths only (those of an indexed ``block`` from
        its column), never a whole entry."""
        if self.needle is not None and block is not None and b"\n" not in self.needle:
            column = self._load_column(block)
            if column is not None:
                return None, column.holding(self.needle, self._wanted_ids(block))
        spans = self.fmt.spans(data)
        if self.needle is not None and self.quick is not None and b"&#" not in data \
                and data.isascii():
            lowered = data.lower() if self.quick.upper() != self.quick else data
            if self.quick not in lowered:
                return spans, []
        matching: list[int] = list(range(len(spans)))
        if self.needle is not None:
            paths = search.lines(self.fmt, data, len(spans))
            matching = search.matching_lines(paths, self.needle)
        return spans, self._key_matching(data, matching)

    def _key_matching(self, data: bytes, matching: list[int]) -> list[int]:
        """Those of the entries ``matching`` that pass the key filters."""
        if self.key_filter is None or not matching:
            return matching
        keys = self.fmt.keys(data)
        wanted = {key for key in set(keys) if self.key_filter(key)}
        return [i for i in matching if keys[i] in wanted]

    def _read(self, offset: int, data: bytes, first: int, spans: list[tuple[int, int]] | None,
              chosen: list[int], count: int) -> Iterator[Entry]:
        """The entries ``chosen`` of a block of ``count`` entries."""
        chosen_spans = [spans[i] for i in chosen] if spans is not None else \
            self.fmt.spans_of(data, chosen, count)
        for i, (a, b) in zip(chosen, chosen_spans, strict=True):
            yield self.fmt.entry(data[a:b], offset + a, first + i)

    def _read_parts(self, block: Block, column: search.Column,
                    chosen: list[int]) -> Iterator[Entry]:
        """The entries ``chosen`` of an indexed block, each read alone: the column's counts of
        start tags per chunk of the block say which bytes hold it."""
        marker = self.fmt.marker
        ends = list(itertools.accumulate(column.chunk_starts()))  # tags begun by each chunk's end
        for i in chosen:
            chunk = bisect.bisect_right(ends, i)
            start = chunk * search.CHUNK
            stop = block.length
            if i + 1 < block.count:  # up to the chunk where the next entry begins, and its tag
                stop = min(stop, (bisect.bisect_right(ends, i + 1) + 1) * search.CHUNK +
                           len(marker))
            data = os.pread(self.fd, stop - start, block.offset + start)
            pos = -1
            for _ in range(i - (ends[chunk - 1] if chunk else 0) + 1):
                pos = data.find(marker, pos + 1)
            end = data.find(marker, pos + 1)
            if pos < 0 or end < 0 and i + 1 < block.count:
                raise OSError(0, "the file changed while it was read")
            yield self.fmt.entry(data[pos:end if end >= 0 else len(data)],
                                 block.offset + start + pos, block.first + i)

    def _blocks(self) -> Iterator[tuple[int | None, Block | None, int, int, int, int]]:
        """(index block number or None, block or None, entries passing the key filters or 0
        when unknown, offset, length, first ordinal) of every block that may match: the indexed
        ones first, then those read in order after."""
        for number, block in enumerate(self.index.blocks if self.index else []):
            n = self._block_matches(block)
            if n:
                yield number, block, n, block.offset, block.length, block.first
        start = self.index.scanned_until if self.index else 0
        first = self.index.entries if self.index else 0
        end = os.fstat(self.fd).st_size
        for offset, data in indexing.scan(self.fmt, self.fd, start, end, _ignore, _ignore):
            self._pending = data
            yield None, None, 0, offset, len(data), first
            first += self.fmt.count(data)

    def _data(self, offset: int, length: int) -> bytes:
        pending, self._pending = self._pending, None
        return pending if pending is not None else os.pread(self.fd, length, offset)

    def all(self) -> Iterator[Entry]:
        """Every matching entry in file order."""
        for number, block, n, offset, length, first in self._blocks():
            if number is not None and block is not None and \
                    self._known(number, block, n, False) == 0:
                continue
            data = self._data(offset, length)
            spans, matching = self._matching(data, block)
            yield from self._read(offset, data, first, spans, matching,
                                  block.count if block is not None else 0)

    def page(self, page: int, per_page: int) -> Page:
        """Page ``page`` (1-based) of the matching entries, with their total (see :class:`Page`).

        Counts come from the index and the path columns where they can answer; other blocks
        are read, and once the page is full only ``PATH_SEARCH_BUDGET`` more bytes are read to
        count on.
        """
        skip = (page - 1) * per_page
        found: list[Entry] = []
        total, exact, budget = 0, True, PATH_SEARCH_BUDGET
        indexed = self.index is not None and self.index.complete
        for number, block, n, offset, length, first in self._blocks():
            full = len(found) >= per_page
            known = self._known(number, block, n, full) \
                if number is not None and block is not None else None
            if known is not None and (full or skip >= known):
                total += known
                skip -= 0 if full else known
                continue
            if full:
                budget -= length
                if budget < 0 or not indexed and known is None and self.needle is None:
                    exact = False
                    break
            column = self._load_column(block) if block is not None and \
                self.needle is not None and b"\n" not in self.needle else None
            if block is not None and column is not None and column.chunks:
                matching = column.holding(self.needle, self._wanted_ids(block))
                data = None
            else:
                data = self._data(offset, length)
                spans, matching = self._matching(data, block)
            if number is not None:
                self.searched[number] = len(matching)
            total += len(matching)
            chosen = matching[skip:skip + per_page - len(found)]
            skip = max(0, skip - len(matching))
            if data is None:
                found.extend(self._read_parts(block, column, chosen))
            else:
                found.extend(self._read(offset, data, first, spans, chosen,
                                        block.count if block is not None else 0))
        return Page(total=total, page=page, per_page=per_page, entries=found, total_exact=exact)


def _ignore(_text: str) -> None:
    """Problems met while paging are reported by the index and the summary, not per page."""


def key_filter_for(fmt: Format, category: str | None, code: str | None) -> KeyFilter | None:
    """Whether an entry's (category, code) passes the filters; None when there are none."""
    if not category and not code:
        return None
    wanted_category = category.casefold() if category else None
    wanted_code = code.strip().casefold() if code else None
    cache: dict[Key, bool] = {}

    def matches(key: Key) -> bool:
        if key not in cache:
            key_category, key_code = key
            ok = wanted_category is None or (key_category or "").casefold() == wanted_category
            if ok and wanted_code is not None:
                ok = wanted_code in _code_aliases(fmt, key)
            cache[key] = ok
        return cache[key]

    return matches


def _code_aliases(fmt: Format, key: Key) -> set[str]:
    """The ways a user may write an entry's code: as written, its number, its name."""
    category, code = key
    aliases = {(code or "").casefold()}
    info = reference.code_info(code, category if fmt.name == "copy_log" else None)
    if info:
        aliases |= {str(info["code"]).casefold(), str(info["name"]).casefold()}
    return aliases
