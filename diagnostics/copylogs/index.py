"""The on-disk index of a log: blocks of about 1 MiB with their entry counts per (category, code)
and the column of their searchable paths.

A block starts at an entry's start tag (or where the scan started) and ends before one, so any
page, filtered by category and code or not, is found from the counts alone and then read from at
most a few blocks. The index is keyed by size, mtime, inode and a hash of the first bytes: it is
extended when the file only grew and rebuilt when it changed. Files are written atomically
(temporary file, then rename), and a long build is saved every ``CHECKPOINT_BYTES`` so pages and
progress can use it and an interrupted build resumes.

The path columns (:mod:`.search`) go to a file of their own beside the index, appended to as the
build goes and named by a token of the build, so a rebuilt index never reads another build's
columns; a block's column is known by its offset and length in that file.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import hashlib
import json
import os
import queue
import secrets
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from diagnostics.copylogs import search
from diagnostics.copylogs.formats import MAX_ELEMENT, Buffer, Format, Key

VERSION = 3
BLOCK_BYTES = MAX_ELEMENT
CHECKPOINT_BYTES = 128 << 20
SEGMENT_BYTES = 32 << 20
PARALLEL_MIN_BYTES = 256 << 20
MAX_WORKERS = 4
HASH_BYTES = 4096
MAX_PROBLEMS = 20


@dataclass
class Block:
    """``count`` entries in file bytes [offset, offset + length); the first is ``first``;
    ``keys`` counts them per key id, in the order of the block's table. Their path column
    (:class:`.search.Column`) is ``column_length`` bytes at ``column_at`` of the column file
    (-1: none), its paths stored without the ``prefix`` and ``suffix`` they all share."""

    offset: int
    length: int
    first: int
    count: int
    keys: dict[int, int]
    column_at: int = -1
    column_length: int = -1
    prefix: bytes = b""
    suffix: bytes = b""


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
    columns: str = ""

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
                "problems": self.problems, "columns": self.columns,
                "blocks": [[b.offset, b.length, b.first, b.count,
                            [x for pair in b.keys.items() for x in pair], b.column_at,
                            b.column_length, b.prefix.decode("latin-1"),
                            b.suffix.decode("latin-1")] for b in self.blocks]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Index:
        blocks = [Block(o, n, f, c, dict(zip(k[::2], k[1::2], strict=True)), at, length,
                        prefix.encode("latin-1"), suffix.encode("latin-1"))
                  for o, n, f, c, k, at, length, prefix, suffix in data["blocks"]]
        return cls(format=data["format"], size=data["size"], mtime_ns=data["mtime_ns"],
                   inode=data["inode"], head_sha=data["head_sha"],
                   scanned_until=data["scanned_until"], complete=data["complete"],
                   keys=[tuple(k) for k in data["keys"]], blocks=blocks,
                   problems=data["problems"], anchor_sha=data["anchor_sha"],
                   truncated=data["truncated"], columns=data["columns"])

    @property
    def columns_end(self) -> int:
        """Where the last column of the indexed part ends in the column file."""
        return max((b.column_at + b.column_length for b in self.blocks if b.column_at >= 0),
                   default=0)


def _sha(fd: int, offset: int, length: int) -> str:
    return hashlib.sha256(os.pread(fd, length, offset)).hexdigest()


def fresh(fmt: Format, fd: int) -> Index:
    """An empty index for the file open as ``fd``."""
    st = os.fstat(fd)
    return Index(format=fmt.name, size=st.st_size, mtime_ns=st.st_mtime_ns, inode=st.st_ino,
                 head_sha=_sha(fd, 0, HASH_BYTES), columns=secrets.token_hex(8))


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


def scan_blocks(fmt: Format, fd: int, start: int, end: int, problem: Callable[[str], None],
                truncated: Callable[[str], None] | None
                ) -> Iterator[tuple[int, Buffer, int]]:
    """Blocks ``(offset, buffer, length)`` covering the entries of file bytes [start, end);
    the block is ``buffer[:length]``, and the buffer is reused for the next block.

    Each block ends before an entry's start tag or at ``end``. An entry of ``BLOCK_BYTES`` or
    more is skipped (reported through ``problem``). When ``end`` is the end of the file
    (``truncated`` given), a last entry cut off there is left out and reported. At most
    ``BLOCK_BYTES`` are held.
    """
    # one buffer for every read: no copy per block and no fresh pages to fault in
    buf = bytearray(BLOCK_BYTES)
    view = memoryview(buf)
    pos = start
    while True:
        want = min(BLOCK_BYTES, end - pos)
        got = os.preadv(fd, [view[:want]], pos) if want > 0 else 0
        if got < want or pos + got >= end:
            data = bytes(view[:got])
            if truncated:
                data = _without_cut_tail(fmt, data, pos, truncated)
            yield pos, data, len(data)
            return
        cut = fmt.last_start(buf, got)
        if cut <= 0 and buf.startswith(fmt.marker):
            # one entry followed by a long run of non-entry bytes: keep the entry
            cut = fmt.element_end(buf)
        if cut > 0:
            yield pos, buf, cut
            pos += cut
        else:
            # no other entry starts within a whole block: this one is too large to show
            if buf.startswith(fmt.marker):
                problem(f"the entry at byte {pos} is larger than {BLOCK_BYTES >> 20} MiB; "
                        "skipped")
            pos += got - len(fmt.marker)


def scan(fmt: Format, fd: int, start: int, end: int, problem: Callable[[str], None],
         truncated: Callable[[str], None] | None) -> Iterator[tuple[int, bytes]]:
    """:func:`scan_blocks` with each block as its own ``bytes``."""
    for offset, data, length in scan_blocks(fmt, fd, start, end, problem, truncated):
        yield offset, bytes(memoryview(data)[:length])


def _without_cut_tail(fmt: Format, buf: bytes, pos: int,
                      truncated: Callable[[str], None]) -> bytes:
    starts = fmt.starts(buf)
    if starts and fmt.element_end(buf[starts[-1]:]) < 0:
        truncated(f"the log ends inside the entry at byte {pos + starts[-1]} (truncated or still "
                  "being written); the complete entries before it are kept")
        return buf[:starts[-1]]
    return buf


@dataclass
class Segment:
    """Counts of the blocks of one byte range: ``blocks`` holds (offset, length, key counts in
    the order of the block's table, column length or -1, the paths' shared prefix and suffix as
    Latin-1 text); ``columns`` their path columns, one after another."""

    end: int
    blocks: list[tuple[int, int, list[tuple[Key, int]], int, str, str]]
    problems: list[str]
    truncated: str | None
    columns: bytes = b""


def count_segment(fmt: Format, fd: int, start: int, end: int, final: bool) -> Segment:
    """Counts of the blocks of file bytes [start, end); ``final`` when ``end`` is the file's end."""
    problems: list[str] = []
    cut: list[str] = []
    blocks = []
    columns = []
    for offset, data, length in scan_blocks(fmt, fd, start, end, problems.append,
                                            cut.append if final else None):
        starts = search.chunk_starts(fmt, data, length)
        count = sum(starts) if starts else fmt.count(data, length)
        table, ids = fmt.key_table(data, length, count)
        width = search.key_width(len(table))
        key_ids = search.key_ids(ids, width)
        if width == 1:
            counts = [key_ids.count(i) for i in range(len(table))]  # in C, a pass per pair
        else:
            tally = collections.Counter(ids)
            counts = [tally[i] for i in range(len(table))]
        text = search.column(fmt, data, count, length) if count else b""
        prefix = suffix = b""
        if text is not None:
            text, prefix, suffix = search.pack(text, count, key_ids, starts)
            columns.append(text)
        blocks.append((offset, length, list(zip(table, counts, strict=True)),
                       -1 if text is None else len(text), prefix.decode("latin-1"),
                       suffix.decode("latin-1")))
    scanned = blocks[-1][0] + blocks[-1][1] if blocks else start
    return Segment(scanned, blocks, problems, cut[0] if cut else None, b"".join(columns))


def write_all(fd: int, data: bytes) -> None:
    """Write all of ``data`` to ``fd``."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


class ColumnFile:
    """The column file of one build, opened for appending; ``path`` None keeps no columns."""

    def __init__(self, path: str | None, keep: int):
        """Open (or create) ``path``, cut after its first ``keep`` bytes (what the index
        refers to: anything after is left from an interrupted build)."""
        self.path = path
        self.fd = -1
        if path is not None:
            self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            os.ftruncate(self.fd, keep)

    def append(self, data: bytes) -> int:
        """Write ``data`` at the end; returns where it starts (-1 when no columns are kept)."""
        if self.fd < 0:
            return -1
        write_all(self.fd, data)
        # with O_APPEND the offset is now the end of this write, whoever else appends
        return os.lseek(self.fd, 0, os.SEEK_CUR) - len(data)

    def sync(self) -> None:
        """Make what was appended durable before an index refers to it."""
        if self.fd >= 0:
            os.fsync(self.fd)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class WorkerFailed(Exception):
    """A worker process of a parallel build died or answered nonsense."""


def _in_workers(source: tuple[str, str], fmt: Format, ranges: list[tuple[int, int, bool]],
                workers: int, spill: str | None) -> Iterator[Segment]:
    """Segments of ``ranges`` counted by ``workers`` processes, each taking a contiguous share,
    yielded in file order. Each worker appends its path columns to a file of its own,
    ``{spill}.{n}`` (removed afterwards; none when ``spill`` is None), so that columns not merged
    yet wait on disk, not in memory."""
    share = -(-len(ranges) // workers)
    groups = [ranges[i:i + share] for i in range(0, len(ranges), share)]
    running: list[tuple[subprocess.Popen[str], queue.Queue[str], int]] = []
    spills: list[str] = []
    try:
        for n, group in enumerate(groups):
            spill_fd = -1
            if spill is not None:
                spills.append(f"{spill}.{n}")
                spill_fd = os.open(spills[-1], os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
            proc = subprocess.Popen([sys.executable, "-m", "diagnostics.copylogs.worker"],
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=subprocess.DEVNULL, text=True)
            assert proc.stdin is not None and proc.stdout is not None
            lines: queue.Queue[str] = queue.Queue()
            # a reader per worker keeps every pipe drained while earlier ranges are merged
            threading.Thread(target=_drain, args=(proc.stdout, lines), daemon=True).start()
            running.append((proc, lines, spill_fd))
            with proc.stdin:
                proc.stdin.write(json.dumps({"root": source[0], "path": source[1],
                                             "format": fmt.name, "ranges": group,
                                             "spill": spills[-1] if spill else None}) + "\n")
        for (proc, lines, spill_fd), group in zip(running, groups, strict=True):
            for _ in group:
                line = lines.get()
                if not line:
                    raise WorkerFailed(f"worker exited with {proc.wait()}")
                try:
                    answer = json.loads(line)
                    at, length = answer.pop("columns_at"), answer.pop("columns_length")
                    segment = Segment(**answer)
                except (ValueError, TypeError, KeyError) as exc:
                    raise WorkerFailed("worker answered nonsense") from exc
                if spill_fd >= 0:
                    segment.columns = os.pread(spill_fd, length, at)
                    if len(segment.columns) != length:
                        raise WorkerFailed("worker's columns are missing")
                yield segment
    finally:
        for proc, _, spill_fd in running:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            if spill_fd >= 0:
                os.close(spill_fd)
        for name in spills:
            with contextlib.suppress(OSError):
                os.unlink(name)


def _drain(stream: IO[str], lines: queue.Queue[str]) -> None:
    with stream:
        for line in stream:
            lines.put(line)
    lines.put("")


def _segments(fmt: Format, fd: int, start: int, end: int) -> list[tuple[int, int]]:
    """[start, end) cut into ranges of about ``SEGMENT_BYTES`` that begin at entry starts."""
    bounds = [start]
    for nominal in range(start + SEGMENT_BYTES, end, SEGMENT_BYTES):
        found = fmt.start.search(os.pread(fd, BLOCK_BYTES, nominal))
        if found and nominal + found.start() > bounds[-1]:
            bounds.append(nominal + found.start())
    bounds.append(end)
    return list(zip(bounds, bounds[1:], strict=False))


def update(index: Index, fmt: Format, fd: int, save: Callable[[Index], None],
           cancel: threading.Event | None = None,
           source: tuple[str, str] | None = None,
           columns: ColumnFile | None = None) -> Index:
    """Extend ``index`` from its ``scanned_until`` to the end of the file, saving as it goes;
    path columns are appended to ``columns`` (none kept without it).

    With ``source`` (root, path inside it) and at least ``PARALLEL_MIN_BYTES`` to read on a
    machine with several idle CPUs, ranges are counted by worker processes
    (:mod:`diagnostics.copylogs.worker`) and merged in file order; if a worker fails, this
    process carries on alone.
    """
    end = os.fstat(fd).st_size
    workers = _idle_cpus()
    done = False
    if source is not None and workers > 1 and end - index.scanned_until >= PARALLEL_MIN_BYTES:
        ranges = [(a, b, b == end) for a, b in _segments(fmt, fd, index.scanned_until, end)]
        try:
            spill = columns.path if columns is not None else None
            with contextlib.closing(_in_workers(source, fmt, ranges, workers,
                                                spill)) as segments:
                done = _merge(index, fd, segments, save, cancel, columns)
        except (OSError, WorkerFailed):
            pass  # carry on in this process from wherever the workers got to
        if cancel is not None and cancel.is_set():
            return _finish(index, fd, save, False, columns)
    if not done:
        segments = (count_segment(fmt, fd, a, b, b == end)
                    for a, b in _segments(fmt, fd, index.scanned_until, end))
        done = _merge(index, fd, segments, save, cancel, columns)
    return _finish(index, fd, save, done, columns)


def _idle_cpus() -> int:
    """CPUs free for worker processes: on a busy machine they only add overhead."""
    cpus = os.cpu_count() or 1
    return max(1, min(MAX_WORKERS, cpus, int(cpus - os.getloadavg()[0] + 0.5)))


def _finish(index: Index, fd: int, save: Callable[[Index], None], complete: bool,
            columns: ColumnFile | None) -> Index:
    index.complete = complete
    index.anchor_sha = _anchor(fd, index)
    if columns is not None:
        columns.sync()
    save(index)
    return index


def _merge(index: Index, fd: int, segments: Iterable[Segment], save: Callable[[Index], None],
           cancel: threading.Event | None, columns: ColumnFile | None = None) -> bool:
    """Append counted segments to ``index`` (their columns to ``columns``) in order; False when
    cancelled first."""
    key_ids = {key: i for i, key in enumerate(index.keys)}
    next_save = index.scanned_until + CHECKPOINT_BYTES
    first = index.entries
    index.truncated = None
    for segment in segments:
        at = columns.append(segment.columns) if columns is not None else -1
        for offset, length, key_counts, column_length, prefix, suffix in segment.blocks:
            counts: dict[int, int] = {}
            for key, n in key_counts:
                key = tuple(key)
                if key not in key_ids:
                    key_ids[key] = len(index.keys)
                    index.keys.append(key)
                counts[key_ids[key]] = n
            count = sum(counts.values())
            if count:
                kept = at >= 0 and column_length >= 0
                index.blocks.append(Block(offset, length, first, count, counts,
                                          at if kept else -1, column_length if kept else -1,
                                          prefix.encode("latin-1"), suffix.encode("latin-1")))
                first += count
            if at >= 0 and column_length >= 0:
                at += column_length
        for problem in segment.problems:
            index.add_problem(problem)
        index.truncated = segment.truncated
        index.scanned_until = segment.end
        if cancel is not None and cancel.is_set():
            return False
        if index.scanned_until >= next_save:
            index.anchor_sha = _anchor(fd, index)
            if columns is not None:
                columns.sync()
            save(index)
            next_save = index.scanned_until + CHECKPOINT_BYTES
    return True


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
    try:
        with open(tmp, "w", encoding="utf-8") as stream:
            json.dump(index.to_json(), stream, separators=(",", ":"))
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
