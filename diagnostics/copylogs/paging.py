"""Paging, filtering and streaming the entries of one open log.

What the index covers is found from its block counts and read from at most a few blocks; the
rest of the file is read in order from where the index stops. A path search (``q``) reads the
blocks that contain its text, found once per block in the lowered bytes.
"""

from __future__ import annotations

import bisect
import os
from collections.abc import Callable, Iterator

from diagnostics.copylogs import index as indexing
from diagnostics.copylogs import reference
from diagnostics.copylogs.formats import Format, Key
from diagnostics.copylogs.index import Index
from diagnostics.copylogs.models import Entry, Page

PATH_SEARCH_BUDGET = 4 << 20

KeyFilter = Callable[[Key], bool]


class Reader:
    """Pages and streams the matching entries of one open log."""

    def __init__(self, fmt: Format, fd: int, index: Index | None, key_filter: KeyFilter | None,
                 q: str | None, searched: dict[int, int] | None = None):
        """``searched`` keeps, between pages of one path search, how many entries of each
        indexed block matched, so later pages need not read those blocks again."""
        self.fmt, self.fd, self.index = fmt, fd, index
        self.key_filter = key_filter
        self.q = _searchable(q, fmt) if q else None
        needle = q.lower().encode() if q and q.isascii() and not set(q) & set("&<>\"'") \
            else None
        self.needle = needle if fmt.name != "validation" else None
        self.wanted: dict[int, bool] = {}
        self.searched = searched if searched is not None else {}
        self._pending: bytes | None = None  # a block already read by the scan after the index

    def _matches_key(self, key_id: int) -> bool:
        if key_id not in self.wanted:
            assert self.index is not None
            self.wanted[key_id] = self.key_filter is None or self.key_filter(
                self.index.keys[key_id])
        return self.wanted[key_id]

    def _block_matches(self, block: indexing.Block) -> int:
        if self.key_filter is None:
            return block.count
        return sum(n for key_id, n in block.keys.items() if self._matches_key(key_id))

    def _matching(self, data: bytes) -> tuple[list[tuple[int, int]], list[int]]:
        """Spans of a block's entries and the indexes of those that match, read cheaply: keys
        and the path only, never a whole entry."""
        lowered = None
        if self.needle is not None:
            lowered = data.lower() if self.needle.upper() != self.needle else data
            if self.needle not in lowered:
                if b"&#" not in data:
                    return [], []
                lowered = None  # a character reference may hide the text: check every path
            elif b"&#" in data:
                lowered = None
        spans = self.fmt.spans(data)
        matching: list[int] = list(range(len(spans)))
        if lowered is not None:
            # only entries holding the text can match: find it once in the whole block
            matching = list(_holding(lowered, self.needle, [a for a, _ in spans]))
        if self.key_filter is not None:
            keys = self.fmt.keys(data)
            wanted = {key for key in set(keys) if self.key_filter(key)}
            matching = [i for i in matching if keys[i] in wanted]
        if self.q is not None:
            matching = [i for i in matching
                        if self.q in _searchable(self.fmt.path_of(data[spans[i][0]:spans[i][1]]),
                                                 self.fmt)]
        return spans, matching

    def _read(self, offset: int, data: bytes, first: int, spans: list[tuple[int, int]],
              chosen: list[int]) -> Iterator[Entry]:
        for i in chosen:
            a, b = spans[i]
            yield self.fmt.entry(data[a:b], offset + a, first + i)

    def _blocks(self) -> Iterator[tuple[int | None, int | None, int, int, int]]:
        """(index block number or None, matches or None when unknown, offset, length, first
        ordinal) of every block: the indexed ones first, then those read in order after."""
        for number, block in enumerate(self.index.blocks if self.index else []):
            n = self._block_matches(block)
            if n:
                known = self.searched.get(number) if self.q else n
                yield number, known, block.offset, block.length, block.first
        start = self.index.scanned_until if self.index else 0
        first = self.index.entries if self.index else 0
        end = os.fstat(self.fd).st_size
        for offset, data in indexing.scan(self.fmt, self.fd, start, end, _ignore, _ignore):
            self._pending = data
            yield None, None, offset, len(data), first
            first += self.fmt.count(data)

    def _data(self, offset: int, length: int) -> bytes:
        pending, self._pending = self._pending, None
        return pending if pending is not None else os.pread(self.fd, length, offset)

    def all(self) -> Iterator[Entry]:
        """Every matching entry in file order."""
        for _, _, offset, length, first in self._blocks():
            data = self._data(offset, length)
            spans, matching = self._matching(data)
            yield from self._read(offset, data, first, spans, matching)

    def page(self, page: int, per_page: int) -> Page:
        """Page ``page`` (1-based) of the matching entries, with their total (see :class:`Page`).

        Counts come from the index where it can answer; other blocks are read, and once the
        page is full only ``PATH_SEARCH_BUDGET`` more bytes are read to count on.
        """
        skip = (page - 1) * per_page
        found: list[Entry] = []
        total, exact, budget = 0, True, PATH_SEARCH_BUDGET
        indexed = self.index is not None and self.index.complete
        for number, known, offset, length, first in self._blocks():
            full = len(found) >= per_page
            if known is not None and (full or skip >= known):
                total += known
                skip -= 0 if full else known
                continue
            if full:
                budget -= length
                if budget < 0 or not indexed and known is None and self.q is None:
                    exact = False
                    break
            data = self._data(offset, length)
            spans, matching = self._matching(data)
            if number is not None:
                self.searched[number] = len(matching)
            total += len(matching)
            chosen = matching[skip:skip + per_page - len(found)]
            skip = max(0, skip - len(matching))
            found.extend(self._read(offset, data, first, spans, chosen))
        return Page(total=total, page=page, per_page=per_page, entries=found, total_exact=exact)


def _searchable(text: str, fmt: Format) -> str:
    """Case-folded; copy-time lists write paths with backslashes, so either separator finds
    them."""
    folded = text.casefold()
    return folded.replace("\\", "/") if fmt.name == "validation" else folded


def _holding(lowered: bytes, needle: bytes, starts: list[int]) -> Iterator[int]:
    """Indexes of the entries (by their start offsets) whose bytes contain ``needle``."""
    last = -1
    pos = lowered.find(needle)
    while pos >= 0:
        i = bisect.bisect_right(starts, pos) - 1
        if i >= 0 and i != last:
            yield i
            last = i
        pos = lowered.find(needle, max(pos + 1, starts[i + 1] if i + 1 < len(starts) else 0))


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
