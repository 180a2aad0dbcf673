"""Deflate on several CPUs for large zip members, the way pigz does it.

Input is cut into blocks; each block is compressed on its own thread (zlib releases the GIL)
with the previous 32 KiB as its dictionary and ends with a sync flush, so the concatenated
outputs form one ordinary deflate stream that any unzip reads. At most a few blocks are in
flight, so memory stays bounded whatever the member's size.
"""

from __future__ import annotations

import os
import zlib
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor

BLOCK = 1 << 20
WINDOW = 32 * 1024
MAX_WORKERS = 4


def workers() -> int:
    """Compression threads worth starting on this machine (1 means: use plain zlib)."""
    return max(1, min(MAX_WORKERS, len(os.sched_getaffinity(0))))


def _compress_block(block: bytes, dictionary: bytes, level: int) -> bytes:
    # memLevel 9 (zlib's maximum, the default is 8) is a few per cent faster at the same ratio.
    compressor = (zlib.compressobj(level, zlib.DEFLATED, -15, 9, zdict=dictionary) if dictionary
                  else zlib.compressobj(level, zlib.DEFLATED, -15, 9))
    return compressor.compress(block) + compressor.flush(zlib.Z_SYNC_FLUSH)


class ParallelDeflate:
    """A compressor object with the ``compress()``/``flush()`` interface of ``zlib``'s, fed to a
    zip member; output comes back in order, possibly a few blocks later than its input."""

    def __init__(self, pool: ThreadPoolExecutor, level: int, in_flight: int):
        self.pool, self.level, self.in_flight = pool, level, in_flight
        self.parts: list[bytes] = []
        self.size = 0
        self.dictionary = b""
        self.pending: deque[Future[bytes]] = deque()

    def compress(self, data: bytes) -> bytes:
        """Take ``data``; return whatever compressed output is ready, in order."""
        # Blocks are whole input chunks gathered up to at least BLOCK bytes: no re-slicing.
        self.parts.append(bytes(data))
        self.size += len(data)
        if self.size >= BLOCK:
            self._submit()
        return self._collect(wait_for=len(self.pending) - self.in_flight)

    def flush(self) -> bytes:
        """The rest of the stream, ending it."""
        if self.parts:
            self._submit()
        # An empty final block closes the stream after the last sync flush.
        return self._collect(wait_for=len(self.pending)) + b"\x03\x00"

    def _submit(self) -> None:
        block = b"".join(self.parts)
        self.parts.clear()
        self.size = 0
        self.pending.append(self.pool.submit(_compress_block, block, self.dictionary, self.level))
        self.dictionary = block[-WINDOW:]

    def _collect(self, wait_for: int) -> bytes:
        out = []
        while self.pending and (wait_for > 0 or self.pending[0].done()):
            out.append(self.pending.popleft().result())
            wait_for -= 1
        return b"".join(out)
