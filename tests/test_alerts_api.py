"""``/api/v1/alerts``: the list with its filters and paging, one alert, acknowledging it
(administrators only; 404 unknown, 409 cleared, 422 against the rules)."""

from __future__ import annotations

from webui import audit, db, jobs
from webui.alerts import service
from webui.alerts.rules import Finding, Rule
from webui.users import service as accounts

NOW = 1_800_000_000.0


def share_rule() -> Rule:
    return Rule(id="share_errors", severity="warning", title="Upload errors on {share}",
                message="Could not upload {count} file(s) from share {share}.",
                action="Look at the copy log of {share}.", raises="errors", clears="none",
                check=lambda facts: [])


def raise_alerts(app, *subjects: str, now: float = NOW, severity: str | None = None):
    with app.app_context():
        return service.apply(db.get_db(), {share_rule(): [
            Finding(name, {"share": name, "count": 3}, severity=severity) for name in subjects]},
            now)


def test_a_viewer_lists_alerts_with_iso_times_and_every_field(app, client, auth):
    [change] = raise_alerts(app, "media")
    auth.sign_in_viewer()
    answer = client.get("/api/v1/alerts")
    assert answer.status_code == 200
    body = answer.get_json()
    assert (body["total"], body["page"], body["per_page"]) == (1, 1, 50)
    [alert] = body["items"]
    assert alert == {
        "id": change.alert_id, "rule": "share_errors", "subject": "media",
        "severity": "warning", "state": "active", "title": "Upload errors on media",
        "message": "Could not upload 3 file(s) from share media.",
        "recommended_action": "Look at the copy log of media.",
        "values": {"share": "media", "count": 3}, "count": 1,
        "raised_at": "2027-01-15T08:00:00+00:00", "last_seen_at": "2027-01-15T08:00:00+00:00",
        "acknowledged_at": None, "acknowledged_by": None, "note": None, "cleared_at": None}
    assert client.get(f"/api/v1/alerts/{change.alert_id}").get_json() == alert


def test_the_list_filters_by_severity_state_and_rule_and_pages(app, client, auth):
    raise_alerts(app, "a", "b", "c", "gone")
    raise_alerts(app, "a", "b", "c", now=NOW + 60)
    with app.app_context():
        service.apply(db.get_db(), {Rule(
            id="test_disks", severity="critical", title="Disks", message="m", action="a",
            raises="r", clears="c", check=lambda facts: []): [Finding()]}, NOW)
    auth.sign_in_viewer()

    def subjects(query: str) -> list:
        answer = client.get("/api/v1/alerts" + query)
        assert answer.status_code == 200, answer.get_json()
        return [alert["subject"] for alert in answer.get_json()["items"]]

    assert subjects("?state=open")[0] is None  # the critical one first
    assert sorted(subjects("?state=open")[1:]) == ["a", "b", "c"]
    assert subjects("?state=cleared") == ["gone"]
    assert subjects("?severity=critical") == [None]
    assert subjects("?rule=test_disks") == [None]
    assert len(subjects("")) == 5
    page = client.get("/api/v1/alerts?state=active&severity=warning&per_page=2&page=2")
    assert page.get_json()["total"] == 3 and len(page.get_json()["items"]) == 1


def test_bad_filters_are_refused_naming_the_parameter(client, auth):
    auth.sign_in_viewer()
    for query, field in (("severity=fatal", "severity"), ("state=closed", "state"),
                         ("rule=no_such_rule", "rule"), ("per_page=0", "per_page")):
        answer = client.get(f"/api/v1/alerts?{query}")
        assert answer.status_code == 422, query
        assert answer.content_type == "application/problem+json"
        assert [e["field"] for e in answer.get_json()["errors"]] == [field]


def test_an_unknown_alert_is_404(client, auth):
    auth.sign_in_viewer()
    answer = client.get("/api/v1/alerts/999")
    assert answer.status_code == 404 and answer.content_type == "application/problem+json"


def test_an_admin_acknowledges_with_a_note_and_it_is_audited(app, client, auth):
    [change] = raise_alerts(app, "media")
    auth.sign_in()
    answer = auth.api("POST", f"/api/v1/alerts/{change.alert_id}/acknowledge",
                      json={"note": "  Cable replaced  "})
    assert answer.status_code == 200
    alert = answer.get_json()
    assert alert["state"] == "acknowledged" and alert["note"] == "Cable replaced"
    assert alert["acknowledged_by"] == "admin" and alert["acknowledged_at"].endswith("+00:00")
    with app.app_context():
        [row] = db.get_db().execute(
            "SELECT actor, target FROM audit WHERE action = 'alert_acknowledge'").fetchall()
    assert (row["actor"], row["target"]) == ("admin", "share_errors:media")
    # The body is optional: acknowledging again without one drops the note.
    again = auth.api("POST", f"/api/v1/alerts/{change.alert_id}/acknowledge")
    assert again.status_code == 200 and again.get_json()["note"] is None


def test_a_bearer_token_of_an_administrator_acknowledges(app, client):
    [change] = raise_alerts(app, "media")
    with app.app_context():
        token = accounts.create_token(db.get_db(), audit.CONSOLE, "monitor", "administrator",
                                      None).token
    answer = client.post(f"/api/v1/alerts/{change.alert_id}/acknowledge", json={"note": "seen"},
                         headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200 and answer.get_json()["acknowledged_by"] == "token:monitor"


def test_a_viewer_cannot_acknowledge(app, client, auth):
    [change] = raise_alerts(app, "media")
    auth.sign_in_viewer()
    answer = auth.api("POST", f"/api/v1/alerts/{change.alert_id}/acknowledge",
                      json={"note": "mine"})
    assert answer.status_code == 403
    assert client.get(f"/api/v1/alerts/{change.alert_id}").get_json()["state"] == "active"


def test_acknowledging_a_cleared_alert_is_409_and_an_unknown_one_404(app, client, auth):
    [change] = raise_alerts(app, "media")
    raise_alerts(app, now=NOW + 60)
    auth.sign_in()
    cleared = auth.api("POST", f"/api/v1/alerts/{change.alert_id}/acknowledge", json={})
    assert cleared.status_code == 409 and "cleared" in cleared.get_json()["detail"]
    missing = auth.api("POST", "/api/v1/alerts/999/acknowledge", json={"note": "x"})
    assert missing.status_code == 404


def test_a_bad_note_is_refused_naming_the_field(app, client, auth):
    [change] = raise_alerts(app, "media")
    auth.sign_in()
    path = f"/api/v1/alerts/{change.alert_id}/acknowledge"
    for body, field in (({"note": "x" * (service.NOTE_MAX + 1)}, "note"), ({"note": 5}, "note"),
                        ({"notes": "typo"}, "notes")):
        answer = auth.api("POST", path, json=body)
        assert answer.status_code == 422, body
        assert [e["field"] for e in answer.get_json()["errors"]] == [field]
    assert auth.api("POST", path, json={"note": "x" * service.NOTE_MAX}).status_code == 200


def test_a_diagnostic_test_turning_unhealthy_is_listed_by_its_rule(app, client, auth):
    result = {"results": [{"id": "disks", "title": "Disks", "status": "unhealthy",
                           "summary": "sda failing", "details": {},
                           "recommended_action": "Replace sda."}]}
    with app.app_context():
        conn = db.get_db()
        jobs.record_done(conn, "diagnostics", {"tests": ["disks"]}, result, "admin")
        service.evaluate(conn, app, NOW)
    auth.sign_in_viewer()
    [alert] = client.get("/api/v1/alerts?rule=test_disks").get_json()["items"]
    assert alert["severity"] == "critical" and alert["recommended_action"] == "Replace sda."


def test_the_document_describes_the_alert_operations(app):
    from webui.api import openapi

    with app.test_request_context():
        document = openapi.document(app)
    listing = document["paths"]["/api/v1/alerts"]["get"]
    parameters = {p["name"]: p["schema"] for p in listing["parameters"]}
    assert set(parameters["state"]["enum"]) == {*service.STATES, "open"}
    assert "test_disks" in parameters["rule"]["enum"]
    acknowledge = document["paths"]["/api/v1/alerts/{alert_id}/acknowledge"]["post"]
    assert acknowledge["description"].startswith("Administrators only.")
    assert {"404", "409", "422"} <= set(acknowledge["responses"])
    assert "alerts" in {tag["name"] for tag in document["tags"]}
