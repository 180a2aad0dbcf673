"""``manifest.json``: what a support package holds and how each item was taken.

Shape (``format`` 1)::

    {"format": 1, "tool": "edge-webui", "tool_version": "0.1.0", "device": "...",
     "created_at": "2026-11-26T09:41:07Z",
     "options": {"collectors": [...], "since_hours": 24, "obfuscate": false, "lift_caps": false},
     "redaction": "always on", "obfuscated": false,
     "collectors": [{"id", "description", "started_at", "duration", "timed_out", "error",
                     "items": [item, ...]}, ...]}

An item is ``{"name", "kind", "source", "source_hex", "status", "exit_code", "duration",
"bytes", "source_size", "truncated", "timed_out", "error", "stderr", "sha256"}`` where
``name`` is the member in the zip (null when nothing was written), ``kind`` is ``file``,
``command`` or ``producer``, ``source`` the path, command line or producer, and ``status``
one of ``collected``, ``absent``, ``failed``, ``timed_out``, ``skipped``.

File names on the host are bytes. When a file's path is not plain text (invalid UTF-8, control
characters such as CR/LF, format characters such as U+202E), ``source`` shows it with U+FFFD in
their place, ``source_hex`` holds the path's exact bytes hex-encoded (after obfuscation, when
chosen), and ``name`` is a safe member name (each part valid UTF-8, at most 200 bytes, a
``-2`` … suffix when two names meet). ``source_hex`` is null for every other item.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

FORMAT = 1
NAME = "manifest.json"


@dataclass
class ItemRecord:
    """How one item was taken."""

    kind: str
    source: str
    name: str | None = None
    source_hex: str | None = None
    status: str = "collected"
    exit_code: int | None = None
    duration: float = 0.0
    bytes: int = 0
    source_size: int | None = None
    truncated: bool = False
    timed_out: bool = False
    error: str | None = None
    stderr: str | None = None
    sha256: str | None = None


@dataclass
class CollectorRecord:
    """How one collector went, with its items."""

    id: str
    description: str
    started_at: str
    duration: float = 0.0
    timed_out: bool = False
    error: str | None = None
    items: list[ItemRecord] = field(default_factory=list)


def build_manifest(*, tool_version: str, device: str, created_at: str, options: dict,
                   obfuscated: bool, collectors: list[CollectorRecord]) -> dict:
    """The manifest document of a package."""
    return {
        "format": FORMAT,
        "tool": "edge-webui",
        "tool_version": tool_version,
        "device": device,
        "created_at": created_at,
        "options": options,
        "redaction": "always on",
        "obfuscated": obfuscated,
        "collectors": [asdict(c) for c in collectors],
    }


def read_manifest(package: str | Path) -> dict:
    """The manifest of a finished package (``KeyError`` when it has none)."""
    with zipfile.ZipFile(package) as zf:
        return json.loads(zf.read(NAME))
