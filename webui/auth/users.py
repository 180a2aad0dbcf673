"""Accounts: the ``User`` the app sees, and the account table."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from flask_login import UserMixin

from webui import db
from webui.auth.passwords import hash_password

ROLES = ("administrator", "viewer")
FIRST_ACCOUNT = "admin"


class AccountError(Exception):
    """A change to the accounts that would break a rule; the message says which."""


@dataclass
class User(UserMixin):
    """The signed-in principal: a person with a session, or an API token."""

    session_id: str
    user_id: int | None
    username: str
    role: str
    must_change_password: bool = False
    via: str = "session"
    token_id: int | None = None

    def get_id(self) -> str:
        return self.session_id

    @property
    def is_admin(self) -> bool:
        return self.role == "administrator"

    @property
    def actor(self) -> str:
        return f"token:{self.username}" if self.via == "token" else self.username


def by_name(conn: sqlite3.Connection, username: str) -> sqlite3.Row | None:
    return conn.execute("SELECT * FROM users WHERE username = ?", (username,)).fetchone()


def by_id(conn: sqlite3.Connection, user_id: int) -> sqlite3.Row | None:
    return conn.execute("SELECT * FROM users WHERE id = ?", (user_id,)).fetchone()


def all_users(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    return conn.execute("SELECT * FROM users ORDER BY username").fetchall()


def create(conn: sqlite3.Connection, username: str, password: str, role: str,
           must_change: bool = True) -> int:
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    if by_name(conn, username) is not None:
        raise AccountError(f"a user named {username} already exists")
    cur = conn.execute(
        "INSERT INTO users(username, password_hash, role, must_change_password, created_at) "
        "VALUES (?, ?, ?, ?, ?)", (username, hash_password(conn, password), role,
                                    int(must_change), db.now()))
    return cur.lastrowid


def set_password(conn: sqlite3.Connection, user_id: int, password: str,
                 must_change: bool = False) -> None:
    """Store a new password and end every session of the account."""
    conn.execute(
        "UPDATE users SET password_hash = ?, must_change_password = ?, password_changed_at = ? "
        "WHERE id = ?", (hash_password(conn, password), int(must_change), db.now(), user_id))
    conn.execute("DELETE FROM sessions WHERE user_id = ?", (user_id,))


def _other_admins(conn: sqlite3.Connection, user_id: int) -> int:
    return conn.execute("SELECT count(*) FROM users WHERE role = 'administrator' AND id != ?",
                        (user_id,)).fetchone()[0]


def set_role(conn: sqlite3.Connection, user_id: int, role: str) -> None:
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    if role != "administrator" and _other_admins(conn, user_id) == 0:
        raise AccountError("the last administrator cannot be demoted")
    conn.execute("UPDATE users SET role = ? WHERE id = ?", (role, user_id))
    conn.execute("DELETE FROM sessions WHERE user_id = ?", (user_id,))


def delete(conn: sqlite3.Connection, user_id: int) -> None:
    row = by_id(conn, user_id)
    if row is None:
        raise AccountError("no such user")
    if row["role"] == "administrator" and _other_admins(conn, user_id) == 0:
        raise AccountError("the last administrator cannot be removed")
    conn.execute("DELETE FROM users WHERE id = ?", (user_id,))
