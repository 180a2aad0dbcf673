"""The alert list: raised once, updated while seen, cleared when the cause goes, raised again
when it returns, acknowledged with a note, worse-after-acknowledge raised again, history
bounded, every change audited and heard by listeners."""

from __future__ import annotations

import pytest

from webui import audit, db, jobs
from webui.alerts import service
from webui.alerts.rules import Finding, Rule, diagnostic_rules

NOW = 1_800_000_000.0
ADMIN = audit.Actor("admin", "127.0.0.1")


def share_rule(found: list[Finding]) -> Rule:
    """A rule whose check answers whatever ``found`` holds at the time."""
    return Rule(id="share_errors", severity="warning", title="Upload errors on {share}",
                message="Could not upload {count} files(s) from share {share}.",
                action="Look at the copy log of {share}.", raises="errors", clears="none",
                check=lambda facts: list(found))


def evaluate(app, rule: Rule, now: float = NOW) -> list[service.Change]:
    with app.app_context():
        return service.evaluate(db.get_db(), app, now, [rule])


def alerts(app, **filters) -> list[dict]:
    with app.app_context():
        _total, rows = service.query(db.get_db(), **filters)
        return [service.to_dict(row) for row in rows]


def audit_actions(app) -> list[str]:
    with app.app_context():
        return [row["action"] for row in db.get_db().execute(
            "SELECT action FROM audit WHERE action LIKE 'alert%' ORDER BY id")]


def test_a_finding_raises_one_alert_and_later_checks_update_it(app):
    found = [Finding("media", {"share": "media", "count": 3})]
    rule = share_rule(found)
    assert [c.event for c in evaluate(app, rule)] == ["raised"]
    found[0] = Finding("media", {"share": "media", "count": 5})
    assert [c.event for c in evaluate(app, rule, NOW + 60)] == ["updated"]
    [alert] = alerts(app)
    assert alert["state"] == "active" and alert["severity"] == "warning"
    assert alert["message"] == "Could not upload 5 files(s) from share media."
    assert alert["title"] == "Upload errors on media"
    assert alert["recommended_action"] == "Look at the copy log of media."
    assert alert["count"] == 2 and alert["raised_at"] == NOW and alert["last_seen_at"] == NOW + 60
    assert audit_actions(app) == ["alert_raise"]


def test_an_alert_clears_when_its_cause_goes_and_a_return_raises_a_new_one(app):
    found = [Finding("media", {"share": "media", "count": 3})]
    rule = share_rule(found)
    evaluate(app, rule)
    found.clear()
    assert [c.event for c in evaluate(app, rule, NOW + 60)] == ["cleared"]
    [cleared] = alerts(app)
    assert cleared["state"] == "cleared" and cleared["cleared_at"] == NOW + 60
    found.append(Finding("media", {"share": "media", "count": 1}))
    assert [c.event for c in evaluate(app, rule, NOW + 120)] == ["raised"]
    assert [a["state"] for a in alerts(app)] == ["active", "cleared"]
    assert audit_actions(app) == ["alert_raise", "alert_clear", "alert_raise"]


def test_each_subject_has_its_own_alert(app):
    found = [Finding("media", {"share": "media", "count": 3}),
             Finding("logs", {"share": "logs", "count": 1})]
    rule = share_rule(found)
    evaluate(app, rule)
    del found[0]
    evaluate(app, rule, NOW + 60)
    states = {a["subject"]: a["state"] for a in alerts(app)}
    assert states == {"media": "cleared", "logs": "active"}


def test_acknowledged_alerts_stay_open_with_the_note_and_are_not_raised_again(app):
    found = [Finding("media", {"share": "media", "count": 3})]
    rule = share_rule(found)
    [raised] = evaluate(app, rule)
    with app.app_context():
        row = service.acknowledge(db.get_db(), raised.alert_id, ADMIN, "  on it  ")
    assert row["state"] == "acknowledged" and row["note"] == "on it"
    assert row["acknowledged_by"] == "admin"
    assert [c.event for c in evaluate(app, rule, NOW + 60)] == ["updated"]
    assert alerts(app, state="acknowledged")[0]["count"] == 2
    with app.app_context():
        assert service.counts(db.get_db()) == {"critical": 0, "warning": 0, "informational": 0}
        assert service.counts(db.get_db(), "open")["warning"] == 1


def test_an_acknowledged_alert_that_gets_worse_is_active_again(app):
    found = [Finding("media", {"share": "media", "count": 3})]
    rule = share_rule(found)
    [raised] = evaluate(app, rule)
    with app.app_context():
        service.acknowledge(db.get_db(), raised.alert_id, ADMIN)
    found[0] = Finding("media", {"share": "media", "count": 900}, severity="critical")
    assert [c.event for c in evaluate(app, rule, NOW + 60)] == ["raised"]
    [alert] = alerts(app)
    assert (alert["state"], alert["severity"]) == ("active", "critical")


def test_a_cleared_or_unknown_alert_cannot_be_acknowledged(app):
    found = [Finding("media", {"share": "media", "count": 3})]
    rule = share_rule(found)
    [raised] = evaluate(app, rule)
    found.clear()
    evaluate(app, rule, NOW + 60)
    with app.app_context():
        conn = db.get_db()
        with pytest.raises(service.AlertCleared):
            service.acknowledge(conn, raised.alert_id, ADMIN)
        with pytest.raises(service.AlertNotFound):
            service.acknowledge(conn, 999, ADMIN)
        assert not conn.in_transaction


def test_a_check_that_fails_leaves_its_alerts_as_they_were(app):
    evaluate(app, share_rule([Finding("media", {"share": "media", "count": 3})]))

    def broken(facts):
        raise OSError("the copy-log store is not mounted")

    rule = Rule(id="share_errors", severity="warning", title="t", message="m", action="a",
                raises="r", clears="c", check=broken)
    assert evaluate(app, rule, NOW + 60) == []
    assert [a["state"] for a in alerts(app)] == ["active"]


def test_listeners_hear_raises_and_clears_with_the_alert(app):
    heard = []
    service.on_change(app, lambda conn, row, event: heard.append((row["subject"], event)))
    found = [Finding("media", {"share": "media", "count": 3})]
    rule = share_rule(found)
    evaluate(app, rule)
    evaluate(app, rule, NOW + 60)
    found.clear()
    evaluate(app, rule, NOW + 120)
    assert heard == [("media", "raised"), ("media", "cleared")]


def test_cleared_history_is_bounded(app, monkeypatch):
    monkeypatch.setattr(service, "HISTORY_KEEP", 3)
    found: list[Finding] = []
    rule = share_rule(found)
    for minute in range(5):
        found[:] = [Finding("media", {"share": "media", "count": minute})]
        evaluate(app, rule, NOW + minute * 120)
        found.clear()
        evaluate(app, rule, NOW + minute * 120 + 60)
    assert [a["values"]["count"] for a in alerts(app, state="cleared")] == [4, 3, 2]


def test_history_older_than_its_days_goes(app):
    found = [Finding("media", {"share": "media", "count": 3})]
    rule = share_rule(found)
    evaluate(app, rule)
    found.clear()
    evaluate(app, rule, NOW + 60)
    evaluate(app, rule, NOW + 60 + service.HISTORY_DAYS * 86400 + 1)
    assert alerts(app) == []


def add_run(app, results: dict[str, str]) -> str:
    result = {"results": [{"id": test, "title": test, "status": status,
                           "summary": f"{test} is {status}", "details": {},
                           "recommended_action": "Replace the disk." if test == "disks" else None}
                          for test, status in results.items()]}
    with app.app_context():
        return jobs.record_done(db.get_db(), "diagnostics", {"tests": list(results)}, result,
                                "admin")


def test_a_test_turning_unhealthy_raises_a_critical_alert_with_its_recommended_action(app):
    rules = {rule.id: rule for rule in diagnostic_rules()}
    add_run(app, {"disks": "unhealthy", "memory": "warning", "cpus": "healthy"})
    with app.app_context():
        service.evaluate(db.get_db(), app, NOW, rules.values())
    by_rule = {a["rule"]: a for a in alerts(app)}
    assert set(by_rule) == {"test_disks", "test_memory"}
    disks = by_rule["test_disks"]
    assert disks["severity"] == "critical" and disks["recommended_action"] == "Replace the disk."
    assert disks["message"].endswith("disks is unhealthy")
    assert by_rule["test_memory"]["severity"] == "warning"
    # A later run of the disks test alone clears its alert; the memory warning stays.
    add_run(app, {"disks": "healthy"})
    with app.app_context():
        service.evaluate(db.get_db(), app, NOW + 60, rules.values())
    states = {a["rule"]: a["state"] for a in alerts(app)}
    assert states == {"test_disks": "cleared", "test_memory": "active"}
