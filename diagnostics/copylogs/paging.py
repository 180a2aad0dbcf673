"""Paging, filtering and streaming the entries of one open log.

What the index covers is found from its block counts and read from at most a few blocks; the
rest of the file is read in order from where the index stops. A path search (``q``) reads the
blocks that contain its text, found once per block in the lowered bytes.
"""

from __future__ import annotations

import bisect
import itertools
import os
from collections.abc import Callable, Iterator

from diagnostics.copylogs import index as indexing
from diagnostics.copylogs import reference
from diagnostics.copylogs.formats import Format, Key
from diagnostics.copylogs.index import Index
from diagnostics.copylogs.models import Entry, Page

PATH_SEARCH_BUDGET = 8 << 20

KeyFilter = Callable[[Key], bool]


class Reader:
    """Pages and streams the matching entries of one open log."""

    def __init__(self, fmt: Format, fd: int, index: Index | None, key_filter: KeyFilter | None,
                 q: str | None):
        self.fmt, self.fd, self.index = fmt, fd, index
        self.key_filter = key_filter
        self.q = q.casefold() if q else None
        needle = q.lower().encode() if q and q.isascii() and not set(q) & set("&<>\"'") \
            else None
        self.needle = needle if fmt.name != "validation" else None
        self.wanted: dict[int, bool] = {}

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

    def _entries_in(self, offset: int, data: bytes, first: int,
                    skip: int = 0) -> Iterator[Entry]:
        """Matching entries of a block; without a path search, the first ``skip`` matches are
        passed over unread."""
        lowered = data.lower() if self.needle is not None and b"&#" not in data else None
        if lowered is not None and self.needle not in lowered:
            return
        spans = self.fmt.spans(data)
        candidates: Iterator[int] | range | list[int] = range(len(spans))
        if lowered is not None:
            # only entries holding the text can match: find it once in the whole block
            candidates = _holding(lowered, self.needle, [a for a, _ in spans])
        if self.key_filter is not None:
            keys = self.fmt.keys(data)
            wanted = {key for key in set(keys) if self.key_filter(key)}
            candidates = [i for i in candidates if keys[i] in wanted]
        for i in candidates:
            if skip:
                skip -= 1
                continue
            a, b = spans[i]
            entry = self.fmt.entry(data[a:b], offset + a, first + i)
            if self.q is None or self.q in entry.path.casefold():
                yield entry

    def _rest(self) -> Iterator[tuple[int, bytes, int]]:
        """Blocks after the indexed part, read in order: (offset, bytes, first ordinal)."""
        start = self.index.scanned_until if self.index else 0
        first = self.index.entries if self.index else 0
        end = os.fstat(self.fd).st_size
        for offset, data in indexing.scan(self.fmt, self.fd, start, end, _ignore, _ignore):
            yield offset, data, first
            first += self.fmt.count(data)

    def _count(self, data: bytes) -> int:
        if self.key_filter is None:
            return self.fmt.count(data)
        return sum(1 for key in self.fmt.keys(data) if self.key_filter(key))

    def all(self) -> Iterator[Entry]:
        """Every matching entry in file order."""
        for block in self.index.blocks if self.index else []:
            if self._block_matches(block):
                data = os.pread(self.fd, block.length, block.offset)
                yield from self._entries_in(block.offset, data, block.first)
        for offset, data, first in self._rest():
            yield from self._entries_in(offset, data, first)

    def page(self, page: int, per_page: int) -> Page:
        """Page ``page`` (1-based) of the matching entries, with their total (see :class:`Page`)."""
        skip = (page - 1) * per_page
        found: list[Entry] = []
        total, exact, budget = 0, True, PATH_SEARCH_BUDGET
        for block in self.index.blocks if self.index else []:
            n = self._block_matches(block)
            if not n:
                continue
            if self.q is None:
                total += n
                if len(found) < per_page and skip >= n:
                    skip -= n
                    continue
                if len(found) >= per_page:
                    continue
            elif len(found) >= per_page:
                budget -= block.length
                if budget < 0:
                    exact = False
                    break
            data = os.pread(self.fd, block.length, block.offset)
            if self.q is None:
                found.extend(itertools.islice(
                    self._entries_in(block.offset, data, block.first, skip), per_page - len(found)))
                skip = 0
            else:
                for entry in self._entries_in(block.offset, data, block.first):
                    total += 1
                    if skip:
                        skip -= 1
                    elif len(found) < per_page:
                        found.append(entry)
        if exact and not (self.index and self.index.complete):
            for offset, data, first in self._rest():
                if self.q is None:
                    n = self._count(data)
                    total += n
                    if skip >= n:
                        skip -= n
                    else:
                        found.extend(itertools.islice(self._entries_in(
                            offset, data, first, skip), per_page - len(found)))
                        skip = 0
                else:
                    for entry in self._entries_in(offset, data, first):
                        total += 1
                        if skip:
                            skip -= 1
                        elif len(found) < per_page:
                            found.append(entry)
                if len(found) >= per_page:
                    exact = False
                    break
        return Page(total=total, page=page, per_page=per_page, entries=found, total_exact=exact)


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
