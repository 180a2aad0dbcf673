"""Names for downloads: a ``Content-Disposition`` that no file name can break (RFC 6266).

Names from the host are bytes and may hold anything but ``/`` and NUL: invalid UTF-8, CR/LF,
quotes, semicolons, bidirectional overrides. The header carries an ASCII fallback with every
risky character replaced, and the real name percent-encoded in ``filename*``. The rules for
the name itself live in :mod:`diagnostics.names`, shared with the support package.
"""

from __future__ import annotations

from urllib.parse import quote

from diagnostics.names import FALLBACK_CHAR, display_name, safe_name

__all__ = ["content_disposition", "display_name", "safe_name"]


def ascii_fallback(name: str | bytes) -> str:
    """An ASCII ``filename=`` value: what is not printable ASCII, quote or backslash becomes _."""
    return "".join(c if 0x20 <= ord(c) < 0x7F and c not in '"\\%;' else FALLBACK_CHAR
                   for c in safe_name(name))


def content_disposition(name: str | bytes, disposition: str = "attachment") -> str:
    """``attachment; filename="…"; filename*=UTF-8''…`` for any name, safe for a header."""
    real = safe_name(name)
    return (f'{disposition}; filename="{ascii_fallback(name)}"; '
            f"filename*=UTF-8''{quote(real, safe='')}")
