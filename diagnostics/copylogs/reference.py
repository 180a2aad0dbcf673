"""The code and category reference of the copy-log formats, as data for the UI and the API.

Loaded once from ``reference.json`` next to this module. Categories of the service copy logs are
the documented ones; per-share and copy-time logs carry only a code, so their codes are grouped
into derived categories (``ContainerOrShareName``, ``BlobOrFileName``, ``Upload``, ``Refresh`` …)
that are listed here with their meaning too.
"""

from __future__ import annotations

import functools
import http
import json
from pathlib import Path
from typing import Any

_PATH = Path(__file__).with_name("reference.json")


@functools.cache
def _data() -> dict[str, Any]:
    return json.loads(_PATH.read_text(encoding="utf-8"))


def categories() -> dict[str, dict[str, str]]:
    """Every known category: ``{name: {severity, meaning, action}}``."""
    return _data()["categories"]


def codes() -> dict[str, dict[str, str]]:
    """Per-share log codes (table C): ``{"16001": {name, category, meaning, action}}``."""
    return _data()["codes"]


def symbolic_errors() -> dict[str, dict[str, str]]:
    """Copy-time (``error.xml``) symbolic errors that have no numeric code."""
    return _data()["symbolic_errors"]


def category_info(name: str | None) -> dict[str, str] | None:
    """``{name, severity, meaning, action}`` of a category, or None when unknown."""
    info = categories().get(name or "")
    return {"name": name, **info} if info else None


@functools.cache
def _code_by_name() -> dict[str, str]:
    return {info["name"]: code for code, info in codes().items()}


def code_info(code: int | str | None, category: str | None = None) -> dict[str, Any] | None:
    """What a code means: ``{code, name, meaning, action}``, or None when nothing is known.

    ``code`` may be a numeric code (``16001`` or ``"16001"``) or a symbolic name
    (``"ERROR_GENERAL"``). With ``category="UploadErrorCloudHttp"`` the code is an HTTP status.
    """
    text = str(code).strip() if code is not None else ""
    if category in ("UploadErrorCloudHttp", "ExportCloudHttp") and text.isdigit():
        return _http_info(int(text))
    if text == "1" and category in rename_categories():
        return {"code": 1, "name": "RENAMED", "meaning": categories()[category]["meaning"],
                "action": categories()[category]["action"]}
    if category not in _service_categories():
        number = _code_by_name().get(text, text)
        if number in codes():
            info = codes()[number]
            return {"code": int(number), "name": info["name"], "meaning": info["meaning"],
                    "action": info["action"]}
        if text in symbolic_errors():
            info = symbolic_errors()[text]
            return {"code": text, "name": text, "meaning": info["meaning"],
                    "action": info["action"]}
    return None


@functools.cache
def _service_categories() -> frozenset[str]:
    # Codes of service copy logs are HTTP or Win32 codes, not the per-share table C.
    derived = {info["category"] for info in (*codes().values(), *symbolic_errors().values())}
    return frozenset(categories()) - derived


def _http_info(status: int) -> dict[str, Any]:
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = "HTTP error"
    case = _data()["http_cases"].get(str(status))
    return {"code": status, "name": f"HTTP {status} {phrase}",
            "meaning": f"The storage service answered {status} {phrase}.",
            "action": case or ("Usually transient: the upload is retried. "
                               "Contact support if it persists.")}


def rename_categories() -> frozenset[str]:
    """Categories that report a rename (a warning, not a failure)."""
    return frozenset(_data()["rename_categories"])


def share_log_code(code: str) -> tuple[str | None, str | None, str]:
    """``(code_name, category, severity)`` of a per-share log code (table C)."""
    info = codes().get(code)
    if info is None:
        return None, None, "error"
    return info["name"], info["category"], info.get("severity", "error")


def validation_error(symbol: str) -> tuple[int | str, str | None, str]:
    """``(code, category, severity)`` of a copy-time symbolic error.

    ``code`` is the numeric code when the symbol is in table C, else the symbol itself.
    Name-character and length errors on files are warnings (the file is renamed at upload).
    """
    severity = "warning" if symbol in _data()["validation_warnings"] else "error"
    number = _code_by_name().get(symbol)
    if number is not None:
        return int(number), codes()[number]["category"], severity
    info = symbolic_errors().get(symbol)
    return symbol, (info["category"] if info else None), severity


def copy_log_severity(category: str | None, code: str | None) -> str:
    """Severity of a service copy-log entry: renames (category or ErrorCode 1) are warnings."""
    if category in rename_categories() or (code or "").strip() == "1":
        return "warning"
    info = categories().get(category or "")
    return info["severity"] if info else "error"
