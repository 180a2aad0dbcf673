"""Names from the host as text: file names are bytes and may hold anything but ``/`` and NUL.

Invalid UTF-8, CR/LF, quotes, semicolons and bidirectional overrides all occur in real file
names. :func:`display_name` shows such a name to people; :func:`safe_name` makes a name that
is safe for a file system, a zip member or a header value; :func:`is_plain` says whether a
name needs either at all. Web-free, so the support package and the web UI share one rule.
"""

from __future__ import annotations

import os
import unicodedata

# Characters that must never reach a header or a saved file's name as they are.
_UNSAFE_CATEGORIES = ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")
FALLBACK_CHAR = "_"
REPLACEMENT = "\ufffd"
MAX_NAME_BYTES = 200


def as_bytes(name: str | bytes) -> bytes:
    """The name's real bytes (a str from ``os.fsdecode`` carries them as lone surrogates)."""
    return name if isinstance(name, bytes) else os.fsencode(name)


def display_name(name: str | bytes) -> str:
    """A name as text for people: U+FFFD for bytes that are not UTF-8 and for control,
    format (bidirectional overrides) and line-breaking characters."""
    text = as_bytes(name).decode("utf-8", "replace")
    return "".join(REPLACEMENT if unicodedata.category(c) in _UNSAFE_CATEGORIES else c
                   for c in text)


def is_plain(name: str | bytes) -> bool:
    """Whether the name is valid UTF-8 without control or format characters."""
    try:
        text = as_bytes(name).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return display_name(name) == text


def safe_name(name: str | bytes, limit: int = MAX_NAME_BYTES) -> str:
    """The name with control, format and unassigned characters replaced; at most ``limit``
    UTF-8 bytes, keeping the extension. Never empty."""
    text = "".join(FALLBACK_CHAR if c in "/\\" + REPLACEMENT else c for c in display_name(name))
    text = text.strip(" .") or "download"
    if len(text.encode()) <= limit:
        return text
    stem, dot, ext = text.rpartition(".")
    if not dot or len(ext.encode()) > 16:
        stem, ext = text, ""
    suffix = f".{ext}" if ext else ""
    budget = limit - len(suffix.encode())
    return stem.encode()[:budget].decode("utf-8", "ignore") + suffix
