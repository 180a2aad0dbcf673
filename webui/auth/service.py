"""Sign-in and password change as steps the views and the API share."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from flask import current_app

from webui import audit, instance
from webui.auth import lockout, passwords, sessions, users


@dataclass
class SignInOutcome:
    session_id: str | None = None
    error: str | None = None
    retry_at: float | None = None


def sign_in(conn: sqlite3.Connection, username: str, password: str,
            client_addr: str | None, device_nonce: str | None = None) -> SignInOutcome:
    """Check a password, throttled by the device cookie's nonce when the browser has one."""
    counters = lockout.keys(username, client_addr, device_nonce)
    until = lockout.locked_until(conn, counters)
    if until:
        audit.record("sign_in", username, "refused", "locked out", actor=username, conn=conn)
        return SignInOutcome(error="Too many failed sign-ins.", retry_at=until)
    row = users.by_name(conn, username)
    if row is None:
        passwords.check_dummy(password)
    if row is None or not passwords.verify_password(row["password_hash"], password):
        until = lockout.record_failure(conn, counters)
        audit.record("sign_in", username, "failure", "wrong user name or password",
                     actor=username, conn=conn)
        if until:
            audit.record("lockout", username, "locked",
                         {"until": until, "client": "known device" if device_nonce else "unknown"},
                         actor=username, conn=conn)
            return SignInOutcome(error="Too many failed sign-ins.", retry_at=until)
        return SignInOutcome(error="Wrong user name or password.")
    lockout.clear(conn, counters)
    session_id = sessions.start(conn, row["id"], client_addr)
    audit.record("sign_in", row["username"], "success", actor=row["username"], conn=conn)
    return SignInOutcome(session_id=session_id)


def change_password(conn: sqlite3.Connection, user_id: int, current: str, new: str,
                    client_addr: str | None) -> tuple[str | None, str | None]:
    """Answers (problem, new session id): ends every session of the user, starts a fresh one."""
    row = users.by_id(conn, user_id)
    if row is None or not passwords.verify_password(row["password_hash"], current):
        audit.record("password_change", row["username"] if row else None, "failure",
                     "current password wrong", conn=conn)
        return "The current password is wrong.", None
    if new == current:
        return "Choose a password different from the current one.", None
    problem = passwords.policy_problem(new, row["username"], current_app.config["DEVICE_NAME"])
    if problem:
        return problem, None
    users.set_password(conn, user_id, new)
    _forget_setup_password(row["username"])
    audit.record("password_change", row["username"], conn=conn)
    return None, sessions.start(conn, user_id, client_addr)


def _forget_setup_password(username: str) -> None:
    if username == users.FIRST_ACCOUNT:
        Path(current_app.config["INSTANCE"], instance.INITIAL_PASSWORD).unlink(missing_ok=True)
