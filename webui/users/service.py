"""Accounts and API tokens as administrators change them: the rules, and their audit entries.

The users page, the API and the console all change accounts through these functions.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass

from webui import audit, db
from webui.auth import tokens, users
from webui.auth.users import AccountError
from webui.instance import setup_password

DAY = 86400


@dataclass(frozen=True)
class NewToken:
    """A token just made; ``token`` is shown this once and never stored."""

    id: int
    name: str
    role: str
    expires_at: float | None
    token: str


def add_user(conn: sqlite3.Connection, actor: audit.Actor, username: str, role: str) -> str:
    """Add an account; answers its one-time password, to be changed at first sign-in."""
    password = setup_password()
    users.create(conn, username, password, role, must_change=True)
    audit.record(conn, actor, "user_add", username, detail={"role": role})
    return password


def change_role(conn: sqlite3.Connection, actor: audit.Actor, account: sqlite3.Row,
                role: str) -> None:
    try:
        users.set_role(conn, account["id"], role)
    except AccountError as exc:
        audit.record(conn, actor, "user_role", account["username"], "refused", str(exc))
        raise
    audit.record(conn, actor, "user_role", account["username"], detail={"role": role})


def reset_password(conn: sqlite3.Connection, actor: audit.Actor, account: sqlite3.Row) -> str:
    """Give the account a one-time password (answered) and end its sessions."""
    password = setup_password()
    users.set_password(conn, account["id"], password, must_change=True)
    audit.record(conn, actor, "user_password_reset", account["username"])
    return password


def remove_user(conn: sqlite3.Connection, actor: audit.Actor, account: sqlite3.Row,
                signed_in_id: int | None) -> None:
    if account["id"] == signed_in_id:
        raise AccountError("you cannot remove your own account while signed in with it")
    try:
        users.delete(conn, account["id"])
    except AccountError as exc:
        audit.record(conn, actor, "user_remove", account["username"], "refused", str(exc))
        raise
    audit.record(conn, actor, "user_remove", account["username"])


def create_token(conn: sqlite3.Connection, actor: audit.Actor, name: str, role: str,
                 expires_days: int | None = None) -> NewToken:
    expires_at = db.now() + expires_days * DAY if expires_days else None
    token_id, token = tokens.create(conn, name, role, actor.name, expires_at)
    audit.record(conn, actor, "token_create", name.strip(), detail={"id": token_id, "role": role})
    return NewToken(token_id, name.strip(), role, expires_at, token)


def revoke_token(conn: sqlite3.Connection, actor: audit.Actor, checked: tokens.CheckedTokens,
                 token_id: int) -> bool:
    """Revoke a live token; answers False when there is no such live token."""
    if not tokens.revoke(conn, token_id, checked):
        return False
    audit.record(conn, actor, "token_revoke", str(token_id))
    return True


class OneTimeSecrets:
    """Passwords and tokens just made, held for the next page of the session that made them.

    The page after a change is reached by a redirect, so a reload never repeats the change;
    the secret goes through memory (one worker), never through a URL, a cookie or a log.
    """

    KEEP_SECONDS = 300

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[str, tuple[float, dict]] = {}

    def hold(self, session_id: str, secret: dict) -> None:
        now = time.monotonic()
        with self._lock:
            self._held = {k: v for k, v in self._held.items()
                          if now - v[0] < self.KEEP_SECONDS}
            self._held[session_id] = (now, secret)

    def take(self, session_id: str) -> dict | None:
        """The held secret, once: a second call (a reload) answers None."""
        with self._lock:
            held = self._held.pop(session_id, None)
        if held is None or time.monotonic() - held[0] >= self.KEEP_SECONDS:
            return None
        return held[1]
