import csv
import io

import pytest

from webui import audit, db


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
        for n in range(5):
            audit.record("power_request", f"target-{n}", actor="alice")
        audit.record("connectivity_change", "fully_disconnected", actor="bob",
                     detail="=cmd|' /C calc'!A0")
    auth.sign_in_viewer()
    page = client.get("/audit?user=alice").get_data(as_text=True)
    assert "target-4" in page and "connectivity_change" not in page
    page = client.get("/audit?action=connect").get_data(as_text=True)
    assert "connectivity_change" in page and "power_request" not in page
    export = client.get("/audit.csv?user=bob")
    assert export.mimetype == "text/csv"
    assert "attachment" in export.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(export.get_data(as_text=True))))
    assert len(rows) == 1 and rows[0]["actor"] == "bob"
    # A formula-looking value is neutralised for spreadsheets.
    assert rows[0]["detail"].startswith("'=")


def test_bad_date_filter_is_a_clear_400(client, auth):
    auth.sign_in()
    response = client.get("/audit?from=yesterday")
    assert response.status_code == 400
    assert "Use a date like" in response.get_data(as_text=True)
    api = client.get("/api/v1/audit?from=31/12/2026")
    assert api.status_code == 422 and api.get_json()["errors"][0]["field"] == "from"


def test_retention_bounds_the_table(app):
    app.config["AUDIT_MAX_ENTRIES"] = 1000
    with app.app_context():
        conn = db.get_db()
        for n in range(1200):
            audit.record("test", str(n), actor="system", conn=conn)
        audit.service.prune(conn)
        count = conn.execute("SELECT count(*) FROM audit").fetchone()[0]
        oldest = conn.execute("SELECT min(CAST(target AS INTEGER)) FROM audit").fetchone()[0]
    assert count == 1000 and oldest == 200


def test_api_audit_lists_entries(client, auth):
    auth.sign_in()
    body = client.get("/api/v1/audit?action=sign_in").get_json()
    assert body["total"] == 1 and body["entries"][0]["actor"] == "admin"


@pytest.mark.parametrize(("query", "field"), [
    ("offset=99999999999999999999", "offset"),
    ("offset=9223372036854775808", "offset"),
    ("offset=-1", "offset"),
    ("offset=ten", "offset"),
    ("limit=0", "limit"),
    ("limit=1001", "limit"),
    ("limit=99999999999999999999", "limit"),
    ("limit=-5", "limit"),
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
            audit.record("power_request", f"target-{n}", actor="alice")
    auth.sign_in_viewer()
    body = client.get("/api/v1/audit?user=alice&limit=2&offset=1").get_json()
    assert body["total"] == 5
    assert [e["target"] for e in body["entries"]] == ["target-3", "target-2"]
    far = client.get("/api/v1/audit?user=alice&offset=9223372036854775807").get_json()
    assert far["total"] == 5 and far["entries"] == []


def test_audit_page_number_beyond_64_bits_is_an_ordinary_page(client, auth):
    auth.sign_in_viewer()
    response = client.get("/audit?page=99999999999999999999")
    assert response.status_code == 200
