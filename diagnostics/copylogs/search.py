"""Path search: the searchable form of entry paths, and the path column of the index.

An entry matches a path search when the case-folded query is a substring of its case-folded
path (copy-time lists: either separator). Both sides are compared as UTF-8 bytes, so a block's
paths can be kept as one *column*: the searchable paths of its entries, one a line, in order.
The index writes a column per block; a search then counts the lines holding its text in the
columns (a fraction of the log's bytes, searched in C) and reads only the blocks its page needs.

The same :func:`lines` gives the paths when a block itself is read, so the counts taken from a
column are the counts a read of the block gives.
"""

from __future__ import annotations

import array
import bisect
import functools
import itertools
import os
import re

from diagnostics.copylogs.formats import Buffer, Format, unescape

# One pattern pass finds the path of every regular entry of a block; when it does not find one
# per entry, each entry is read on its own (Format.path_of).
_PATHS = {
    "copy_log": re.compile(rb'<ErroredEntity(?=\s)[^>]*?\sPath="([^"]*)"'),
    "share": re.compile(rb'<file(?=\s)[^>]*?\sitem="([^"]*)"'),
}


def fold(text: str, fmt: Format) -> str:
    """Case-folded; copy-time lists write paths with backslashes, so either separator finds
    them."""
    folded = text.casefold()
    return folded.replace("\\", "/") if fmt.name == "validation" else folded


def needle(q: str, fmt: Format) -> bytes:
    """The bytes a searchable path must hold to match the query ``q``."""
    return _encode(fold(q, fmt))


def _encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def lines(fmt: Format, data: Buffer, count: int, end: int | None = None) -> list[bytes]:
    """The searchable path of each of the ``count`` entries of ``data[:end]``, in order."""
    end = len(data) if end is None else end
    if not count:
        return []
    raw = _raw_paths(fmt, data, count, end)
    if raw is None:
        block = bytes(memoryview(data)[:end])
        return [_encode(fold(fmt.path_of(block[a:b]), fmt)) for a, b in fmt.spans(block)]
    joined = b"\n".join(raw)
    if _plain(joined, fmt):
        found = joined.lower().split(b"\n")
        if len(found) == count:
            return found
    return [_encode(fold(unescape(path), fmt)) for path in raw]


def column(fmt: Format, data: Buffer, count: int, end: int | None = None) -> bytes | None:
    """The lines of :func:`lines` joined by newlines, or None when a path holds a newline
    (such a block is read instead)."""
    end = len(data) if end is None else end
    raw = _raw_paths(fmt, data, count, end) if count else []
    if raw is not None:
        joined = b"\n".join(raw)
        text = joined.lower() if _plain(joined, fmt) else \
            b"\n".join(_encode(fold(unescape(path), fmt)) for path in raw)
    else:
        text = b"\n".join(lines(fmt, data, count, end))
    return text if text.count(b"\n") == max(0, count - 1) else None


_NOT_MARKS = bytes(i for i in range(256) if i not in (0, 10))


def _raw_paths(fmt: Format, data: Buffer, count: int, end: int) -> list[bytes] | None:
    pattern = _PATHS.get(fmt.name)
    if pattern is None:
        return None
    raw = pattern.findall(data, 0, end)
    return raw if len(raw) == count else None


def _plain(joined: bytes, fmt: Format) -> bool:
    """Paths that fold by lowering their bytes: ASCII without references."""
    return joined.isascii() and b"&" not in joined and (
        fmt.name != "validation" or b"\\" not in joined)


def count_lines(text: Buffer, sought: bytes, start: int = 0, end: int | None = None) -> int:
    """How many newline-separated lines of ``text[start:end]`` hold ``sought`` (which holds no
    newline)."""
    end = len(text) if end is None else end
    # a few: from each line holding it, on to the next line (one pass over the text)
    lines, pos = 0, text.find(sought, start, end)
    while pos >= 0:
        lines += 1
        if lines > 64:
            return _count_many(text, sought, start, end)
        after = text.find(b"\n", pos + len(sought), end)
        if after < 0:
            break
        pos = text.find(sought, after + 1, end)
    return lines


def _count_many(text: Buffer, sought: bytes, start: int, end: int) -> int:
    chunk = bytes(memoryview(text)[start:end])
    if b"\0" in chunk or b"\0" in sought:
        return len(matching_lines(chunk.split(b"\n"), sought))
    # each occurrence becomes a NUL; kept with the newlines only, a line holding the text is a
    # newline followed by a NUL
    marks = b"\n" + chunk.replace(sought, b"\0").translate(None, _NOT_MARKS)
    return marks.count(b"\n\0")


def lines_holding(text: Buffer, sought: bytes, end: int, start: int = 0) -> list[int]:
    """Indexes of the newline-separated lines of ``text[start:end]`` that hold ``sought`` (which
    holds no newline)."""
    few = _few_lines(text, sought, start, end)
    if few is not None:
        return few
    return matching_lines(bytes(memoryview(text)[start:end]).split(b"\n"), sought)


def _few_lines(text: Buffer, sought: bytes, start: int, end: int,
               most: int = 64) -> list[int] | None:
    """:func:`lines_holding` when at most ``most`` lines hold ``sought``, else None."""
    found: list[int] = []
    line, counted = 0, start  # line number of the byte at ``counted``
    pos = text.find(sought, start, end)
    while pos >= 0:
        if len(found) == most:
            return None
        line += text.count(b"\n", counted, pos)
        found.append(line)
        counted = text.find(b"\n", pos + len(sought), end) + 1
        if not counted:
            break
        line += 1
        pos = text.find(sought, counted, end)
    return found


def matching_lines(paths: list[bytes], sought: bytes) -> list[int]:
    """Indexes of the paths holding ``sought``."""
    return [i for i, path in enumerate(paths) if sought in path]


# A block's column as stored: the key id of each entry (its position in the block's table of
# (category, code) pairs; one byte each, two when the table is longer than 256); for service
# copy logs, how many entries begin in each ``CHUNK`` bytes of the block (two bytes each), so
# that one entry is read without the rest of its block; where every ``LINES``-th path begins
# (four bytes each), so that the entry of a path found is known without counting the lines before
# it; then the paths with the prefix and suffix that all of them share cut off (kept in the
# index's block).

CHUNK = 8192
LINES = 64


def chunks(fmt: Format, length: int) -> int:
    """How many chunk counts the column of a block of ``length`` bytes holds."""
    return -(-length // CHUNK) if fmt.name == "copy_log" else 0


def chunk_starts(fmt: Format, data: Buffer, length: int) -> list[int]:
    """The chunk counts of the block ``data[:length]`` (none for other formats)."""
    if fmt.name != "copy_log":
        return []
    marker, reach = fmt.marker, CHUNK + len(fmt.marker) - 1
    return [data.count(marker, at, min(at + reach, length)) for at in range(0, length, CHUNK)]


def key_width(keys: int) -> int:
    """Bytes of one key id in the column of a block whose table holds ``keys`` pairs."""
    return 1 if keys <= 256 else 2


def key_ids(ids: list[int], width: int) -> bytes:
    """The key ids of a column."""
    return bytes(ids) if width == 1 else array.array("H", ids).tobytes()


def pack(text: bytes, count: int, ids: bytes, starts: list[int]) -> tuple[bytes, bytes, bytes]:
    """(column, prefix, suffix) of a block whose ``count`` entries have the key ids ``ids``,
    the chunk counts ``starts`` and the searchable paths ``text`` (:func:`column`)."""
    prefix, suffix = _affixes(text, count)
    if prefix or suffix:
        stripped = text.replace(suffix + b"\n" + prefix, b"\n")
        stripped = stripped[len(prefix):len(stripped) - len(suffix)]
        if len(stripped) == len(text) - count * (len(prefix) + len(suffix)):
            text = stripped
        else:  # in some path the two would overlap
            prefix = suffix = b""
    lines = text.split(b"\n")
    ends = list(itertools.accumulate(map(len, lines)))
    every = array.array("I", [ends[k - 1] + k for k in range(LINES, count, LINES)])
    return ids + array.array("H", starts).tobytes() + every.tobytes() + text, prefix, suffix


def _affixes(text: bytes, count: int) -> tuple[bytes, bytes]:
    """A prefix and a suffix that every line of ``text`` has: the longest prefix, and a suffix
    found from the first and last lines, shortened until all have it."""
    if count < 2:
        return b"", b""
    first, last = text[:text.find(b"\n")], text[text.rfind(b"\n") + 1:]
    prefix = os.path.commonprefix([first, last])
    if prefix and not _all_begin(text, prefix, count):
        lines = text.split(b"\n")
        prefix = os.path.commonprefix([min(lines), max(lines)])
    first, last = first[len(prefix):], last[len(prefix):]
    size = len(os.path.commonprefix([first[::-1], last[::-1]]))
    suffix = first[len(first) - size:] if size else b""
    while suffix and not (text.endswith(suffix) and
                          text.count(suffix + b"\n") == count - 1):
        suffix = suffix[1:] if len(suffix) <= 8 else suffix[len(suffix) // 2:]
    return prefix, suffix


def _all_begin(text: bytes, prefix: bytes, count: int) -> bool:
    return text.startswith(prefix) and text.count(b"\n" + prefix) == count - 1


class Column:
    """The stored column of a block of ``count`` entries (``data[:length]``)."""

    def __init__(self, data: Buffer, length: int, count: int, keys: int, prefix: bytes,
                 suffix: bytes, chunks: int = 0):
        self.data, self.length, self.count = data, length, count
        self.width = key_width(keys)
        self.chunks = chunks
        self._every = count * self.width + 2 * chunks
        self.start = self._every + 4 * (max(0, count - 1) // LINES)  # where the paths begin
        self.prefix, self.suffix = prefix, suffix

    def chunk_starts(self) -> memoryview:
        """How many entries begin in each chunk of the block."""
        at = self.count * self.width
        return memoryview(self.data)[at:at + 2 * self.chunks].cast("H")

    def key_of(self) -> memoryview:
        """The key id of each entry."""
        ids = memoryview(self.data)[:self.count * self.width]
        return ids if self.width == 1 else ids.cast("H")

    def lines(self) -> list[bytes]:
        """The searchable path of each entry."""
        text, start, end = self._full()
        return bytes(memoryview(text)[start:end]).split(b"\n") if self.count else []

    def _full(self) -> tuple[Buffer, int, int]:
        if not self.prefix and not self.suffix:
            return self.data, self.start, self.length
        stripped = bytes(memoryview(self.data)[self.start:self.length])
        text = self.prefix + stripped.replace(
            b"\n", self.suffix + b"\n" + self.prefix) + self.suffix
        return text, 0, len(text)

    def _searched(self, sought: bytes) -> tuple[Buffer, int, int]:
        """Lines holding ``sought`` in the stored text hold it in the whole path too; the whole
        paths are rebuilt when ``sought`` may lie partly in the prefix or suffix."""
        if _may_overlap(self.prefix, sought) or _may_overlap(sought, self.suffix):
            return self._full()
        return self.data, self.start, self.length

    def count_holding(self, sought: bytes, wanted: set[int] | None = None) -> int:
        """Entries whose path holds ``sought`` (which holds no newline) and, with ``wanted``,
        whose key id is one of those."""
        if not self.count:
            return 0
        if sought in self.prefix or sought in self.suffix:  # every path holds it
            return self.count if wanted is None else self._count_keys(wanted)
        text, start, end = self._searched(sought)
        if wanted is None:
            return count_lines(text, sought, start, end)
        few = self._few_entries(sought, wanted) if text is self.data else None
        if few is not None:
            return few
        flags = line_flags(text, sought, start, end) if self.width == 1 else None
        if flags is None or len(flags) != self.count:
            return len(self.holding(sought, wanted))
        keys = bytes(self.key_of()).translate(bytes(i in wanted for i in range(256)))
        # one byte per entry on both sides, 1 where it holds the text / has a wanted key
        return (int.from_bytes(flags, "big") & int.from_bytes(keys, "big")).bit_count()

    def holding(self, sought: bytes, wanted: set[int] | None = None) -> list[int]:
        """Indexes of the entries of :meth:`count_holding`."""
        if not self.count:
            return []
        if sought in self.prefix or sought in self.suffix:
            return list(range(self.count)) if wanted is None else self._with_keys(wanted)
        text, start, end = self._searched(sought)
        found = lines_holding(text, sought, end, start)
        if wanted is None:
            return found
        key_of = self.key_of()
        return [i for i in found if key_of[i] in wanted]

    def _few_entries(self, sought: bytes, wanted: set[int], most: int = 64) -> int | None:
        """:meth:`count_holding` of the stored paths when at most ``most`` hold ``sought``;
        each one's entry is found from the nearest ``LINES``-th path before it."""
        every = memoryview(self.data)[self._every:self.start].cast("I")
        key_of, text, end = self.key_of(), self.data, self.length
        found, seen = 0, 0
        pos = text.find(sought, self.start, end)
        while pos >= 0:
            seen += 1
            if seen > most:
                return None
            k = bisect.bisect_right(every, pos - self.start)
            line = k * LINES + text.count(b"\n", self.start + (every[k - 1] if k else 0), pos)
            found += key_of[line] in wanted
            after = text.find(b"\n", pos + len(sought), end)
            if after < 0:
                break
            pos = text.find(sought, after + 1, end)
        return found

    def _count_keys(self, wanted: set[int]) -> int:
        if self.width != 1:
            return len(self._with_keys(wanted))
        ids = bytes(self.key_of())
        return sum(ids.count(i) for i in wanted)

    def _with_keys(self, wanted: set[int]) -> list[int]:
        key_of = self.key_of()
        return [i for i in range(self.count) if key_of[i] in wanted]


def line_flags(text: Buffer, sought: bytes, start: int, end: int) -> bytes | None:
    """A byte per newline-separated line of ``text[start:end]``: 1 when it holds ``sought``
    (which holds no newline), else 0; None when the text holds a NUL."""
    chunk = bytes(memoryview(text)[start:end])
    if b"\0" in chunk or b"\0" in sought:
        return None
    # each occurrence becomes a NUL; kept with the newlines only, a line holding the text is a
    # newline followed by NULs, which become one 1; the newlines left become 0
    marks = b"\n" + chunk.replace(sought, b"\0").translate(None, _NOT_MARKS)
    return marks.replace(b"\n\0", b"\1").translate(_FLAGS, b"\0")


_FLAGS = bytes(0 if i == 10 else i for i in range(256))


@functools.lru_cache(maxsize=256)
def _may_overlap(head: bytes, tail: bytes) -> bool:
    """Whether in ``head + tail`` an occurrence of one of them may cross the join or lie in the
    other: an end of ``head`` begins ``tail``, or one holds the other."""
    if not head or not tail:
        return False
    if tail in head or head in tail:
        return True
    return any(head.endswith(tail[:k]) for k in range(1, min(len(head), len(tail)) + 1))
