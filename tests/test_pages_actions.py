"""The pages where an administrator acts and reads results: what a person sees and can do on
Diagnostics, Support, Power, Connectivity, Users and the audit log."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from webui import audit, db, jobs
from webui.auth import users
from webui.connectivity import state
from webui.troubleshooting import service as diagnostics

from conftest import ADMIN_PASSWORD, AuthActions
from support_helpers import make_package

DIAGNOSTICS = "/troubleshooting/diagnostics"
SUPPORT = "/troubleshooting/support/"


class Ids(HTMLParser):
    """Every id attribute of a page, in order."""

    def __init__(self):
        super().__init__()
        self.ids: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.ids += [value for name, value in attrs if name == "id"]


def page_ids(html: str) -> list[str]:
    parser = Ids()
    parser.feed(html)
    return parser.ids


def secret_on(html: str) -> str | None:
    match = re.search(r'<code class="secret">([^<]+)</code>', html)
    return match.group(1) if match else None


def result(test_id: str, status: str, details: dict | None = None) -> dict:
    title = {test.id: test.title for test in diagnostics.diagnostics.catalogue()}[test_id]
    return {"id": test_id, "title": title, "status": status, "summary": f"{title}: {status}",
            "details": details or {}, "recommended_action": "Check it." if status != "healthy"
            else None}


def finished_run(app, results: list[dict]) -> str:
    """A finished diagnostic run with these results, as the console records one."""
    with app.app_context():
        return jobs.record_done(db.get_db(), diagnostics.KIND,
                                {"tests": [r["id"] for r in results]}, {"results": results},
                                "admin")


# --- Users and tokens -----------------------------------------------------------------------

def test_a_new_token_is_shown_once_on_a_page_that_can_be_reloaded(client, auth):
    auth.sign_in()
    created = auth.post("/users/tokens", {"name": "grafana", "role": "viewer"})
    assert created.status_code == 303
    assert created.headers["Location"].endswith("/users/")
    shown = client.get("/users/").get_data(as_text=True)
    token = secret_on(shown)
    assert token and len(token) >= 20
    assert "data-copy" in shown and "js/copy.js" in shown
    reloaded = client.get("/users/").get_data(as_text=True)
    assert secret_on(reloaded) is None and token not in reloaded
    assert "grafana" in reloaded


def test_a_new_users_password_is_shown_once_and_the_form_is_cleared(app, client, auth):
    auth.sign_in()
    added = auth.post("/users/", {"username": "operator", "role": "viewer"})
    assert added.status_code == 303
    shown = client.get("/users/").get_data(as_text=True)
    password = secret_on(shown)
    assert password
    assert re.search(r'<input[^>]*name="username"[^>]*value=""', shown)
    assert secret_on(client.get("/users/").get_data(as_text=True)) is None
    AuthActions(app.test_client()).sign_in("operator", password)


def test_a_refused_user_form_keeps_what_was_typed(client, auth):
    auth.sign_in()
    refused = auth.post("/users/", {"username": "Bad Name", "role": "administrator"})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert 'value="Bad Name"' in html
    assert re.search(r'<select id="role" name="role"[^>]*>.*?'
                     r'<option selected value="administrator">', html, re.S)


def test_a_secret_is_kept_for_its_own_session_only(app, client, auth):
    auth.sign_in()
    other = AuthActions(app.test_client())
    other.sign_in()
    auth.post("/users/tokens", {"name": "mine", "role": "viewer"})
    assert secret_on(other.client.get("/users/").get_data(as_text=True)) is None
    assert secret_on(client.get("/users/").get_data(as_text=True))


def test_the_users_page_has_no_id_twice(app, client, auth):
    auth.sign_in()
    auth.post("/users/tokens", {"name": "grafana", "role": "viewer"})
    ids = page_ids(client.get("/users/").get_data(as_text=True))
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


def test_revoking_a_token_asks_on_a_page_first(app, client, auth):
    auth.sign_in()
    auth.post("/users/tokens", {"name": "grafana", "role": "viewer"})
    page = client.get("/users/").get_data(as_text=True)
    assert "data-confirm" not in page
    confirm_url = re.search(r'href="(/users/tokens/\d+/revoke/confirm)"', page).group(1)
    confirm = client.get(confirm_url)
    assert confirm.status_code == 200
    text = confirm.get_data(as_text=True)
    assert "Revoke the token grafana?" in text and "cannot be undone" in text
    action = re.search(r'<form method="post" action="(/users/tokens/\d+/revoke)"', text).group(1)
    assert client.get("/users/").get_data(as_text=True).count("Revoke…") == 1
    assert auth.post(action).status_code == 303
    assert "revoked" in client.get("/users/").get_data(as_text=True)
    assert client.get(confirm_url).status_code == 404


def test_removing_and_resetting_a_user_ask_on_a_page_first(app, client, auth):
    auth.sign_in()
    with app.app_context():
        viewer_id = users.by_name(db.get_db(), "viewer")["id"]
    removal = client.get(f"/users/{viewer_id}/delete/confirm").get_data(as_text=True)
    reset = client.get(f"/users/{viewer_id}/reset/confirm").get_data(as_text=True)
    assert "Remove the user viewer?" in removal
    assert "Reset the password of viewer?" in reset
    with app.app_context():
        assert users.by_name(db.get_db(), "viewer") is not None


def test_pages_may_write_to_the_clipboard_but_not_read_it(client):
    policy = client.get("/sign-in").headers["Permissions-Policy"]
    assert "clipboard-write=(self)" in policy and "clipboard-read=()" in policy


# --- Connectivity ---------------------------------------------------------------------------

def test_fully_disconnected_is_confirmed_naming_what_stops(app, client, auth):
    auth.sign_in()
    asked = auth.post("/connectivity/", {"mode": "fully_disconnected"})
    assert asked.status_code == 200
    text = asked.get_data(as_text=True)
    for stopping in ("API tokens", "metrics", "support upload", "Cloud data transfer"):
        assert stopping.lower() in text.lower()
    assert 'name="confirmed" value="yes"' in text
    with app.app_context():
        assert state.current_mode(db.get_db()) == "fully_connected"
    done = auth.post("/connectivity/", {"mode": "fully_disconnected", "confirmed": "yes"})
    assert done.status_code == 303
    with app.app_context():
        assert state.current_mode(db.get_db()) == "fully_disconnected"


def test_partially_disconnected_needs_no_extra_question(app, client, auth):
    auth.sign_in()
    assert auth.post("/connectivity/", {"mode": "partially_disconnected"}).status_code == 303


def test_the_mode_table_labels_each_cell(client, auth):
    auth.sign_in()
    page = client.get("/connectivity/").get_data(as_text=True)
    assert 'data-label="Remote management (API tokens, metrics scraping)"' in page
    assert '<table class="table cards connectivity-matrix">' in page


# --- Diagnostics ----------------------------------------------------------------------------

def test_a_run_with_unhealthy_results_shows_its_state_and_outcome_apart(app, client, auth):
    run_id = finished_run(app, [result("cpus", "unhealthy"), result("memory", "unhealthy"),
                                result("disks", "warning"), result("thermal", "healthy")])
    auth.sign_in_viewer()
    run = client.get(f"{DIAGNOSTICS}/runs/{run_id}").get_data(as_text=True)
    assert "Succeeded" not in run
    assert "<dt>Job</dt><dd><span class=\"badge job-finished\">Finished</span></dd>" in run
    assert ('<dt>Outcome</dt><dd><span class="badge status-unhealthy">2 unhealthy, 1 warning, '
            '1 healthy</span></dd>') in run
    history = client.get(DIAGNOSTICS).get_data(as_text=True)
    history = history[history.index('id="history-heading"'):]
    assert "Succeeded" not in history and "2 unhealthy, 1 warning, 1 healthy" in history


def test_result_details_are_facts_not_json(app, client, auth):
    details = {"disks": [{"name": "sda", "size_bytes": 44032, "smart": {"passed": True}}]}
    run_id = finished_run(app, [result("disks", "healthy", details)])
    auth.sign_in()
    html = client.get(f"{DIAGNOSTICS}/runs/{run_id}").get_data(as_text=True)
    assert "<pre>" not in html
    assert "<dt>name</dt><dd>sda</dd>" in html
    assert "<dt>size bytes</dt><dd>43 KiB</dd>" in html
    assert "<dt>passed</dt><dd>yes</dd>" in html


def test_the_run_form_starts_with_the_latest_runs_tests(app, client, auth):
    finished_run(app, [result("cpus", "healthy"), result("memory", "healthy")])
    auth.sign_in()
    page = client.get(DIAGNOSTICS).get_data(as_text=True)
    ticked = re.findall(r'<input type="checkbox" name="tests" value="([^"]+)"[^>]* checked>',
                        page)
    assert ticked == ["cpus", "memory"]
    assert ">Select all</button>" in page


def test_select_all_says_clear_all_when_every_test_is_ticked(app, client, auth):
    finished_run(app, [result(test.id, "healthy")
                       for test in diagnostics.diagnostics.catalogue()])
    auth.sign_in()
    page = client.get(DIAGNOSTICS).get_data(as_text=True)
    assert ">Clear all</button>" in page and "js/select-all.js" in page


# --- Support --------------------------------------------------------------------------------

def _set_package_times(app, package_id: str, seconds: float) -> None:
    with app.app_context():
        db.get_db().execute("UPDATE jobs SET created_at = finished_at - ? WHERE id = ?",
                            (seconds, package_id))


def test_a_package_shows_its_job_and_what_it_collected(app, client, auth):
    auth.sign_in()
    make_package(auth, ["system"])
    page = client.get(SUPPORT).get_data(as_text=True)
    listing = page[page.index('id="packages-heading"'):]
    assert "Succeeded" not in listing
    assert '<td data-label="Job"><span class="badge job-finished">Finished</span></td>' in listing
    assert re.search(r"All \d+ items collected|\d+ items? not collected", listing)
    assert re.search(r"\d+ collected", listing)


def test_the_ticket_form_estimates_from_measured_package_times(app, client, auth):
    auth.sign_in()
    assert "How long a new package takes depends" in client.get(
        "/troubleshooting/support/ticket").get_data(as_text=True)
    for seconds in (80, 95, 400):
        _set_package_times(app, make_package(auth, ["system"])["id"], seconds)
    form = client.get("/troubleshooting/support/ticket").get_data(as_text=True)
    assert "A new package took about 1 min 35 s here lately" in form
    assert "about a minute" not in form


def test_small_packages_are_offered_in_kib_not_zero_mib(app, client, auth):
    auth.sign_in()
    package = make_package(auth, ["system"])
    assert package["size"] < 100 * 1024
    form = client.get("/troubleshooting/support/ticket").get_data(as_text=True)
    assert "(0.0 MiB)" not in form and "MiB)" not in form
    assert re.search(r"\(\d+(\.\d)? KiB\)", form)


def test_the_package_form_keeps_the_newest_packages_options(app, client, auth):
    auth.sign_in()
    make_package(auth, ["system"], since_hours=6, obfuscate=True)
    page = client.get(SUPPORT).get_data(as_text=True)
    assert '<option selected value="6">' in page
    assert re.search(r'<input[^>]*checked[^>]*id="obfuscate"|<input[^>]*id="obfuscate"[^>]*'
                     r'checked', page)
    ticked = re.findall(r'<input[^>]*name="collectors"[^>]*>', page)
    assert [t for t in ticked if "checked" in t] == [t for t in ticked if 'value="system"' in t]


def test_a_refused_package_form_keeps_the_window_and_obfuscation(app, client, auth):
    auth.sign_in()
    refused = auth.post(SUPPORT + "packages", {"collectors": ["no-such"], "since_hours": "72",
                                               "obfuscate": "y"})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert '<option selected value="72">' in html
    assert re.search(r'<input[^>]* checked id="obfuscate"', html)


def test_ticket_choices_are_named_by_their_labels_in_messages(client, auth):
    auth.sign_in()
    refused = auth.post("/troubleshooting/support/ticket", {
        "summary": "Stalls", "problem_type": "", "severity": "Z", "started_at": "",
        "description": "x", "contact_name": "Ada", "email": "ada@example.com",
        "contact_method": "email", "package": "new"})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert "Problem type must be one of Hardware; Network; Data transfer (data_transfer);" in html
    assert "Severity must be one of A — Critical impact" in html
    assert "must be one of hardware, network" not in html


# --- Power ----------------------------------------------------------------------------------

def test_a_scheduled_action_counts_down(app, client, auth):
    auth.sign_in()
    assert auth.api("POST", "/api/v1/power", {"action": "restart", "delay_minutes": 60}
                    ).status_code == 202
    page = client.get("/power/").get_data(as_text=True)
    counter = re.search(r'<span data-countdown="(\d+)" data-countdown-done="[^"]+">in ([^<]+)'
                        r'</span>', page)
    assert counter, "no countdown"
    assert 3500 <= int(counter.group(1)) <= 3600
    assert counter.group(2).startswith(("59 min", "1 h"))
    assert "js/countdown.js" in page


def test_nothing_scheduled_has_no_countdown(client, auth):
    auth.sign_in()
    page = client.get("/power/").get_data(as_text=True)
    assert "data-countdown" not in page and "countdown.js" not in page


# --- Sign-in lockout ------------------------------------------------------------------------

def test_the_lockout_page_counts_down(app, client):
    auth = AuthActions(client)
    response = None
    for _ in range(12):
        response = auth.sign_in("admin", "wrong " + ADMIN_PASSWORD)
        if response.status_code == 429:
            break
    assert response.status_code == 429
    html = response.get_data(as_text=True)
    assert re.search(r'<span data-countdown="\d+" data-countdown-done="you can try again now">'
                     r'in [^<]+</span>', html)
    assert "js/countdown.js" in html


# --- Audit ----------------------------------------------------------------------------------

def test_audit_details_are_facts_and_actions_break_between_words(app, client, auth):
    with app.app_context():
        audit.record(db.get_db(), audit.Actor("alice"), "support_ticket_download", "t-1",
                     detail={"role": "viewer", "bytes": 12})
        audit.record(db.get_db(), audit.Actor("alice"), "user_remove", "bob",
                     detail="the last administrator")
    auth.sign_in_viewer()
    html = client.get("/audit").get_data(as_text=True)
    assert "<dt>role</dt><dd>viewer</dd>" in html and "<dt>bytes</dt><dd>12</dd>" in html
    assert '{"bytes": 12' not in html
    assert "support_<wbr>ticket_<wbr>download" in html
    assert "the last administrator" in html
