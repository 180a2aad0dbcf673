"""Device > Alerts: the list with its filters and pages, one alert, acknowledging it (admins
only), the top-bar counts on every page and the overview card."""

from __future__ import annotations

import re
import sqlite3
import time

from webui import db
from webui.alerts import service
from webui.alerts.rules import Finding, Rule

from conftest import csrf_from

NOW = time.time()


def share_rule(rule_id: str = "share_errors", severity: str = "warning") -> Rule:
    return Rule(id=rule_id, severity=severity, title="Upload errors on {share}",
                message="Could not upload {count} file(s) from share {share}.",
                action="Look at the copy log of {share}.", raises="errors", clears="none",
                check=lambda facts: [])


def raise_alerts(app, rule: Rule, *findings: Finding, now: float = NOW) -> list[int]:
    with app.app_context():
        changes = service.apply(db.get_db(), {rule: list(findings)}, now)
    return [change.alert_id for change in changes if change.event != "cleared"]


def share(name: str, count: int = 3, severity: str | None = None) -> Finding:
    return Finding(name, {"share": name, "count": count}, severity=severity)


def page_text(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    return response.get_data(as_text=True)


def topbar(html: str) -> str:
    return re.search(r'<nav class="topbar-alerts".*?</nav>', html, re.S).group(0)


def acknowledge_form(client, alert_id: int) -> tuple[str, str]:
    html = page_text(client, f"/alerts/{alert_id}")
    return html, csrf_from(html)


def test_a_viewer_reads_the_list_and_an_alert_but_has_no_acknowledge_form(app, client, auth):
    [alert_id] = raise_alerts(app, share_rule(), share("media"))
    auth.sign_in_viewer()
    listing = page_text(client, "/alerts/")
    assert "Upload errors on media" in listing and "Could not upload 3 file(s)" in listing
    assert 'class="badge severity-warning">Warning<' in listing
    assert f'href="/alerts/{alert_id}"' in listing
    detail = page_text(client, f"/alerts/{alert_id}")
    assert "Look at the copy log of media." in detail and "Not acknowledged." in detail
    assert "/acknowledge" not in detail and 'name="note"' not in detail
    token = csrf_from(client.get("/account/password").get_data(as_text=True))
    refused = client.post(f"/alerts/{alert_id}/acknowledge",
                          data={"csrf_token": token, "note": "mine now"})
    assert refused.status_code == 403
    with app.app_context():
        assert service.get(db.get_db(), alert_id)["state"] == "active"


def test_an_admin_acknowledges_with_a_note_and_it_is_audited(app, client, auth):
    [alert_id] = raise_alerts(app, share_rule(), share("media"))
    auth.sign_in()
    _html, token = acknowledge_form(client, alert_id)
    answer = client.post(f"/alerts/{alert_id}/acknowledge",
                         data={"csrf_token": token, "note": "Disk swap on Friday"})
    assert answer.status_code == 303 and answer.headers["Location"].endswith(f"/alerts/{alert_id}")
    detail = page_text(client, f"/alerts/{alert_id}")
    assert "Alert acknowledged" in detail
    assert "Disk swap on Friday" in detail and ">admin<" in detail
    assert 'class="badge alert-acknowledged">Acknowledged<' in detail
    with app.app_context():
        row = db.get_db().execute("SELECT actor, detail FROM audit WHERE action = "
                                  "'alert_acknowledge'").fetchone()
    assert row["actor"] == "admin" and "Disk swap on Friday" in row["detail"]


def test_a_note_too_long_is_refused_with_the_rule(app, client, auth):
    [alert_id] = raise_alerts(app, share_rule(), share("media"))
    auth.sign_in()
    _html, token = acknowledge_form(client, alert_id)
    answer = client.post(f"/alerts/{alert_id}/acknowledge",
                         data={"csrf_token": token, "note": "x" * (service.NOTE_MAX + 1)})
    assert answer.status_code == 422
    assert f"at most {service.NOTE_MAX} characters" in answer.get_data(as_text=True)
    with app.app_context():
        assert service.get(db.get_db(), alert_id)["state"] == "active"


def test_acknowledging_a_cleared_alert_says_so_and_an_unknown_one_is_404(app, client, auth):
    rule = share_rule()
    [alert_id] = raise_alerts(app, rule, share("media"))
    auth.sign_in()
    _html, token = acknowledge_form(client, alert_id)
    raise_alerts(app, rule, now=NOW + 60)  # the cause has gone: cleared
    answer = client.post(f"/alerts/{alert_id}/acknowledge",
                         data={"csrf_token": token, "note": "late"}, follow_redirects=True)
    assert answer.status_code == 200
    page = answer.get_data(as_text=True)
    assert "already cleared" in page and 'name="note"' not in page
    assert client.get("/alerts/999").status_code == 404
    missing = client.post("/alerts/999/acknowledge", data={"csrf_token": token})
    assert missing.status_code == 404 and "No such alert" in missing.get_data(as_text=True)


def test_the_list_opens_on_open_alerts_and_filters_by_severity_and_state(app, client, auth):
    rule = share_rule()
    raise_alerts(app, rule, share("media"), share("logs", severity="critical"),
                 share("gone"))
    raise_alerts(app, rule, share("media"), share("logs", severity="critical"), now=NOW + 60)
    auth.sign_in_viewer()

    def titles(query: str) -> list[str]:
        return re.findall(r"Upload errors on (\w+)</a>", page_text(client, "/alerts/" + query))

    assert titles("") == ["logs", "media"]  # worst first; "gone" cleared
    assert titles("?state=cleared") == ["gone"]
    assert sorted(titles("?state=all")) == ["gone", "logs", "media"]
    assert titles("?severity=critical") == ["logs"]
    assert titles("?severity=warning&state=all") == ["media", "gone"]
    bad = client.get("/alerts/?severity=fatal&state=%3Cnone%3E")
    assert bad.status_code == 400
    text = bad.get_data(as_text=True)
    assert "Severity: one of critical" in text and "State: one of open" in text
    assert "<none>" not in text


def test_the_list_pages(app, client, auth, monkeypatch):
    from webui.alerts import views

    monkeypatch.setattr(views, "PER_PAGE", 2)
    raise_alerts(app, share_rule(), *(share(f"share{n}", count=n) for n in range(5)))
    auth.sign_in_viewer()
    first = page_text(client, "/alerts/")
    assert "Page 1 of 3" in first and "5 alerts" in first
    assert len(re.findall(r"Upload errors on share\d", first)) == 2
    assert 'href="/alerts/?state=open&amp;page=2"' in first
    last = page_text(client, "/alerts/?state=open&page=3")
    assert len(re.findall(r"Upload errors on share\d", last)) == 1 and "Previous" in last
    assert client.get("/alerts/?page=-4").status_code == 200


def test_the_top_bar_counts_active_alerts_on_every_page(app, client, auth):
    auth.sign_in()
    assert "No alerts" in topbar(page_text(client, "/settings"))
    raise_alerts(app, share_rule(), share("media"), share("logs"),
                 share("big", severity="critical"))
    bar = topbar(page_text(client, "/settings"))
    assert 'href="/alerts/?severity=critical&amp;state=active"' in bar
    assert re.search(r">1 critical<span class=\"visually-hidden\"> active alert</span>", bar)
    assert re.search(r">2 warning<span class=\"visually-hidden\"> active alerts</span>", bar)
    assert "informational" not in bar and "No alerts" not in bar
    with app.app_context():
        big = service.open_alert(db.get_db(), "share_errors", "big")["id"]
    _html, token = acknowledge_form(client, big)
    client.post(f"/alerts/{big}/acknowledge", data={"csrf_token": token})
    bar = topbar(page_text(client, "/settings"))
    assert "critical" not in bar and "2 warning" in bar


def test_signed_out_pages_show_no_counts(client):
    assert "topbar-alerts" not in page_text(client, "/sign-in")


def test_the_overview_card_lists_open_alerts_worst_first(app, client, auth):
    auth.sign_in_viewer()
    assert "No active alerts." in page_text(client, "/")
    raise_alerts(app, share_rule(), share("media"), share("big", severity="critical"))
    overview = page_text(client, "/")
    card = re.search(r'aria-labelledby="alerts-card-heading">.*?</section>', overview, re.S)
    card = card.group(0)
    assert card.index("Upload errors on big") < card.index("Upload errors on media")
    assert "View all alerts" in card and "No active alerts" not in card


def test_hostile_values_are_shown_as_text(app, client, auth):
    hostile = '<script>alert("x")</script>'
    [alert_id] = raise_alerts(app, share_rule(), Finding(hostile, {"share": hostile,
                                                                  "count": hostile}))
    auth.sign_in_viewer()
    for path in ("/alerts/", f"/alerts/{alert_id}", "/"):
        html = page_text(client, path)
        assert "<script>alert" not in html, path
        assert "&lt;script&gt;alert(" in html, path


def test_a_page_still_renders_when_the_counts_cannot_be_read(app, client, auth, monkeypatch):
    def locked(conn, state="active"):
        raise sqlite3.OperationalError("database is locked")

    auth.sign_in_viewer()
    monkeypatch.setattr(service, "counts", locked)
    html = page_text(client, "/settings")
    assert "topbar-alerts" not in html and "Traceback" not in html
