"""Names for downloads: a ``Content-Disposition`` that no file name can break (RFC 6266).

Names from the host are bytes and may hold anything but ``/`` and NUL: invalid UTF-8, CR/LF,
quotes, semicolons, bidirectional overrides. The header carries an ASCII fallback with every
risky character replaced, and the real name percent-encoded in ``filename*``.
"""

from __future__ import annotations

import os
import unicodedata
from urllib.parse import quote

# Characters that must never reach a header or a saved file's name as they are.
_UNSAFE_CATEGORIES = ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")
FALLBACK_CHAR = "_"
REPLACEMENT = "\ufffd"
MAX_NAME_BYTES = 200


def display_name(name: str | bytes) -> str:
    """A name as text for people: U+FFFD for bytes that are not UTF-8 and for control,
    format (bidirectional overrides) and line-breaking characters."""
    if isinstance(name, bytes):
        text = name.decode("utf-8", "replace")
    elif _has_surrogates(name):
        # A str from os.fsdecode carries undecodable bytes as lone surrogates.
        text = os.fsencode(name).decode("utf-8", "replace")
    else:
        text = name
    return "".join(REPLACEMENT if unicodedata.category(c) in _UNSAFE_CATEGORIES else c
                   for c in text)


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


def ascii_fallback(name: str | bytes) -> str:
    """An ASCII ``filename=`` value: what is not printable ASCII, quote or backslash becomes _."""
    return "".join(c if 0x20 <= ord(c) < 0x7F and c not in '"\\%;' else FALLBACK_CHAR
                   for c in safe_name(name))


def content_disposition(name: str | bytes, disposition: str = "attachment") -> str:
    """``attachment; filename="…"; filename*=UTF-8''…`` for any name, safe for a header."""
    real = safe_name(name)
    return (f'{disposition}; filename="{ascii_fallback(name)}"; '
            f"filename*=UTF-8''{quote(real, safe='')}")


def _has_surrogates(text: str) -> bool:
    return any("\ud800" <= c <= "\udfff" for c in text)
