"""One home for the small shapes every feature shares: times as ISO 8601, ids, CSV cells."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

# Job, run, package and ticket ids: 16 lower-case hex digits (secrets.token_hex(8)).
HEX_ID = re.compile(r"[0-9a-f]{16}")
# What a spreadsheet takes for a formula at the start of a cell (OWASP CSV injection), with
# the tab and carriage return that some programs strip before looking.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "|", "%")


def iso(timestamp: float | None) -> str | None:
    """ISO 8601 UTC, to the second, of a database time; None stays None."""
    if timestamp is None:
        return None
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).isoformat(timespec="seconds")


def is_hex_id(value: str) -> bool:
    return HEX_ID.fullmatch(value) is not None


def spreadsheet_safe(value: Any) -> Any:
    """A CSV cell no spreadsheet runs as a formula: text that could start one gets a quote."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value
