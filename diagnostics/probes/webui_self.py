"""The web UI itself: instance directory writable, database sound, room for support packages."""

from __future__ import annotations

import os
import sqlite3
import time
from contextlib import closing
from urllib.parse import quote

from diagnostics.host import Host
from diagnostics.requires import NOTHING
from diagnostics.result import Result, Status, Verdict
from diagnostics.settings import ProbeSettings

ID = "webui_self"
TITLE = "Web UI health"
DESCRIPTION = ("The web UI's instance directory is writable, its database passes an integrity "
               "check, and there is free space for support packages.")
REQUIRES = NOTHING

DATABASE = "webui.db"
CHECK_SECONDS = 5.0


def run(host: Host, settings: ProbeSettings) -> Result:
    """Check the instance directory, the database (opened read-only) and free space."""
    verdict = Verdict(ID, TITLE)
    if not settings.instance_dir:
        return verdict.not_applicable("No web UI instance directory is configured (running "
                                      "outside the web UI)")
    instance = settings.instance_dir
    path = host.path(instance)
    details: dict = {"instance_dir": instance}
    if not path.is_dir():
        verdict.problem(Status.UNHEALTHY, f"The instance directory {instance} does not exist",
                        "Run 'edge-webui init' or correct WEBUI_INSTANCE.")
        return verdict.result("", details)
    # access() answers for a read-only mount too, without writing anything.
    details["writable"] = os.access(path, os.W_OK | os.X_OK)
    if not details["writable"]:
        verdict.problem(Status.UNHEALTHY, f"The instance directory {instance} is not writable",
                        "Give the web UI's user write access to the instance directory and "
                        "check that its volume is not mounted read-only.")
    database = path / DATABASE
    if not database.exists():
        verdict.problem(Status.WARNING, f"The database {DATABASE} does not exist yet",
                        "Run 'edge-webui init' to create it.")
    else:
        details["database"] = _check_database(database)
        if details["database"]["status"] == "unfinished":
            verdict.problem(Status.WARNING,
                            f"The database check did not finish within {CHECK_SECONDS:g} s",
                            "Run the test again when the device is less busy.")
        elif details["database"]["status"] != "ok":
            verdict.problem(Status.UNHEALTHY,
                            f"The database failed its check: {details['database']['status']}",
                            "Stop the web UI, keep a copy of webui.db, and restore it from a "
                            "backup or create a support package for support.")
    try:
        st = host.statvfs(instance)
    except OSError as exc:
        details["free_space_error"] = exc.strerror or str(exc)
    else:
        free = st.f_bavail * st.f_frsize
        details["free_bytes"] = free
        if free < settings.support_package_free_bytes:
            verdict.problem(Status.WARNING,
                            f"Only {free / 2**20:.0f} MiB free for support packages (needs "
                            f"{settings.support_package_free_bytes / 2**20:.0f} MiB)",
                            "Delete old support packages or free space on the instance volume.")
    free_text = (f"{details['free_bytes'] / 2**30:.1f} GiB free" if "free_bytes" in details
                 else "free space unknown")
    return verdict.result(f"Instance directory writable, database sound, {free_text}", details)


def _check_database(database: os.PathLike) -> dict:
    """``PRAGMA quick_check`` on a read-only connection, abandoned after ``CHECK_SECONDS``."""
    uri = f"file:{quote(os.fspath(database))}?mode=ro"
    deadline = time.monotonic() + CHECK_SECONDS
    try:
        with closing(sqlite3.connect(uri, uri=True, timeout=2)) as connection:
            connection.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
            rows = connection.execute("PRAGMA quick_check(5)").fetchall()
            version = connection.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.OperationalError as exc:
        return {"status": "unfinished" if "interrupted" in str(exc) else str(exc)}
    except sqlite3.DatabaseError as exc:
        return {"status": str(exc)}
    messages = [r[0] for r in rows]
    return {"status": "ok" if messages == ["ok"] else "; ".join(messages),
            "schema_version": version}
