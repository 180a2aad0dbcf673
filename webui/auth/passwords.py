"""Password policy (SPEC F1) and argon2id hashing."""

from __future__ import annotations

import json
import sqlite3

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from webui import db

MIN_LENGTH = 12
MAX_LENGTH = 128
MIN_SCORE = 3
COST_SETTING = "password_hashing"


def policy_problem(password: str, username: str, device_name: str) -> str | None:
    """Why ``password`` is not acceptable, or None when it is."""
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"Use at most {MAX_LENGTH} characters."
    lowered = password.lower()
    for name, what in ((username, "user name"), (device_name, "device name")):
        if name and name.lower() in lowered:
            return f"Do not use the {what} in the password."
    from zxcvbn import zxcvbn  # its dictionaries cost ~15 MB: load them only when needed

    verdict = zxcvbn(password, user_inputs=[username, device_name])
    if verdict["score"] < MIN_SCORE:
        feedback = verdict.get("feedback") or {}
        reason = feedback.get("warning") or "It is too easy to guess."
        hint = " ".join(feedback.get("suggestions") or [])
        return f"Password too weak: {reason.rstrip('.')}. {hint}".strip()
    return None


def keep_cost(conn: sqlite3.Connection, params: dict) -> None:
    """Store the argon2 cost, so the pages, the API and the console all hash the same way."""
    value = json.dumps(params, sort_keys=True)
    stored = db.get_setting(conn, COST_SETTING)
    if stored is None or stored["value"] != value:
        db.put_setting(conn, COST_SETTING, value, "settings")


def _hasher(conn: sqlite3.Connection) -> PasswordHasher:
    stored = db.get_setting(conn, COST_SETTING)
    return PasswordHasher(**(json.loads(stored["value"]) if stored else {}))


def hash_password(conn: sqlite3.Connection, password: str) -> str:
    return _hasher(conn).hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    # The hash carries its own cost: any hasher checks it.
    try:
        return PasswordHasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def check_dummy(conn: sqlite3.Connection, password: str) -> None:
    """Spend the time a real check takes, so unknown user names do not answer faster."""
    hash_password(conn, password)
