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
    found = text.count(sought, start, end)
    if found < 2:
        return found
    if found <= 64:
        # occurrences on one line are counted once: between two on different lines is a newline
        lines, pos = 1, text.find(sought, start, end)
        while True:
            after = text.find(sought, pos + 1, end)
            if after < 0:
                return lines
            lines += text.find(b"\n", pos, after) >= 0
            pos = after
    chunk = bytes(memoryview(text)[start:end])
    if b"\0" in chunk or b"\0" in sought:
        return len(lines_holding(chunk, sought, len(chunk)))
    # each occurrence becomes a NUL; kept with the newlines only, a line holding the text is a
    # newline followed by a NUL
    marks = b"\n" + chunk.replace(sought, b"\0").translate(None, _NOT_MARKS)
    return marks.count(b"\n\0")


def lines_holding(text: Buffer, sought: bytes, end: int) -> list[int]:
    """Indexes of the newline-separated lines of ``text[:end]`` that hold ``sought`` (which holds
    no newline)."""
    if text.count(sought, 0, end) > 64:
        return matching_lines(bytes(memoryview(text)[:end]).split(b"\n"), sought)
    found: list[int] = []
    line, counted = 0, 0  # line number of the byte at ``counted``
    pos = text.find(sought, 0, end)
    while pos >= 0:
        line += text.count(b"\n", counted, pos)
        found.append(line)
        counted = text.find(b"\n", pos, end) + 1
        if not counted:
            break
        line += 1
        pos = text.find(sought, counted, end)
    return found


def matching_lines(paths: list[bytes], sought: bytes) -> list[int]:
    """Indexes of the paths holding ``sought``."""
    return [i for i, path in enumerate(paths) if sought in path]
