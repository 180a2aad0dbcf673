"""The on-disk index of a log: blocks of about 1 MiB with their entry counts per (category, code).

A block starts at an entry's start tag (or where the scan started) and ends before one, so any
page, filtered by category and code or not, is found from the counts alone and then read from at
most a few blocks. The index is keyed by size, mtime, inode and a hash of the first bytes: it is
extended when the file only grew and rebuilt when it changed. Files are written atomically
(temporary file, then rename), and a long build is saved every ``CHECKPOINT_BYTES`` so pages and
progress can use it and an interrupted build resumes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from diagnostics.copylogs.formats import MAX_ELEMENT, Format, Key

VERSION = 1
BLOCK_BYTES = MAX_ELEMENT
CHECKPOINT_BYTES = 128 << 20
HASH_BYTES = 4096
MAX_PROBLEMS = 20


@dataclass
class Block:
    """``count`` entries in file bytes [offset, offset + length); the first is ``first``."""

    offset: int
    length: int
    first: int
    count: int
    keys: dict[int, int]


@dataclass
class Index:
    """What is known of a file up to ``scanned_until`` (``complete`` when that is its end)."""

    format: str
    size: int
    mtime_ns: int
    inode: int
    head_sha: str
    scanned_until: int = 0
    complete: bool = False
    keys: list[Key] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    anchor_sha: str = ""
    truncated: str | None = None

    @property
    def entries(self) -> int:
        """Entries in the indexed part."""
        last = self.blocks[-1] if self.blocks else None
        return last.first + last.count if last else 0

    def key_totals(self) -> dict[Key, int]:
        """Entries per (category, code) in the indexed part."""
        totals = [0] * len(self.keys)
        for block in self.blocks:
            for key_id, n in block.keys.items():
                totals[key_id] += n
        return {self.keys[i]: n for i, n in enumerate(totals) if n}

    def add_problem(self, text: str) -> None:
        """Keep the first few problems, and how many more there were."""
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(text)
        elif len(self.problems) == MAX_PROBLEMS:
            self.problems.append("more problems not listed")

    def to_json(self) -> dict[str, Any]:
        return {"version": VERSION, "format": self.format, "size": self.size,
                "mtime_ns": self.mtime_ns, "inode": self.inode, "head_sha": self.head_sha,
                "scanned_until": self.scanned_until, "complete": self.complete,
                "anchor_sha": self.anchor_sha, "truncated": self.truncated, "keys": self.keys,
                "problems": self.problems,
                "blocks": [[b.offset, b.length, b.first, b.count,
                            [x for pair in b.keys.items() for x in pair]] for b in self.blocks]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Index:
        blocks = [Block(o, n, f, c, dict(zip(k[::2], k[1::2], strict=True)))
                  for o, n, f, c, k in data["blocks"]]
        return cls(format=data["format"], size=data["size"], mtime_ns=data["mtime_ns"],
                   inode=data["inode"], head_sha=data["head_sha"],
                   scanned_until=data["scanned_until"], complete=data["complete"],
                   keys=[tuple(k) for k in data["keys"]], blocks=blocks,
                   problems=data["problems"], anchor_sha=data["anchor_sha"],
                   truncated=data["truncated"])


def _sha(fd: int, offset: int, length: int) -> str:
    return hashlib.sha256(os.pread(fd, length, offset)).hexdigest()


def fresh(fmt: Format, fd: int) -> Index:
    """An empty index for the file open as ``fd``."""
    st = os.fstat(fd)
    return Index(format=fmt.name, size=st.st_size, mtime_ns=st.st_mtime_ns, inode=st.st_ino,
                 head_sha=_sha(fd, 0, HASH_BYTES))


def reusable(index: Index | None, fmt: Format, fd: int) -> Index | None:
    """``index`` when it still describes the file (possibly only a prefix of it), else None.
    ``index`` itself is not changed: a grown file gets an incomplete copy.

    Same size and mtime: unchanged. Grown, with the same head and the same bytes just before
    the indexed end: appended to, so the index is extended. Anything else: rebuilt.
    """
    if index is None or index.format != fmt.name:
        return None
    st = os.fstat(fd)
    if st.st_ino != index.inode or st.st_size < index.size:
        return None
    if st.st_size == index.size and st.st_mtime_ns != index.mtime_ns:
        return None
    if _sha(fd, 0, HASH_BYTES) != index.head_sha or _anchor(fd, index) != index.anchor_sha:
        return None
    if st.st_size > index.size:
        return dataclasses.replace(index, size=st.st_size, mtime_ns=st.st_mtime_ns,
                                   complete=False)
    return index


def _anchor(fd: int, index: Index) -> str:
    start = max(0, index.scanned_until - HASH_BYTES)
    return _sha(fd, start, index.scanned_until - start)


def scan(fmt: Format, fd: int, start: int, end: int, problem: Callable[[str], None],
         truncated: Callable[[str], None]) -> Iterator[tuple[int, bytes]]:
    """Blocks ``(offset, bytes)`` covering the entries of file bytes [start, end).

    Each block ends before an entry's start tag or at ``end``. An entry of ``BLOCK_BYTES`` or
    more is skipped (reported through ``problem``); a last entry cut off at ``end`` is left
    out (reported through ``truncated``). At most ``BLOCK_BYTES`` are read at a time.
    """
    pos = start
    while True:
        want = min(BLOCK_BYTES, end - pos)
        data = os.pread(fd, want, pos) if want > 0 else b""
        if len(data) < want or pos + len(data) >= end:
            yield pos, _without_cut_tail(fmt, data, pos, truncated)
            return
        cut = fmt.last_start(data)
        if cut <= 0 and data.startswith(fmt.marker):
            # one entry followed by a long run of non-entry bytes: keep the entry
            cut = fmt.element_end(data)
        if cut > 0:
            yield pos, data[:cut]
            pos += cut
        else:
            # no other entry starts within a whole block: this one is too large to show
            if data.startswith(fmt.marker):
                problem(f"the entry at byte {pos} is larger than {BLOCK_BYTES >> 20} MiB; "
                        "skipped")
            pos += len(data) - len(fmt.marker)


def _without_cut_tail(fmt: Format, buf: bytes, pos: int,
                      truncated: Callable[[str], None]) -> bytes:
    starts = fmt.starts(buf)
    if starts and fmt.element_end(buf[starts[-1]:]) < 0:
        truncated(f"the log ends inside the entry at byte {pos + starts[-1]} (truncated or still "
                "being written); the complete entries before it are kept")
        return buf[:starts[-1]]
    return buf


def update(index: Index, fmt: Format, fd: int, save: Callable[[Index], None],
           cancel: threading.Event | None = None) -> Index:
    """Extend ``index`` from its ``scanned_until`` to the end of the file, saving as it goes."""
    key_ids = {key: i for i, key in enumerate(index.keys)}
    end = os.fstat(fd).st_size
    next_save = index.scanned_until + CHECKPOINT_BYTES
    first = index.entries
    index.truncated = None
    for offset, data in scan(fmt, fd, index.scanned_until, end, index.add_problem,
                             lambda text: setattr(index, "truncated", text)):
        counts: dict[int, int] = {}
        for key, n in fmt.key_counts(data).items():
            if key not in key_ids:
                key_ids[key] = len(index.keys)
                index.keys.append(key)
            counts[key_ids[key]] = n
        count = sum(counts.values())
        if count:
            index.blocks.append(Block(offset, len(data), first, count, counts))
            first += count
        index.scanned_until = offset + len(data)
        if index.scanned_until >= next_save:
            index.anchor_sha = _anchor(fd, index)
            save(index)
            next_save = index.scanned_until + CHECKPOINT_BYTES
        if cancel is not None and cancel.is_set():
            index.anchor_sha = _anchor(fd, index)
            save(index)
            return index
    index.complete = True
    index.anchor_sha = _anchor(fd, index)
    save(index)
    return index


def load(path: str) -> Index | None:
    """The index stored at ``path``, or None when absent, unreadable or of another version."""
    try:
        with open(path, encoding="utf-8") as stream:
            data = json.load(stream)
        return Index.from_json(data) if data.get("version") == VERSION else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def store(path: str, index: Index) -> None:
    """Write ``index`` to ``path`` atomically."""
    tmp = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"
    with open(tmp, "w", encoding="utf-8") as stream:
        json.dump(index.to_json(), stream, separators=(",", ":"))
    os.replace(tmp, path)
