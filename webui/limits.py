"""What a request may carry (SPEC §4): JSON depth, valid text, whole numbers SQLite can hold.

The size of a body is bounded by ``MAX_CONTENT_LENGTH`` (413); these bounds refuse the rest
with 400 or 422 before a view or the database sees the value.
"""

from __future__ import annotations

import re
from typing import Any

from flask.json.provider import DefaultJSONProvider
from werkzeug.routing import IntegerConverter, ValidationError

MAX_JSON_DEPTH = 32
# SQLite stores integers in 64 bits; a larger id or offset cannot name a row.
MAX_ROW_NUMBER = 2**63 - 1
WHOLE_NUMBER = re.compile(r"[0-9]{1,19}")
SURROGATE = re.compile("[\ud800-\udfff]")


class JSONTooDeep(ValueError):
    """A JSON text nested deeper than ``MAX_JSON_DEPTH`` arrays and objects."""

    rule = f"arrays and objects nested at most {MAX_JSON_DEPTH} levels deep"


class InvalidText(ValueError):
    """A JSON string (value or member name) that is not Unicode text: a lone surrogate."""

    rule = "Unicode text (a lone surrogate such as \\ud800 is not a character)"

    def __init__(self, field: str):
        super().__init__(f"{field}: {self.rule}")
        self.field = field


class BoundedJSONProvider(DefaultJSONProvider):
    """Flask's JSON, whose ``loads`` refuses deep nesting and lone surrogates."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            value = super().loads(s, **kwargs)
        except RecursionError:
            raise JSONTooDeep(JSONTooDeep.rule) from None
        check_parsed(value)
        return value


def check_parsed(value: Any) -> None:
    """Raise JSONTooDeep or InvalidText for a parsed JSON value; walks without recursion."""
    pending = [(value, "", 0)]
    while pending:
        item, path, depth = pending.pop()
        if isinstance(item, str):
            if _has_lone_surrogate(item):
                raise InvalidText(path or "body")
            continue
        if isinstance(item, dict | list):
            if depth >= MAX_JSON_DEPTH:
                raise JSONTooDeep(JSONTooDeep.rule)
            pending.extend(_members(item, path, depth + 1))


def _members(container: dict | list, path: str, depth: int) -> list[tuple[Any, str, int]]:
    if isinstance(container, list):
        return [(item, f"{path}[{index}]", depth) for index, item in enumerate(container)]
    members = []
    for key, item in container.items():
        field = f"{path}.{key}" if path else key
        if _has_lone_surrogate(key):
            raise InvalidText(_readable(field))
        members.append((item, field, depth))
    return members


def _has_lone_surrogate(text: str) -> bool:
    return SURROGATE.search(text) is not None


def _readable(field: str) -> str:
    # The answer names the field, and a lone surrogate cannot travel in it.
    return SURROGATE.sub("\ufffd", field)


class RowNumberConverter(IntegerConverter):
    """``<int:…>`` in URLs: a whole number SQLite can hold, else the route does not match."""

    def __init__(self, map, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ROW_NUMBER)
        super().__init__(map, **kwargs)

    def to_python(self, value: str) -> Any:
        # Thousands of digits would reach int()'s own limit before the range check.
        if len(value) > len(str(MAX_ROW_NUMBER)):
            raise ValidationError()
        return super().to_python(value)


def whole_number(text: str | None, low: int, high: int) -> int | None:
    """``text`` as a whole number within ``low``–``high``, or None when it is not one."""
    if text is None or not WHOLE_NUMBER.fullmatch(text):
        return None
    number = int(text)
    return number if low <= number <= high else None
