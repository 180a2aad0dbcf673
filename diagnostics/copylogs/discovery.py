"""Finding copy logs under the configured roots, and opening them without leaving a root.

A root is walked without following directory symlinks, to a bounded depth and file count. A
file symlink is resolved and kept only when its target stays inside the same root; one that
leaves it is listed with an error and never opened. Folders and files are opened component by
component with ``O_NOFOLLOW`` under a directory descriptor of the root, so a path swapped for a
symlink after discovery cannot lead outside either, and a path longer than the system takes in
one piece is still found and read. Names stay as the host gives them: ``str`` with the bytes
that are not UTF-8 escaped as lone surrogates (``os.fsdecode``).
"""

from __future__ import annotations

import base64
import datetime as dt
import errno
import hashlib
import os
import re
import stat
from dataclasses import dataclass, field

from diagnostics.copylogs import formats
from diagnostics.copylogs.models import CopyLog, CopyLogError

RESERVED_FOLDERS = ("Microsoft Data Box Edge", "Microsoft Data Box Gateway",
                    "Microsoft Azure Stack Edge Pro")
MAX_DEPTH = 16  # a full PATH_MAX (4096 bytes) of 255-byte names
MAX_VISITED = 100_000
MAX_LOGS = 5_000
MAX_UNNAMED = 2_000

_RESERVED = {name.lower() for name in RESERVED_FOLDERS}
_COPY_LOG_NAME = re.compile(r".*_CopyLog_.*\.xml", re.IGNORECASE)
_FORMAT_KIND = {"copy_log": "copy_log", "validation": "validation"}
_FOLDER = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
_NOFOLLOW = os.O_NOFOLLOW | os.O_CLOEXEC


@dataclass
class Candidate:
    """A discovered log with what the store needs to open it (``target`` is the path relative
    to ``root_real`` to open, None when the log must not be opened)."""

    log: CopyLog
    root_real: str
    target: str | None
    kind_hint: str | None
    share_hint: str | None


def log_id(root_real: str, relpath: str) -> str:
    """Stable, URL-safe id of a log that reveals nothing of its path."""
    digest = hashlib.sha256(f"{root_real}\0{relpath}".encode("utf-8", "surrogateescape")).digest()
    return base64.urlsafe_b64encode(digest[:12]).decode("ascii")


def open_in_root(root_real: str, relpath: str) -> int:
    """A read-only descriptor of the regular file ``relpath`` under ``root_real``.

    Every component is opened with ``O_NOFOLLOW`` relative to its parent, so no symlink is
    followed at all; raises :class:`CopyLogError` with the reason otherwise.
    """
    parts = relpath.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise CopyLogError("the path is not a plain path inside its root")
    try:
        root = os.open(root_real, _FOLDER)
    except OSError as exc:
        raise CopyLogError(f"the root cannot be opened ({exc.strerror})") from exc
    try:
        directory = open_below(root, parts[:-1])
        try:
            fd = os.open(parts[-1], os.O_RDONLY | os.O_NONBLOCK | _NOFOLLOW, dir_fd=directory)
        finally:
            os.close(directory)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise CopyLogError("a symbolic link is in the way; it is not followed") from exc
        raise CopyLogError(f"the file cannot be opened ({exc.strerror})") from exc
    finally:
        os.close(root)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise CopyLogError("not a regular file")
    return fd


def open_below(folder: int, parts: list[str]) -> int:
    """A new descriptor of the folder ``parts`` below the open ``folder``, one component at a
    time with ``O_NOFOLLOW``: no symlink is followed and no path is too long for the system.
    Raises ``OSError``."""
    current = os.open(".", _FOLDER, dir_fd=folder)
    try:
        for part in parts:
            child = os.open(part, _FOLDER | _NOFOLLOW, dir_fd=current)
            os.close(current)
            current = child
    except OSError:
        os.close(current)
        raise
    return current


def _classify(parts: list[str]) -> tuple[str | None, str | None, bool]:
    """(kind, share, named) from a path: ``named`` when the location or name says it is a log."""
    lowered = [p.lower() for p in parts]
    name = lowered[-1]
    for i, part in enumerate(lowered[:-2]):
        if part in _RESERVED and lowered[i + 1] in ("upload", "refresh") \
                and name.endswith((".xml", ".log")):
            return lowered[i + 1], (parts[i - 1] if i else None), True
    share = parts[0] if len(parts) > 1 else None
    if _COPY_LOG_NAME.fullmatch(parts[-1]):
        return "copy_log", share, True
    if name == "error.xml":
        return "validation", share, True
    return None, share, name.endswith(".xml")


@dataclass
class _Walk:
    """What a walk has found and how much it has looked at, over every root."""

    found: list[Candidate] = field(default_factory=list)
    visited: int = 0
    unnamed: int = 0


def walk(roots: list[str]) -> list[Candidate]:
    """Every candidate log under ``roots``: named ones and ``*.xml`` files to sniff.

    The walk is bounded (depth, entries visited, logs found, and other ``*.xml`` files kept
    for sniffing, so user data in a share cannot crowd out the logs); nothing is opened here.
    """
    state = _Walk()
    for root in roots:
        root_real = os.path.realpath(root)
        try:
            root_fd = os.open(root_real, _FOLDER)
        except OSError:
            continue
        try:
            _walk_root(state, root, root_real, root_fd)
        finally:
            os.close(root_fd)
    return state.found


def _walk_root(state: _Walk, root: str, root_real: str, root_fd: int) -> None:
    stack: list[tuple[str, int]] = [("", 0)]
    while stack and len(state.found) < MAX_LOGS:
        rel_dir, depth = stack.pop()
        try:
            folder = open_below(root_fd, rel_dir.split("/") if rel_dir else [])
        except OSError:
            continue
        try:
            try:
                with os.scandir(folder) as it:
                    entries = sorted(it, key=lambda e: e.name)
            except OSError:
                entries = []
            for entry in entries:
                state.visited += 1
                if state.visited > MAX_VISITED or len(state.found) >= MAX_LOGS:
                    break
                rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
                if entry.is_dir(follow_symlinks=False):
                    if depth < MAX_DEPTH:
                        stack.append((rel, depth + 1))
                    continue
                _keep(state, _candidate(root, root_real, rel, entry))
        finally:
            os.close(folder)


def _keep(state: _Walk, candidate: Candidate | None) -> None:
    if candidate is None:
        return
    if candidate.kind_hint is None:
        state.unnamed += 1
        if state.unnamed > MAX_UNNAMED:
            return
    state.found.append(candidate)


def _candidate(root: str, root_real: str, rel: str, entry: os.DirEntry) -> Candidate | None:
    kind, share, plausible = _classify(rel.split("/"))
    if not plausible:
        return None
    target: str | None = rel
    error = None
    try:
        st = entry.stat(follow_symlinks=False)
        if entry.is_symlink():
            resolved = os.path.realpath(os.path.join(root_real, rel))
            if os.path.commonpath([resolved, root_real]) != root_real:
                target, error = None, "symbolic link that leaves its root; not opened"
            else:
                target = os.path.relpath(resolved, root_real)
                st = os.stat(resolved, follow_symlinks=False)
        if target is not None and not stat.S_ISREG(st.st_mode):
            target, error = None, "not a regular file"
    except OSError as exc:
        target, error = None, f"cannot be examined ({exc.strerror})"
        st = None
    log = CopyLog(id=log_id(root_real, rel), root=root, share=share, kind=kind or "upload",
                  path=rel, modified_at=_iso(st.st_mtime) if st else "",
                  size=st.st_size if st else 0, error=error,
                  status="unreadable" if error else "unknown")
    return Candidate(log=log, root_real=root_real, target=target, kind_hint=kind,
                     share_hint=share)


def _iso(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).isoformat(timespec="seconds")


def read_head(fd: int, size: int = formats.SNIFF_BYTES) -> bytes:
    """The first ``size`` bytes of an open file."""
    return os.pread(fd, size, 0)
