"""API tokens: shown once, stored as a SHA-256 hash (they are long random strings)."""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
from typing import TYPE_CHECKING

from webui import db
from webui.auth.users import ROLES, AccountError, User

if TYPE_CHECKING:
    from webui.last_seen import LastSeen

PREFIX = "ewu_"
# A scraper polls every few seconds: remember a checked token briefly instead of asking SQLite
# each time. Revoking empties the memory at once (one worker process serves every request), and
# a token is never remembered past its expiry.
REMEMBER_SECONDS = 5.0
# A remembered token's use is noted at most this often (and whenever its client address
# changes): the last use shown is at most a minute old, and busy tokens cost no lock a request.
NOTE_USE_SECONDS = 60.0


class CheckedTokens:
    """One app's memory of recently checked tokens: digest → [remembered until, principal,
    when its use was last noted, from which address]."""

    def __init__(self):
        self._checked: dict[str, list] = {}

    def get(self, token_digest: str, now: float) -> User | None:
        remembered = self._checked.get(token_digest)
        return remembered[1] if remembered is not None and now < remembered[0] else None

    def remember(self, token_digest: str, until: float, user: User) -> None:
        """Remember a check; when the use was last noted survives checking again."""
        earlier = self._checked.get(token_digest)
        noted = earlier[2:] if earlier is not None else [float("-inf"), None]
        self._checked[token_digest] = [until, user, *noted]

    def use_to_note(self, token_digest: str, now: float, client_addr: str | None) -> bool:
        """Whether this use should be noted; remembers it as noted when it should."""
        remembered = self._checked.get(token_digest)
        if remembered is None:
            return True
        if now - remembered[2] < NOTE_USE_SECONDS and remembered[3] == client_addr:
            return False
        remembered[2], remembered[3] = now, client_addr
        return True

    def forget_all(self) -> None:
        self._checked.clear()


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create(conn: sqlite3.Connection, name: str, role: str, created_by: str,
           expires_at: float | None = None) -> tuple[int, str]:
    """Make a token; answers its id and the clear token (never stored)."""
    name = name.strip()
    if not 1 <= len(name) <= 64:
        raise AccountError("name must be 1–64 characters")
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    token = PREFIX + secrets.token_urlsafe(32)
    cur = conn.execute(
        "INSERT INTO api_tokens(name, token_hash, role, created_by, created_at, expires_at) "
        "VALUES (?, ?, ?, ?, ?, ?)", (name, digest(token), role, created_by, db.now(), expires_at))
    return cur.lastrowid, token


def load(conn: sqlite3.Connection, token: str, client_addr: str | None, checked: CheckedTokens,
         uses: LastSeen) -> User | None:
    """The principal of a live token; its use is noted in ``uses`` (at most once a minute)."""
    now = db.now()
    token_digest = digest(token)
    user = checked.get(token_digest, now)
    if user is None:
        row = conn.execute("SELECT * FROM api_tokens WHERE token_hash = ?",
                           (token_digest,)).fetchone()
        if row is None or row["revoked_at"] or (row["expires_at"] and row["expires_at"] < now):
            return None
        user = User(session_id=f"token-{row['id']}", user_id=None, username=row["name"],
                    role=row["role"], via="token", token_id=row["id"])
        checked.remember(token_digest,
                         min(now + REMEMBER_SECONDS, row["expires_at"] or float("inf")), user)
    if checked.use_to_note(token_digest, now, client_addr):
        uses.token_used(user.token_id, now, client_addr)
    return user


def all_tokens(conn: sqlite3.Connection, uses: LastSeen) -> list[dict]:
    """Every token, live ones first, with its last use (also one ``uses`` has not written)."""
    rows = conn.execute("SELECT * FROM api_tokens ORDER BY revoked_at IS NOT NULL, "
                        "created_at DESC").fetchall()
    listed = []
    for row in rows:
        token = dict(row)
        use = uses.token(row["id"])
        if use is not None and use[0] > (token["last_used_at"] or 0):
            token["last_used_at"], token["last_used_addr"] = use
        listed.append(token)
    return listed


def revoke(conn: sqlite3.Connection, token_id: int, checked: CheckedTokens) -> bool:
    cur = conn.execute("UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                       (db.now(), token_id))
    checked.forget_all()
    return cur.rowcount == 1


def token_dict(row: sqlite3.Row) -> dict:
    data = dict(row)
    data.pop("token_hash")
    return data
