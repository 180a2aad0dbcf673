"""The audit log at scale: its index migration, query plans that read no more than a page, and
a CSV export that streams every entry in order."""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import sqlite3
import zoneinfo

import flask
import pytest

from webui import config, db, templating
from webui.audit import service

# The migration that indexes the audit log by actor, and the version before it.
AUDIT_INDEX_VERSION = 7


def migrated_to(path, version: int) -> sqlite3.Connection:
    """A database at schema ``version``, as a device that ran that release holds it."""
    conn = db.connect(path)
    conn.execute("PRAGMA journal_mode = WAL")
    for number, script in enumerate(db.MIGRATIONS[:version], start=1):
        conn.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;")
    return conn


def indexes(conn: sqlite3.Connection, table: str) -> dict[str, list[str]]:
    names = [row[1] for row in conn.execute(f"PRAGMA index_list({table})")]
    return {name: [row[2] for row in conn.execute(f"PRAGMA index_info({name})")]
            for name in names}


def test_the_audit_index_migration_applies_to_a_database_of_the_previous_version(tmp_path):
    conn = migrated_to(tmp_path / "webui.db", AUDIT_INDEX_VERSION - 1)
    conn.executemany("INSERT INTO audit(at, actor, action, outcome) VALUES (?, ?, 'sign_in', "
                     "'success')", [(1000.0 + n, f"user-{n % 3}") for n in range(30)])
    assert "audit_actor" not in indexes(conn, "audit")

    assert db.migrate(conn) == len(db.MIGRATIONS)

    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(db.MIGRATIONS)
    found = indexes(conn, "audit")
    assert found["audit_actor"] == ["actor", "at"]
    assert found["audit_at"] == ["at"]
    assert conn.execute("SELECT count(*) FROM audit WHERE actor = 'user-1'").fetchone()[0] == 10
    conn.close()


def plans_of_query(conn: sqlite3.Connection, **filters) -> list[list[str]]:
    """The query plan of each statement ``service.query`` runs for ``filters``."""
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    try:
        service.query(conn, **filters, limit=100, offset=0)
    finally:
        conn.set_trace_callback(None)
    assert len(statements) == 2  # the count and the page
    return [[row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}")]
            for sql in statements]


@pytest.fixture
def audit_conn(tmp_path):
    conn = db.connect(tmp_path / "webui.db")
    db.migrate(conn)
    rng = random.Random(7)
    conn.executemany("INSERT INTO audit(at, actor, action, outcome) VALUES (?, ?, ?, 'success')",
                     [(1_000_000.0 + n * 60, rng.choice(["alice", "bob", "token:fleet"]),
                       rng.choice(["sign_in", "power_request"])) for n in range(2000)])
    yield conn
    conn.close()


@pytest.mark.parametrize("filters", [
    {"actor": "alice"},
    {"since": 1_030_000.0, "until": 1_060_000.0},
    {"actor": "alice", "since": 1_030_000.0, "until": 1_060_000.0},
    {"actor": "alice", "since": 1_030_000.0},
], ids=["user", "time range", "user and range", "user since"])
def test_a_filtered_audit_page_searches_an_index_and_sorts_nothing(audit_conn, filters):
    for plan in plans_of_query(audit_conn, **filters):
        assert plan and all(step.startswith("SEARCH audit USING") for step in plan), plan
        assert not any("TEMP B-TREE" in step for step in plan), plan


def test_the_unfiltered_page_reads_the_time_index_in_order(audit_conn):
    _count, page = plans_of_query(audit_conn)
    assert page == ["SCAN audit USING INDEX audit_at"]


def test_pages_are_newest_first_by_time_then_by_entry(audit_conn):
    audit_conn.executemany("INSERT INTO audit(at, actor, action, outcome) VALUES "
                           "(?, 'carol', 'sign_in', 'success')", [(5.0,), (9.0,), (9.0,), (7.0,)])
    total, rows = service.query(audit_conn, actor="carol")
    assert total == 4
    assert [(row["at"], row["id"]) for row in rows] == [(9.0, 2003), (9.0, 2002), (7.0, 2004),
                                                      (5.0, 2001)]


def test_csv_export_streams_every_entry_newest_first(app, client, auth):
    """More entries than a batch of the export holds, recorded in a jumbled order of time."""
    count = service.CSV_BATCH * 2 + 37
    moments = [1_700_000_000.0 + n for n in range(count)]
    random.Random(3).shuffle(moments)
    with app.app_context():
        conn = db.get_db()
        conn.executemany("INSERT INTO audit(at, actor, action, target, outcome) "
                         "VALUES (?, 'alice', 'power_request', ?, 'success')",
                         [(at, f"target-{at:.0f}") for at in moments])
    auth.sign_in_viewer()

    response = client.get("/audit.csv?user=alice")

    assert response.status_code == 200 and response.is_streamed
    chunks = list(response.response)
    assert len(chunks) > 2  # sent in batches, not as one body
    rows = list(csv.DictReader(io.StringIO(b"".join(chunks).decode(), newline="")))
    assert [row["target"] for row in rows] == [
        f"target-{at:.0f}" for at in sorted(moments, reverse=True)]


def test_csv_export_of_everything_leaves_out_only_its_own_entry(app, client, auth):
    auth.sign_in_viewer()
    with app.app_context():
        before = [row["id"] for row in db.get_db().execute(
            "SELECT id FROM audit ORDER BY at DESC, id DESC")]

    export = client.get("/audit.csv").get_data(as_text=True)

    rows = list(csv.DictReader(io.StringIO(export, newline="")))
    assert len(rows) == len(before) and rows[0]["action"] == "sign_in"
    assert "audit_export" not in {row["action"] for row in rows}


def strftime_time_element(timestamp: float, zone) -> str:
    """What a time on the pages reads, written with strftime in ``templating``'s formats."""
    moment = dt.datetime.fromtimestamp(timestamp, dt.UTC)
    shown = moment.astimezone(zone).strftime(templating.LOCAL_FORMAT)
    return (f'<time datetime="{moment.isoformat()}" '
            f'title="{moment.strftime(templating.UTC_FORMAT)}">{shown}</time>')


# Whole and fractional seconds, both sides of a summer-time change in Europe and New York.
MOMENTS = [0.0, 1_774_746_000.0, 1_774_746_000.999999, 1_774_742_399.5, 1_762_059_600.25,
           1_800_000_000.123456]


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata",
                                  "Australia/Lord_Howe", "America/St_Johns"])
def test_a_time_reads_as_strftime_writes_it_in_every_zone(site_app, zone):
    with site_app.app_context():
        site_app.config["TIME_ZONE"] = zone
        site_app.config[config.SOURCES]["TIME_ZONE"] = config.UI
        for at in MOMENTS:
            expected = strftime_time_element(at, zoneinfo.ZoneInfo(zone))
            assert templating.local_time(at) == expected
            moment = dt.datetime.fromtimestamp(at, dt.UTC)
            time_of_day = moment.astimezone(zoneinfo.ZoneInfo(zone)).strftime("%H:%M:%S")
            assert templating.local_time(at, with_date=False).endswith(f">{time_of_day}</time>")
            title = expected.split('title="')[1].split('"')[0]
            local = expected.split(">")[1].split("<")[0]
            assert f'title="{local} ({title})"' in templating.relative_time(at, now=at + 90)


@pytest.mark.parametrize("value", ["0123456789abcdef", "a b", "a/b", "über", "50%"])
def test_a_table_s_links_built_once_are_the_links_url_for_builds(app, value):
    with app.test_request_context():
        ticket_url = templating.links("support.ticket", "ticket_id")
        download_url = templating.links("support.download_package", "package_id")
        assert ticket_url(value) == flask.url_for("support.ticket", ticket_id=value)
        assert download_url(value) == flask.url_for("support.download_package",
                                                    package_id=value)
