"""Server-side sessions: the cookie names a row; idle and absolute limits are enforced here."""

from __future__ import annotations

import secrets
import sqlite3

from flask import current_app

from webui import db, last_seen
from webui.auth.users import User


def start(conn: sqlite3.Connection, user_id: int, client_addr: str | None) -> str:
    session_id = secrets.token_urlsafe(32)
    now = db.now()
    conn.execute("INSERT INTO sessions(id, user_id, created_at, last_seen_at, client_addr) "
                 "VALUES (?, ?, ?, ?, ?)", (session_id, user_id, now, now, client_addr))
    return session_id


def load(conn: sqlite3.Connection, session_id: str) -> User | None:
    """The user of a live session, or None when it ended, idled out or grew too old.

    Only reads: the use is noted in memory and ended sessions' rows are removed by the
    batched write of :mod:`webui.last_seen`.
    """
    row = conn.execute(
        "SELECT s.*, u.username, u.role, u.must_change_password FROM sessions s "
        "JOIN users u ON u.id = s.user_id WHERE s.id = ?", (session_id,)).fetchone()
    if row is None:
        return None
    now = db.now()
    uses = last_seen.current()
    seen = max(row["last_seen_at"], uses.session(session_id) or 0.0)
    idle = current_app.config["SESSION_IDLE_MINUTES"] * 60
    absolute = current_app.config["SESSION_MAX_HOURS"] * 3600
    if now - seen > idle or now - row["created_at"] > absolute:
        uses.forget_session(session_id)
        return None
    uses.session_used(session_id, now)
    return User(session_id=session_id, user_id=row["user_id"], username=row["username"],
                role=row["role"], must_change_password=bool(row["must_change_password"]))


def end_all(conn: sqlite3.Connection, user_id: int) -> None:
    conn.execute("DELETE FROM sessions WHERE user_id = ?", (user_id,))

