"""Sign-in, sign-out and password change as steps the views and the API share."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from webui import audit, instance
from webui.auth import lockout, passwords, sessions, users


@dataclass
class SignInOutcome:
    session_id: str | None = None
    error: str | None = None
    retry_at: float | None = None


def sign_in(conn: sqlite3.Connection, username: str, password: str, client_addr: str | None,
            device_nonce: str | None, lockout_threshold: int) -> SignInOutcome:
    """Check a password, throttled by the device cookie's nonce when the browser has one."""
    actor = audit.Actor(username, client_addr)
    counters = lockout.keys(username, client_addr, device_nonce)
    until = lockout.locked_until(conn, counters)
    if until:
        audit.record(conn, actor, "sign_in", username, "refused", "locked out")
        return SignInOutcome(error="Too many failed sign-ins.", retry_at=until)
    row = users.by_name(conn, username)
    if row is None:
        passwords.check_dummy(conn, password)
    if row is None or not passwords.verify_password(row["password_hash"], password):
        until = lockout.record_failure(conn, counters, lockout_threshold)
        audit.record(conn, actor, "sign_in", username, "failure", "wrong user name or password")
        if until:
            audit.record(conn, actor, "lockout", username, "locked",
                         {"until": until, "client": "known device" if device_nonce else "unknown"})
            return SignInOutcome(error="Too many failed sign-ins.", retry_at=until)
        return SignInOutcome(error="Wrong user name or password.")
    lockout.clear(conn, counters)
    session_id = sessions.start(conn, row["id"], client_addr)
    audit.record(conn, audit.Actor(row["username"], client_addr), "sign_in", row["username"])
    return SignInOutcome(session_id=session_id)


def sign_out(conn: sqlite3.Connection, actor: audit.Actor, user_id: int, username: str) -> None:
    """End every session of the account."""
    sessions.end_all(conn, user_id)
    audit.record(conn, actor, "sign_out", username)


def change_password(conn: sqlite3.Connection, actor: audit.Actor, user_id: int, current: str,
                    new: str, device_name: str,
                    instance_dir: Path) -> tuple[str | None, str | None]:
    """Answers (problem, new session id): ends every session of the user, starts a fresh one."""
    row = users.by_id(conn, user_id)
    if row is None or not passwords.verify_password(row["password_hash"], current):
        audit.record(conn, actor, "password_change", row["username"] if row else None, "failure",
                     "current password wrong")
        return "The current password is wrong.", None
    if new == current:
        return "Choose a password different from the current one.", None
    problem = passwords.policy_problem(new, row["username"], device_name)
    if problem:
        return problem, None
    users.set_password(conn, user_id, new)
    forget_setup_password(instance_dir, row["username"])
    audit.record(conn, actor, "password_change", row["username"])
    return None, sessions.start(conn, user_id, actor.client_addr)


def forget_setup_password(instance_dir: Path, username: str) -> None:
    """The one-time setup password is void once the first account has a password of its own."""
    if username == users.FIRST_ACCOUNT:
        Path(instance_dir, instance.INITIAL_PASSWORD).unlink(missing_ok=True)
