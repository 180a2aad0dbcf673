"""The package file: its name, the streamed zip writer, free space, leftovers and retention."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import re
import shutil
import time
import zipfile
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from diagnostics.collect import deflate
from diagnostics.host import Cancelled

PREFIX = "supportpackage-"
SUFFIX = ".zip"
PARTIAL = ".partial"
COMPRESSLEVEL = 6
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class PackageError(Exception):
    """A support package could not be made; the message says why, for the admin."""


class InsufficientSpace(PackageError):
    """Not enough free space where the package would be written."""

    def __init__(self, directory: Path, free: int, need: int):
        self.directory, self.free, self.need = directory, free, need
        super().__init__(f"Not enough free space in {directory}: {_mib(free)} free, "
                         f"{_mib(need)} needed for a support package.")


def _mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB"


def package_filename(device_name: str, when: dt.datetime | None = None,
                     prefix: str = PREFIX) -> str:
    """``<prefix><device>-<UTC yyyymmddThhmmssZ>.zip`` with a file-name-safe device."""
    when = (when or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    device = _UNSAFE.sub("-", device_name).strip(".-_")[:63] or "device"
    return f"{prefix}{device}-{when:%Y%m%dT%H%M%SZ}{SUFFIX}"


def check_free_space(directory: str | os.PathLike, need_bytes: int) -> int:
    """Free bytes in ``directory``; raises :class:`InsufficientSpace` (with figures) when fewer
    than ``need_bytes``."""
    directory = Path(directory)
    free = shutil.disk_usage(directory).free
    if free < need_bytes:
        raise InsufficientSpace(directory, free, need_bytes)
    return free


def cleanup_partials(out_dir: str | os.PathLike) -> list[Path]:
    """Remove ``*.partial`` files a crash or a killed job left in ``out_dir``; return them."""
    removed = []
    for path in sorted(Path(out_dir).glob(f"{PREFIX}*{PARTIAL}")):
        path.unlink(missing_ok=True)
        removed.append(path)
    return removed


def list_packages(out_dir: str | os.PathLike,
                  made_at: Mapping[str, float] | None = None) -> list[Path]:
    """Finished packages in ``out_dir``, newest first.

    ``made_at`` gives the time the caller recorded for a package (its job's finish time); a
    package it does not know is dated by its file. Names never decide: two packages of the
    same second are told apart by a suffix that does not sort by time.
    """
    made_at = made_at or {}

    def when(path: Path) -> float:
        recorded = made_at.get(path.name)
        return recorded if recorded is not None else path.stat().st_mtime
    return sorted(Path(out_dir).glob(f"{PREFIX}*{SUFFIX}"), key=when, reverse=True)


def prune(out_dir: str | os.PathLike, keep: int, made_at: Mapping[str, float] | None = None,
          protect: Iterable[str] = ()) -> list[Path]:
    """Delete all but the newest ``keep`` packages in ``out_dir`` (dated as
    :func:`list_packages` does); names in ``protect`` (the package just made, one being
    bundled) are never deleted. Returns what was removed."""
    protected = set(protect)
    doomed = [p for p in list_packages(out_dir, made_at)[keep:] if p.name not in protected]
    for path in doomed:
        path.unlink(missing_ok=True)
    return doomed


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file, read in large chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _stored(name: str) -> zipfile.ZipInfo:
    entry = zipfile.ZipInfo(name, time.localtime()[:6])
    entry.compress_type = zipfile.ZIP_STORED
    return entry


class PackageWriter:
    """A zip written member by member straight from the item streams.

    Each member is compressed as it is written (on every CPU, see :mod:`.deflate`); the byte
    count and SHA-256 of what went in are computed on the way. Nothing is staged in memory or in
    a temporary copy beyond a few blocks in flight.
    """

    def __init__(self, path: Path, what: str = "the support package"):
        self.path, self.what = path, what
        self.threads = deflate.workers()
        self.pool = (ThreadPoolExecutor(self.threads, "support-package-deflate")
                     if self.threads > 1 else None)
        self.file = open(path, "xb")  # noqa: SIM115 (closed by close() or abandon())
        self.zip = zipfile.ZipFile(self.file, "w", compression=zipfile.ZIP_DEFLATED,
                                   compresslevel=COMPRESSLEVEL)

    def add(self, name: str, chunks: Iterable[bytes],
            compress: bool = True) -> tuple[int, str, Exception | None]:
        """Write member ``name``; return (bytes, sha256, error of the source if it failed).

        ``compress=False`` stores the bytes as they are (a zip inside the zip). A source that
        fails part-way leaves what it gave so far. Errors while writing the zip itself (a full
        disk) propagate.
        """
        digest = hashlib.sha256()
        size = 0
        failure: Exception | None = None
        entry = name if compress else _stored(name)
        try:
            with self.zip.open(entry, "w", force_zip64=True) as member:
                if compress and self.pool is not None and hasattr(member, "_compressor"):
                    # zipfile has no public hook for its compressor; this one uses every CPU.
                    member._compressor = deflate.ParallelDeflate(
                        self.pool, COMPRESSLEVEL, in_flight=self.threads)
                source = iter(chunks)
                while True:
                    try:
                        chunk = next(source)
                    except StopIteration:
                        break
                    except Cancelled:
                        raise
                    except Exception as exc:  # the source's failure is recorded, not fatal
                        failure = exc
                        break
                    member.write(chunk)
                    digest.update(chunk)
                    size += len(chunk)
        except OSError as exc:
            raise self._write_error(exc) from exc
        return size, digest.hexdigest(), failure

    def close(self) -> None:
        """Finish the central directory and flush the file to disk."""
        try:
            self.zip.close()
            self.file.flush()
            os.fsync(self.file.fileno())
            self.file.close()
        except OSError as exc:
            raise self._write_error(exc) from exc
        finally:
            self._stop_pool()

    def _stop_pool(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)

    def _write_error(self, exc: OSError) -> PackageError:
        return PackageError(f"Could not write {self.what} in {self.path.parent}: "
                            f"{exc.strerror or exc}.")

    def abandon(self) -> None:
        """Close without caring for errors and remove the file."""
        with contextlib.suppress(OSError, ValueError, zipfile.BadZipFile):
            self.zip.close()
        with contextlib.suppress(OSError):
            self.file.close()
        self._stop_pool()
        self.path.unlink(missing_ok=True)
