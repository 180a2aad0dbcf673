"""Server-side sessions: the cookie names a row; idle and absolute limits are enforced here."""

from __future__ import annotations

import secrets
import sqlite3
from typing import TYPE_CHECKING

from webui import db
from webui.auth.users import User

if TYPE_CHECKING:
    from webui.last_seen import LastSeen


def start(conn: sqlite3.Connection, user_id: int, client_addr: str | None) -> str:
    session_id = secrets.token_urlsafe(32)
    now = db.now()
    conn.execute("INSERT INTO sessions(id, user_id, created_at, last_seen_at, client_addr) "
                 "VALUES (?, ?, ?, ?, ?)", (session_id, user_id, now, now, client_addr))
    return session_id


def load(conn: sqlite3.Connection, session_id: str, uses: LastSeen, idle_seconds: float,
         max_seconds: float) -> User | None:
    """The user of a live session, or None when it ended, idled out or grew too old.

    Only reads: the use is noted in ``uses`` and ended sessions' rows are removed by its
    batched write.
    """
    row = conn.execute(
        "SELECT s.*, u.username, u.role, u.must_change_password FROM sessions s "
        "JOIN users u ON u.id = s.user_id WHERE s.id = ?", (session_id,)).fetchone()
    if row is None:
        return None
    now = db.now()
    seen = max(row["last_seen_at"], uses.session(session_id) or 0.0)
    if now - seen > idle_seconds or now - row["created_at"] > max_seconds:
        uses.forget_session(session_id)
        return None
    uses.session_used(session_id, now)
    return User(session_id=session_id, user_id=row["user_id"], username=row["username"],
                role=row["role"], must_change_password=bool(row["must_change_password"]))


def end_all(conn: sqlite3.Connection, user_id: int) -> None:
    conn.execute("DELETE FROM sessions WHERE user_id = ?", (user_id,))

