"""SQLite in the instance directory: one connection per request on ``g``, WAL, migrations.

The schema evolves by appending to ``MIGRATIONS``; ``PRAGMA user_version`` says how many ran.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask, current_app, g

DB_NAME = "webui.db"

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        username TEXT NOT NULL UNIQUE COLLATE NOCASE,
        password_hash TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('administrator', 'viewer')),
        must_change_password INTEGER NOT NULL DEFAULT 0,
        created_at REAL NOT NULL,
        password_changed_at REAL
    );
    CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_at REAL NOT NULL,
        last_seen_at REAL NOT NULL,
        client_addr TEXT
    );
    CREATE INDEX sessions_user ON sessions(user_id);
    CREATE TABLE api_tokens (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        token_hash TEXT NOT NULL UNIQUE,
        role TEXT NOT NULL CHECK (role IN ('administrator', 'viewer')),
        created_by TEXT NOT NULL,
        created_at REAL NOT NULL,
        expires_at REAL,
        last_used_at REAL,
        last_used_addr TEXT,
        revoked_at REAL
    );
    CREATE TABLE sign_in_failures (
        key TEXT PRIMARY KEY,
        failures INTEGER NOT NULL,
        last_failure_at REAL NOT NULL,
        locked_until REAL NOT NULL DEFAULT 0
    );
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        at REAL NOT NULL,
        actor TEXT NOT NULL,
        client_addr TEXT,
        action TEXT NOT NULL,
        target TEXT,
        outcome TEXT NOT NULL,
        detail TEXT
    );
    CREATE INDEX audit_at ON audit(at);
    CREATE TABLE jobs (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN
            ('queued', 'running', 'succeeded', 'failed', 'interrupted', 'cancelled')),
        progress REAL NOT NULL DEFAULT 0,
        message TEXT,
        params TEXT NOT NULL DEFAULT '{}',
        result TEXT,
        error TEXT,
        created_by TEXT,
        created_at REAL NOT NULL,
        started_at REAL,
        finished_at REAL,
        owner TEXT
    );
    CREATE INDEX jobs_kind ON jobs(kind, created_at);
    CREATE TABLE settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        changed_at REAL NOT NULL,
        changed_by TEXT
    );
    """,
    """
    CREATE TABLE support_tickets (
        id TEXT PRIMARY KEY,
        created_at REAL NOT NULL,
        created_by TEXT NOT NULL,
        details TEXT NOT NULL,
        package_job TEXT,
        state TEXT NOT NULL CHECK (state IN ('waiting', 'ready', 'failed')),
        bundle TEXT,
        bundle_size INTEGER,
        bundle_sha256 TEXT,
        error TEXT,
        uploaded_at REAL,
        uploaded_by TEXT,
        upload_answer TEXT
    );
    CREATE INDEX support_tickets_created ON support_tickets(created_at);
    """,
    """
    ALTER TABLE jobs ADD COLUMN subject TEXT;
    CREATE INDEX jobs_subject ON jobs(kind, subject, created_at);
    """,
    # Usage history: one row per minute in a ring of 24 hours (slot = minute of the epoch
    # modulo 1,440), so the table never holds more than a day.
    """
    CREATE TABLE usage_history (
        slot INTEGER PRIMARY KEY CHECK (slot >= 0 AND slot < 1440),
        at REAL NOT NULL,
        cpu_percent REAL NOT NULL,
        memory_percent REAL NOT NULL,
        disk_read_bps REAL NOT NULL,
        disk_write_bps REAL NOT NULL,
        net_rx_bps REAL NOT NULL,
        net_tx_bps REAL NOT NULL
    );
    """,
    # Alerts (SPEC F11): at most one open alert per rule and subject; cleared ones are history.
    """
    CREATE TABLE alerts (
        id INTEGER PRIMARY KEY,
        rule TEXT NOT NULL,
        subject TEXT NOT NULL DEFAULT '',
        severity TEXT NOT NULL CHECK (severity IN ('critical', 'warning', 'informational')),
        state TEXT NOT NULL CHECK (state IN ('active', 'acknowledged', 'cleared')),
        title TEXT NOT NULL,
        message TEXT NOT NULL,
        action TEXT NOT NULL,
        details TEXT NOT NULL DEFAULT '{}',
        raised_at REAL NOT NULL,
        last_seen_at REAL NOT NULL,
        count INTEGER NOT NULL DEFAULT 1,
        acknowledged_at REAL,
        acknowledged_by TEXT,
        note TEXT,
        cleared_at REAL
    );
    CREATE UNIQUE INDEX alerts_open ON alerts(rule, subject) WHERE state != 'cleared';
    CREATE INDEX alerts_state ON alerts(state, severity);
    CREATE INDEX alerts_raised ON alerts(raised_at);
    """,
    # Notification channels and one delivery row per alert event and channel.
    """
    CREATE TABLE notification_channels (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE COLLATE NOCASE,
        kind TEXT NOT NULL CHECK (kind IN ('email', 'webhook', 'syslog')),
        min_severity TEXT NOT NULL
            CHECK (min_severity IN ('critical', 'warning', 'informational')),
        enabled INTEGER NOT NULL DEFAULT 1,
        settings TEXT NOT NULL DEFAULT '{}',
        created_at REAL NOT NULL,
        created_by TEXT NOT NULL,
        changed_at REAL
    );
    CREATE TABLE notification_deliveries (
        id INTEGER PRIMARY KEY,
        channel_id INTEGER NOT NULL REFERENCES notification_channels(id) ON DELETE CASCADE,
        alert_id INTEGER REFERENCES alerts(id) ON DELETE SET NULL,
        event TEXT NOT NULL CHECK (event IN ('raised', 'cleared', 'test', 'digest')),
        state TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'failed', 'suppressed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at REAL,
        reason TEXT,
        payload TEXT NOT NULL,
        created_at REAL NOT NULL,
        finished_at REAL,
        digested_at REAL
    );
    CREATE INDEX notification_deliveries_due ON notification_deliveries(state, next_attempt_at);
    CREATE INDEX notification_deliveries_alert ON notification_deliveries(alert_id);
    CREATE INDEX notification_deliveries_channel
        ON notification_deliveries(channel_id, created_at);
    """,
    # The audit log filtered by user (and time), newest first, without reading the whole log:
    # entries sort by time within an actor, so a page reads only the rows it shows.
    """
    CREATE INDEX audit_actor ON audit(actor, at);
    """,
)


# SQLite's primary result codes that say the storage, not the statement, is at fault.
SQLITE_BUSY, SQLITE_LOCKED, SQLITE_READONLY, SQLITE_FULL = 5, 6, 8, 13
# Seconds a request waits for a lock another program holds before it answers 503.
REQUEST_BUSY_TIMEOUT = 3.0
RESERVE_NAME = ".space-reserve"
RESERVE_BYTES = 4 << 20


class StorageProblem(sqlite3.OperationalError):
    """The database could not be written for a reason outside the request; says what to do."""

    message = "The device storage cannot be written."
    retry_after: int | None = None

    def __init__(self, message: str | None = None):
        super().__init__(message or self.message)


class DatabaseBusy(StorageProblem):
    message = ("The device database is busy: another program holds it. "
               "Try again in a few seconds.")
    retry_after = 5


class StorageFull(StorageProblem):
    message = ("The device storage that holds the web UI's data is full. "
               "Delete support packages to free space.")


class StorageReadOnly(StorageProblem):
    message = ("The device storage that holds the web UI's data is read-only: "
               "changes cannot be saved.")
    retry_after = 60


def storage_problem(exc: sqlite3.OperationalError) -> StorageProblem | None:
    """The storage fault an SQLite error stands for, or None for an ordinary error."""
    code = (getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF
    text = str(exc)
    if code in (SQLITE_BUSY, SQLITE_LOCKED) or "database is locked" in text:
        return DatabaseBusy()
    if code == SQLITE_FULL or "disk is full" in text:
        return StorageFull()
    if code == SQLITE_READONLY or "readonly database" in text:
        return StorageReadOnly()
    return None


class Connection(sqlite3.Connection):
    """A connection whose storage faults are typed, and that spends the space reserve once
    when the disk is full, so a sign-in and its audit row can always be recorded."""

    reserve: Path | None = None

    def execute(self, sql, parameters=()):
        in_transaction = self.in_transaction
        try:
            return super().execute(sql, parameters)
        except sqlite3.OperationalError as exc:
            problem = storage_problem(exc)
            # Retried only where SQLite kept the transaction the statement belonged to.
            retry = isinstance(problem, StorageFull) and (
                self.in_transaction or not in_transaction)
            if retry and release_reserve(self.reserve):
                try:
                    return super().execute(sql, parameters)
                except sqlite3.OperationalError as again:
                    raise (storage_problem(again) or again) from again
            if problem is None:
                raise
            raise problem from exc

    def executescript(self, script):
        try:
            return super().executescript(script)
        except sqlite3.OperationalError as exc:
            raise (storage_problem(exc) or exc) from exc


def release_reserve(reserve: Path | None) -> bool:
    """Give the reserved space back to the file system; answers whether there was any."""
    if reserve is None:
        return False
    try:
        reserve.unlink()
    except OSError:
        return False
    return True


def keep_reserve(instance: Path) -> bool:
    """Hold ``RESERVE_BYTES`` in the instance for a full disk; answers whether it is held."""
    reserve = Path(instance) / RESERVE_NAME
    try:
        if reserve.stat().st_size == RESERVE_BYTES:
            return True
    except OSError:
        pass
    try:
        fd = os.open(reserve, os.O_WRONLY | os.O_CREAT, 0o600)
    except OSError:
        return False
    try:
        os.posix_fallocate(fd, 0, RESERVE_BYTES)
    except OSError:
        os.close(fd)
        reserve.unlink(missing_ok=True)
        return False
    os.close(fd)
    return True


def connect(path: str | Path, timeout: float = 10.0) -> Connection:
    """A connection with the pragmas every user of the database relies on."""
    conn = sqlite3.connect(str(path), timeout=timeout, isolation_level=None,
                           check_same_thread=False, factory=Connection)
    conn.reserve = Path(path).parent / RESERVE_NAME
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


def migrate(conn: sqlite3.Connection) -> int:
    """Run the migrations this database has not seen; answer the schema version."""
    conn.execute("PRAGMA journal_mode = WAL")  # persistent: stored in the database file
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        conn.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;")
    return len(MIGRATIONS)


def path_for(app: Flask) -> Path:
    return Path(app.config["INSTANCE"]) / DB_NAME


class _OpenConnections(dict):
    """A thread's connections by database path, closed when the thread ends."""

    def __del__(self):
        for conn in self.values():
            conn.close()


class _ThreadConnections(threading.local):
    """One open connection per server thread and database: opening one per request costs
    more than most requests."""

    def __init__(self):
        self.by_path: dict[str, sqlite3.Connection] = _OpenConnections()


_connections = _ThreadConnections()


def get_db() -> sqlite3.Connection:
    if "db" not in g:
        path = str(path_for(current_app))
        conn = _connections.by_path.get(path)
        if conn is None:
            conn = _connections.by_path[path] = connect(
                path, current_app.config.get("DB_BUSY_TIMEOUT", REQUEST_BUSY_TIMEOUT))
        g.db = conn
    return g.db


def close_thread_connections() -> None:
    """Close the connections this thread opened; a job thread calls it when its job ends."""
    while _connections.by_path:
        _path, conn = _connections.by_path.popitem()
        conn.close()


def close_db(_exc: BaseException | None = None) -> None:
    conn = g.pop("db", None)
    # The connection stays open for the thread's next request; never leave a transaction open.
    if conn is not None and conn.in_transaction:
        conn.rollback()


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """Statements that land together or not at all; the write lock is taken at the start, so
    two writers never interleave their reads and writes."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def now() -> float:
    return time.time()


def get_setting(conn: sqlite3.Connection, key: str) -> sqlite3.Row | None:
    return conn.execute("SELECT * FROM settings WHERE key = ?", (key,)).fetchone()


def put_setting(conn: sqlite3.Connection, key: str, value: str, changed_by: str | None) -> None:
    conn.execute(
        "INSERT INTO settings(key, value, changed_at, changed_by) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value, "
        "changed_at = excluded.changed_at, changed_by = excluded.changed_by",
        (key, value, now(), changed_by))


def init_app(app: Flask) -> None:
    Path(app.config["INSTANCE"]).mkdir(parents=True, exist_ok=True)
    path = path_for(app)
    with connect(path) as conn:
        migrate(conn)
    conn.close()
    # Password and token hashes live here: only the service's user reads it.
    for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        if name.exists():
            name.chmod(0o600)
    keep_reserve(path.parent)
    app.teardown_appcontext(close_db)
