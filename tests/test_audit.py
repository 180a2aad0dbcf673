import csv
import io

import pytest

from webui import audit, db

from conftest import make_app


def test_sign_ins_and_changes_are_audited_with_address(app, client, auth):
    auth.sign_in(password="wrong password here")
    auth.sign_in()
    with app.app_context():
        rows = db.get_db().execute("SELECT * FROM audit ORDER BY id").fetchall()
    assert [(r["action"], r["outcome"]) for r in rows] == [("sign_in", "failure"),
                                                          ("sign_in", "success")]
    assert all(r["client_addr"] == "127.0.0.1" for r in rows)


def test_audit_page_filters_and_csv_export(app, client, auth):
    with app.app_context():
        conn = db.get_db()
        for n in range(5):
            audit.record(conn, audit.Actor("alice"), "power_request", f"target-{n}")
        audit.record(conn, audit.Actor("bob"), "connectivity_change", "fully_disconnected",
                     detail="=cmd|' /C calc'!A0")
    auth.sign_in_viewer()
    # Action names may break between their words (<wbr>); a reader sees them whole.
    page = client.get("/audit?user=alice").get_data(as_text=True).replace("<wbr>", "")
    assert "target-4" in page and "connectivity_change" not in page
    page = client.get("/audit?action=connect").get_data(as_text=True).replace("<wbr>", "")
    assert "connectivity_change" in page and "power_request" not in page
    export = client.get("/audit.csv?user=bob")
    assert export.mimetype == "text/csv"
    assert "attachment" in export.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(export.get_data(as_text=True))))
    assert len(rows) == 1 and rows[0]["actor"] == "bob"
    # A formula-looking value is neutralised for spreadsheets.
    assert rows[0]["detail"].startswith("'=")


def test_export_is_itself_audited_with_its_filters(app, client, auth):
    auth.sign_in_viewer()
    assert client.get("/audit.csv?user=bob&action=power").status_code == 200
    with app.app_context():
        entry = db.get_db().execute("SELECT * FROM audit ORDER BY id DESC LIMIT 1").fetchone()
    assert (entry["actor"], entry["client_addr"], entry["action"]) == (
        "viewer", "127.0.0.1", "audit_export")
    assert entry["detail"] == '{"action": "power", "user": "bob"}'


@pytest.mark.parametrize("detail", ["|calc", "%0A=1", "\t=1+1", "\r=1+1"])
def test_export_neutralises_every_formula_start(app, client, auth, detail):
    with app.app_context():
        audit.record(db.get_db(), audit.Actor("bob"), "test", detail=detail)
    auth.sign_in_viewer()
    export = client.get("/audit.csv?user=bob").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(export, newline="")))
    assert rows[0]["detail"] == "'" + detail


def test_sign_out_is_audited(app, client, auth):
    auth.sign_in()
    auth.post("/sign-out")
    with app.app_context():
        entry = db.get_db().execute("SELECT * FROM audit ORDER BY id DESC LIMIT 1").fetchone()
    assert (entry["actor"], entry["client_addr"], entry["action"], entry["target"]) == (
        "admin", "127.0.0.1", "sign_out", "admin")


def test_bad_date_filter_is_a_clear_400(client, auth):
    auth.sign_in()
    response = client.get("/audit?from=yesterday")
    assert response.status_code == 400
    assert "Use a date like" in response.get_data(as_text=True)
    api = client.get("/api/v1/audit?from=31/12/2026")
    assert api.status_code == 422 and api.get_json()["errors"][0]["field"] == "from"


def test_retention_bounds_the_table(tmp_path):
    app = make_app(tmp_path / "instance", AUDIT_MAX_ENTRIES=1000)
    try:
        with app.app_context():
            conn = db.get_db()
            for n in range(1200):
                audit.record(conn, audit.SYSTEM, "test", str(n))
            audit.service.prune(conn)
            count = conn.execute("SELECT count(*) FROM audit").fetchone()[0]
            oldest = conn.execute("SELECT min(CAST(target AS INTEGER)) FROM audit").fetchone()[0]
    finally:
        app.extensions["jobs"].shutdown()
    assert count == 1000 and oldest == 200


def test_api_audit_lists_entries(client, auth):
    auth.sign_in()
    body = client.get("/api/v1/audit?action=sign_in").get_json()
    assert body["total"] == 1 and body["items"][0]["actor"] == "admin"
    assert body["items"][0]["at"].endswith("+00:00")


@pytest.mark.parametrize(("query", "field"), [
    ("page=99999999999999999999", "page"),
    ("page=9223372036854775808", "page"),
    ("page=0", "page"),
    ("page=ten", "page"),
    ("page=1.0", "page"),
    ("per_page=0", "per_page"),
    ("per_page=501", "per_page"),
    ("per_page=99999999999999999999", "per_page"),
    ("per_page=-5", "per_page"),
    ("per_page=+5", "per_page"),
])
def test_api_audit_paging_out_of_range_names_the_parameter(client, auth, query, field):
    auth.sign_in_viewer()
    response = client.get(f"/api/v1/audit?{query}")
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["errors"][0]["field"] == field


def test_api_audit_pages_through_entries(app, client, auth):
    with app.app_context():
        for n in range(5):
            audit.record(db.get_db(), audit.Actor("alice"), "power_request", f"target-{n}")
    auth.sign_in_viewer()
    body = client.get("/api/v1/audit?user=alice&per_page=2&page=2").get_json()
    assert (body["total"], body["page"], body["per_page"]) == (5, 2, 2)
    assert [e["target"] for e in body["items"]] == ["target-2", "target-1"]
    far = client.get("/api/v1/audit?user=alice&page=1000000").get_json()
    assert far["total"] == 5 and far["items"] == []


def test_audit_page_number_beyond_64_bits_is_an_ordinary_page(client, auth):
    auth.sign_in_viewer()
    response = client.get("/audit?page=99999999999999999999")
    assert response.status_code == 200


def test_audit_page_links_to_older_and_newer_entries_keeping_the_filter(app, client, auth):
    with app.app_context():
        conn = db.get_db()
        for n in range(150):
            audit.record(conn, audit.Actor("alice"), "power_request", f"target-{n}")
    auth.sign_in_viewer()
    first = client.get("/audit?user=alice").get_data(as_text=True)
    assert "Page 1 of 2" in first and "Newer</a>" not in first
    assert 'href="/audit?user=alice&amp;page=2">Older</a>' in first
    second = client.get("/audit?user=alice&page=2").get_data(as_text=True)
    assert 'href="/audit?user=alice&amp;page=1">Newer</a>' in second and "Older</a>" not in second


def test_audit_rows_show_every_field_escaped_and_details_as_facts(app, client, auth):
    with app.app_context():
        conn = db.get_db()
        audit.record(conn, audit.Actor("<b>eve</b>", "192.0.2.7"), "odd_<i>action</i>",
                     "<script>x</script>", "failure", "plain <em>text</em>")
        audit.record(conn, audit.Actor("<b>eve</b>"), "diagnostics_run",
                     detail={"tests": ["disks", "memory"], "reason": "<u>why</u>"})
    auth.sign_in_viewer()

    page = client.get("/audit?user=<b>eve</b>").get_data(as_text=True)

    assert "odd_<wbr>&lt;i&gt;action&lt;/i&gt;" in page
    assert "diagnostics_<wbr>run" in page
    for raw in ("<b>eve</b>", "<script>", "<i>", "<em>", "<u>"):
        assert raw not in page
    assert "&lt;b&gt;eve&lt;/b&gt;" in page and "192.0.2.7" in page
    assert "&lt;script&gt;x&lt;/script&gt;" in page and "plain &lt;em&gt;text&lt;/em&gt;" in page
    assert 'class="badge outcome-bad">failure<' in page
    assert "<dt>tests</dt><dd>disks, memory</dd>" in page
    assert "<dt>reason</dt><dd>&lt;u&gt;why&lt;/u&gt;</dd>" in page
