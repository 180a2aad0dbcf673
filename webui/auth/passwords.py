"""Password policy (SPEC F1) and argon2id hashing."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

MIN_LENGTH = 12
MAX_LENGTH = 128
MIN_SCORE = 3


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


def _hasher() -> PasswordHasher:
    params = current_app.config.get("ARGON2_PARAMS") or {}
    return PasswordHasher(**params)


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def check_dummy(password: str) -> None:
    """Spend the time a real check takes, so unknown user names do not answer faster."""
    verify_password(_DUMMY.get("hash") or _dummy_hash(), password)


_DUMMY: dict[str, str] = {}


def _dummy_hash() -> str:
    _DUMMY["hash"] = hash_password("not a real password for anyone")
    return _DUMMY["hash"]
