"""Troubleshooting > Diagnostic tests: the page, runs as jobs, live progress, history, download,
the overview card and the ``/api/v1/diagnostics`` endpoints."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import secrets
import threading
import time
from functools import partial
from types import SimpleNamespace

import pytest

from diagnostics import Result, Status
from diagnostics import probes as probe_modules
from diagnostics.probes import PROBE_IDS
from webui import db
from webui.config import ConfigError
from webui.config import load as load_config
from webui.troubleshooting import service

from conftest import AuthActions, finished, job_rows, make_app

PAGE = "/troubleshooting/diagnostics"
RUNS_API = "/api/v1/diagnostics/runs"
VALID_STATUSES = {s.value for s in Status}


class FakeProbes:
    """The real catalogue (ids, titles, descriptions) with instant, steerable probes."""

    def __init__(self, monkeypatch):
        self.statuses: dict[str, Status] = {}
        self.held: set[str] = set()
        self.gate = threading.Event()
        self.settings_seen: list = []
        real_load = probe_modules.load

        def load(ids=None):
            return [SimpleNamespace(ID=m.ID, TITLE=m.TITLE, DESCRIPTION=m.DESCRIPTION,
                                    REQUIRES=m.REQUIRES, run=partial(self._run, m))
                    for m in real_load(ids)]

        monkeypatch.setattr(probe_modules, "load", load)

    def _run(self, module, host, settings):
        self.settings_seen.append(settings)
        if module.ID in self.held:
            self.gate.wait()
        status = self.statuses.get(module.ID, Status.HEALTHY)
        action = None if status is Status.HEALTHY else f"Look at the {module.TITLE.lower()}."
        return Result(module.ID, module.TITLE, status, f"{module.TITLE} is {status.value}",
                      {"sensor_count": 3, "readings": [41, 42], "fan_ok": True}, action)


@pytest.fixture
def probes(monkeypatch):
    fakes = FakeProbes(monkeypatch)
    yield fakes
    fakes.gate.set()


def wait_for(client, run_id, condition=None):
    """Poll the API like a script would until the run ends (or ``condition(run)`` holds)."""
    return finished(client, f"{RUNS_API}/{run_id}", until=condition)


def start(auth, tests=None):
    response = auth.api("POST", RUNS_API, {} if tests is None else {"tests": tests})
    assert response.status_code == 202, response.get_json()
    return response.get_json()["id"]


def insert_run(app, state, tests, results=None, owner=None, kind=service.KIND, **times):
    """A run row as another process would have left it."""
    run_id = secrets.token_hex(8)
    now = time.time()
    with app.app_context():
        db.get_db().execute(
            "INSERT INTO jobs(id, kind, state, progress, params, result, created_by, created_at, "
            "started_at, finished_at, owner) VALUES (?, ?, ?, ?, ?, ?, 'admin', ?, ?, ?, ?)",
            (run_id, kind, state, len(results or []) / max(1, len(tests)),
             json.dumps({"tests": tests}), json.dumps({"results": results or []}),
             times.get("created_at", now), times.get("started_at", now),
             times.get("finished_at"), owner))
    return run_id


def result_dict(test_id, status="healthy"):
    title = dict((i, t) for i, t, _ in service.diagnostics.catalogue())[test_id]
    return {"id": test_id, "title": title, "status": status, "summary": f"{title} {status}",
            "details": {}, "recommended_action": None}


# --- the page -------------------------------------------------------------------------------

def test_page_lists_every_test_with_select_all_and_run(client, auth):
    auth.sign_in()
    page = client.get(PAGE).get_data(as_text=True)
    for test_id, title, description in service.diagnostics.catalogue():
        assert f'value="{test_id}"' in page
        assert title in page
        assert str(description).replace("'", "&#39;") in page
    assert 'data-select-all="#test-list"' in page
    assert "Run selected tests" in page
    assert "No diagnostic run yet." in page


def test_navigation_leads_to_diagnostic_tests(client, auth):
    auth.sign_in()
    overview = client.get("/").get_data(as_text=True)
    assert f'href="{PAGE}"' in overview


def test_form_run_redirects_to_its_page_with_results(client, auth, probes):
    probes.statuses = {"memory": Status.WARNING, "disks": Status.UNHEALTHY}
    auth.sign_in()
    response = auth.post(f"{PAGE}/runs", {"tests": ["memory", "disks", "cpus"]})
    assert response.status_code == 303
    match = re.fullmatch(rf"{PAGE}/runs/([0-9a-f]{{16}})", response.headers["Location"])
    assert match
    run = wait_for(client, match.group(1))
    assert run["state"] == "succeeded"
    assert [r["id"] for r in run["results"]] == ["disks", "cpus", "memory"]

    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Finished: 3 tests run." in page
    assert '<span class="badge status-unhealthy">Unhealthy</span>' in page
    assert '<span class="badge status-warning">Warning</span>' in page
    assert '<span class="badge status-healthy">Healthy</span>' in page
    assert "Memory is warning" in page
    assert "Recommended action:</strong> Look at the memory." in page
    assert "<details" in page and "<dt>sensor count</dt><dd>3</dd>" in page
    assert "<dt>fan ok</dt><dd>yes</dd>" in page
    assert "hx-trigger" not in page
    assert f"{response.headers['Location']}/download" in page


def test_run_start_is_audited_with_who_and_which_tests(client, auth, app, probes):
    auth.sign_in()
    run_id = start(auth, ["thermal", "cpus"])
    with app.app_context():
        row = db.get_db().execute(
            "SELECT * FROM audit WHERE action = 'diagnostics_run'").fetchone()
    assert row["actor"] == "admin" and row["target"] == run_id and row["outcome"] == "success"
    assert json.loads(row["detail"]) == {"tests": ["cpus", "thermal"]}


def test_form_without_a_test_is_refused_with_a_message(client, auth):
    auth.sign_in()
    response = auth.post(f"{PAGE}/runs", {})
    assert response.status_code == 422
    assert "Choose at least one test." in response.get_data(as_text=True)


def test_form_with_an_unknown_test_is_refused(client, auth):
    auth.sign_in()
    response = auth.post(f"{PAGE}/runs", {"tests": ["cpus", "fan_speed"]})
    assert response.status_code == 422
    assert "not a valid choice" in response.get_data(as_text=True)


def test_form_keeps_the_choice_after_an_error(client, auth):
    auth.sign_in()
    response = auth.post(f"{PAGE}/runs", {"tests": ["cpus", "fan_speed"]})
    assert 'value="cpus" id="test-cpus" aria-describedby="test-cpus-description" checked' in \
        response.get_data(as_text=True)


def test_htmx_form_post_answers_hx_redirect(client, auth, probes):
    auth.sign_in()
    response = auth.post(f"{PAGE}/runs", {"tests": ["cpus"]}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response.headers["HX-Redirect"].startswith(f"{PAGE}/runs/")


def test_viewer_sees_tests_results_and_history_but_cannot_run(client, auth, app, probes):
    auth.sign_in()
    run_id = start(auth, ["cpus"])
    wait_for(client, run_id)
    client.post("/sign-out", data={"csrf_token": auth.csrf()})
    auth.sign_in_viewer()
    page = client.get(PAGE).get_data(as_text=True)
    assert "Run selected tests" not in page and "data-select-all" not in page
    assert "Processors" in page and "An administrator starts diagnostic runs" in page
    assert f"{PAGE}/runs/{run_id}" in page
    assert client.get(f"{PAGE}/runs/{run_id}").status_code == 200
    assert client.get(f"{PAGE}/runs/{run_id}/download").status_code == 200
    assert auth.post(f"{PAGE}/runs", {"tests": ["cpus"]}).status_code == 403
    api = auth.api("POST", RUNS_API, {"tests": ["cpus"]})
    assert api.status_code == 403 and api.mimetype == "application/problem+json"
    assert client.get(f"{RUNS_API}/{run_id}").status_code == 200


# --- live progress ---------------------------------------------------------------------------

def test_progress_fragment_polls_while_running_and_answers_286_when_done(client, auth, probes):
    probes.held = {"memory", "thermal"}
    auth.sign_in()
    run_id = start(auth, ["cpus", "memory", "thermal"])
    running = wait_for(client, run_id,
                       lambda run: len(run["results"]) == 1 and run["progress"] > 0)
    assert running["state"] == "running"
    assert 0 < running["progress"] < 1
    assert running["results"][0]["id"] == "cpus"

    fragment = client.get(f"{PAGE}/runs/{run_id}", headers={"HX-Request": "true"})
    html = fragment.get_data(as_text=True)
    assert fragment.status_code == 200
    assert "<html" not in html
    assert f'hx-get="{PAGE}/runs/{run_id}"' in html and 'hx-trigger="every 1s"' in html
    assert "Running: 1 of 3 tests finished." in html
    rows = {m.group(1): m.group(2) for m in re.finditer(
        rf'<tr id="result-{run_id}-(\w+)">(.*?)</tr>', html, re.S)}
    assert "status-healthy" in rows["cpus"]
    assert '<span class="badge status-running">Running</span>' in rows["memory"]
    assert '<span class="badge status-running">Running</span>' in rows["thermal"]
    assert fragment.headers["Vary"] and "HX-Request" in fragment.headers["Vary"]

    probes.gate.set()
    wait_for(client, run_id)
    done = client.get(f"{PAGE}/runs/{run_id}", headers={"HX-Request": "true"})
    assert done.status_code == 286
    assert "hx-trigger" not in done.get_data(as_text=True)
    assert "Finished: 3 tests run." in done.get_data(as_text=True)
    assert client.get(f"{PAGE}/runs/{run_id}").status_code == 200


def test_active_run_polls_on_the_main_page(client, auth, probes):
    probes.held = {"cpus"}
    auth.sign_in()
    run_id = start(auth, ["cpus"])
    page = client.get(PAGE).get_data(as_text=True)
    assert f'id="run-{run_id}"' in page and 'hx-trigger="every 1s"' in page


def test_queued_run_shows_every_test_queued(client, auth, app):
    run_id = insert_run(app, "queued", ["cpus", "memory"], owner=None)
    auth.sign_in()
    html = client.get(f"{PAGE}/runs/{run_id}").get_data(as_text=True)
    assert "Waiting to start." in html
    assert html.count('<span class="badge status-queued">Queued</span>') == 3  # state and 2 rows


# --- conflicts -------------------------------------------------------------------------------

def test_second_run_while_one_is_active_is_409_naming_it(client, auth, app, probes):
    probes.held = {"cpus"}
    auth.sign_in()
    first = start(auth, ["cpus"])
    api = auth.api("POST", RUNS_API, {"tests": ["memory"]})
    assert api.status_code == 409 and api.mimetype == "application/problem+json"
    assert api.get_json()["active_run"] == first
    assert api.get_json()["active_run_url"] == f"{RUNS_API}/{first}"
    form = auth.post(f"{PAGE}/runs", {"tests": ["memory"]})
    assert form.status_code == 409
    assert f'href="{PAGE}/runs/{first}"' in form.get_data(as_text=True)
    assert "already in progress" in form.get_data(as_text=True)
    with app.app_context():
        refused = db.get_db().execute(
            "SELECT count(*) FROM audit WHERE action = 'diagnostics_run' AND outcome = 'refused'"
        ).fetchone()[0]
    assert refused == 2
    probes.gate.set()
    wait_for(client, first)
    assert start(auth, ["memory"]) != first


# --- the API ---------------------------------------------------------------------------------

def test_api_lists_the_catalogue(client, auth):
    auth.sign_in_viewer()
    listed = client.get("/api/v1/diagnostics/tests").get_json()
    assert (listed["total"], listed["page"]) == (len(PROBE_IDS), 1)
    assert [t["id"] for t in listed["items"]] == list(PROBE_IDS)
    assert all(set(t) == {"id", "title", "description"} and t["title"] for t in listed["items"])


def test_the_run_schema_offers_every_test_of_the_catalogue(client, auth):
    auth.sign_in_viewer()
    document = client.get("/api/v1/openapi.json").get_json()
    body = document["paths"]["/api/v1/diagnostics/runs"]["post"]["requestBody"]
    assert body["required"] is False
    assert body["content"]["application/json"]["schema"]["$ref"].endswith("/NewRun")
    new_run = document["components"]["schemas"]["NewRun"]
    listed = next(branch for branch in new_run["properties"]["tests"]["anyOf"]
                  if branch.get("type") == "array")
    assert listed["items"]["enum"] == list(PROBE_IDS)


def test_api_run_has_the_spec_shape(client, auth, probes):
    probes.statuses = {"time_sync": Status.UNHEALTHY}
    auth.sign_in()
    response = auth.api("POST", RUNS_API, {"tests": ["time_sync", "cpus", "cpus"]})
    assert response.status_code == 202
    body = response.get_json()
    assert response.headers["Location"] == f"{RUNS_API}/{body['id']}"
    assert body["state"] in ("queued", "running", "succeeded")
    assert body["tests"] == ["time_sync", "cpus"]
    run = wait_for(client, body["id"])
    assert {"id", "state", "started_at", "finished_at", "progress", "results", "created_by",
            "tests"} <= set(run)
    assert run["state"] == "succeeded" and run["progress"] == 1
    assert run["created_by"] == "admin"
    for field in ("created_at", "started_at", "finished_at"):
        moment = dt.datetime.fromisoformat(run[field])
        assert moment.utcoffset() == dt.timedelta(0)
    assert run["started_at"] <= run["finished_at"]
    assert run["counts"] == {"healthy": 1, "unhealthy": 1}
    assert [r["id"] for r in run["results"]] == ["time_sync", "cpus"]
    for result in run["results"]:
        assert set(result) == {"id", "title", "status", "summary", "details",
                               "recommended_action"}
    assert run["results"][0]["recommended_action"]


@pytest.mark.parametrize("body", [None, {}, {"tests": None}])
def test_api_run_without_tests_runs_every_test(client, auth, probes, body):
    auth.sign_in()
    response = auth.api("POST", RUNS_API, body)
    assert response.status_code == 202
    run = wait_for(client, response.get_json()["id"])
    assert [r["id"] for r in run["results"]] == list(PROBE_IDS)


@pytest.mark.parametrize(("body", "field"), [
    ({"tests": "cpus"}, "tests"),
    ({"tests": []}, "tests"),
    ({"tests": [1, 2]}, "tests.0"),
    ({"tests": None, "test": ["cpus"]}, "test"),
    ({"tests": ["cpus", "fan_speed"]}, "tests.1"),
])
def test_api_bad_run_requests_name_the_field(client, auth, body, field):
    auth.sign_in()
    response = auth.api("POST", RUNS_API, body)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["errors"][0]["field"] == field


def test_api_body_that_is_not_an_object_is_400(client, auth):
    auth.sign_in()
    assert auth.api("POST", RUNS_API, ["cpus"]).status_code == 400


def test_api_lists_runs_newest_first_in_pages(client, auth, app):
    older = insert_run(app, "succeeded", ["cpus"], [result_dict("cpus")],
                       created_at=1000.0, started_at=1000.0, finished_at=1001.0)
    newer = insert_run(app, "failed", ["memory"], [], created_at=2000.0, started_at=2000.0,
                       finished_at=2001.0)
    auth.sign_in_viewer()
    listed = client.get(RUNS_API).get_json()
    assert (listed["total"], listed["page"], listed["per_page"]) == (2, 1, 20)
    assert [r["id"] for r in listed["items"]] == [newer, older]
    assert listed["items"][1]["results"][0]["id"] == "cpus"
    second = client.get(RUNS_API, query_string={"per_page": "1", "page": "2"}).get_json()
    assert [r["id"] for r in second["items"]] == [older] and second["total"] == 2
    assert client.get(RUNS_API, query_string={"per_page": "100"}).status_code == 200
    for per_page in ("0", "101", "x", "-1", "1e3", "²", "9" * 5000):
        response = client.get(RUNS_API, query_string={"per_page": per_page})
        assert response.status_code == 422, per_page
        assert response.get_json()["errors"][0]["field"] == "per_page"


@pytest.mark.parametrize("run_id", ["0123456789abcdef", "zz", "0123456789ABCDEF",
                                    "a" * 300, "..%2f..%2fetc", "1" * 17])
def test_unknown_or_malformed_run_ids_are_404(client, auth, run_id):
    auth.sign_in()
    api = client.get(f"{RUNS_API}/{run_id}")
    assert api.status_code == 404 and api.mimetype == "application/problem+json"
    for suffix in ("", "/download"):
        assert client.get(f"{PAGE}/runs/{run_id}{suffix}").status_code == 404


def test_a_job_of_another_kind_is_not_a_run(client, auth, app):
    other = insert_run(app, "succeeded", [], kind="support_package")
    auth.sign_in()
    assert client.get(f"{RUNS_API}/{other}").status_code == 404
    assert client.get(f"{PAGE}/runs/{other}").status_code == 404


# --- download --------------------------------------------------------------------------------

def test_download_is_an_attachment_with_the_run_shape(client, auth, app, probes):
    auth.sign_in()
    run_id = start(auth, ["cpus", "memory"])
    run = wait_for(client, run_id)
    response = client.get(f"{PAGE}/runs/{run_id}/download")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    disposition = response.headers["Content-Disposition"]
    stamp = dt.datetime.fromisoformat(run["started_at"]).strftime("%Y%m%dT%H%M%SZ")
    assert disposition == f'attachment; filename="diagnostics-edge-test-{stamp}.json"'
    body = json.loads(response.get_data(as_text=True))
    assert body["id"] == run_id and body["state"] == "succeeded"
    assert body["device_name"] == "edge-test"
    assert body["results"] == run["results"]
    with app.app_context():
        row = db.get_db().execute(
            "SELECT * FROM audit WHERE action = 'diagnostics_download'").fetchone()
    assert row["target"] == run_id and row["actor"] == "admin"


# --- overview card and history ---------------------------------------------------------------

def test_overview_card_shows_the_latest_run_summary(client, auth, probes):
    auth.sign_in()
    assert "No diagnostic run yet." in client.get("/").get_data(as_text=True)
    probes.statuses = {"disks": Status.UNHEALTHY, "memory": Status.WARNING}
    run_id = start(auth, ["cpus", "disks", "memory", "storage"])
    wait_for(client, run_id)
    card = client.get("/").get_data(as_text=True)
    card = card[card.index('id="diagnostics-card-heading"'):]
    card = card[:card.index("</section>")]
    assert 'health <span class="badge status-unhealthy">Unhealthy</span>' in card
    assert '<span class="badge status-healthy">Healthy</span> 2' in card
    assert '<span class="badge status-warning">Warning</span> 1' in card
    assert '<span class="badge status-unhealthy">Unhealthy</span> 1' in card
    assert f'href="{PAGE}/runs/{run_id}"' in card


def test_history_lists_runs_with_who_counts_and_state(client, auth, app):
    first = insert_run(app, "succeeded", ["cpus", "memory"],
                       [result_dict("cpus"), result_dict("memory", "warning")],
                       created_at=1000.0, started_at=1000.0, finished_at=1001.0)
    second = insert_run(app, "interrupted", ["disks"], [], created_at=2000.0,
                        started_at=2000.0, finished_at=2001.0)
    auth.sign_in_viewer()
    page = client.get(PAGE).get_data(as_text=True)
    history = page[page.index('id="history-heading"'):]
    assert history.index(second) < history.index(first)
    assert '<span class="badge status-warning">1 warning, 1 healthy</span>' in history
    assert '<span class="badge status-interrupted">Interrupted</span>' in history
    assert '<td data-label="Started by">admin</td>' in history


# --- interrupted runs ------------------------------------------------------------------------

def test_run_orphaned_by_a_dead_process_shows_interrupted_with_its_results(tmp_path, app):
    run_id = insert_run(app, "running", ["cpus", "memory", "disks"],
                        [result_dict("memory", "warning")], owner="gone-boot:1:0.00")
    restarted = make_app(app.config["INSTANCE"])
    try:
        client = restarted.test_client()
        AuthActions(client).sign_in()
        run = client.get(f"{RUNS_API}/{run_id}").get_json()
        assert run["state"] == "interrupted"
        assert [r["id"] for r in run["results"]] == ["memory"]
        assert run["error"]
        html = client.get(f"{PAGE}/runs/{run_id}").get_data(as_text=True)
        assert "Interrupted after 1 of 3 tests" in html
        assert html.count('<span class="badge status-interrupted">Did not finish</span>') == 2
        assert "hx-trigger" not in html
        assert client.get(f"{PAGE}/runs/{run_id}",
                          headers={"HX-Request": "true"}).status_code == 286
    finally:
        restarted.extensions["jobs"].shutdown()


# --- settings of a run -----------------------------------------------------------------------

def test_probe_settings_come_from_the_configuration(tmp_path):
    app = make_app(tmp_path / "instance", NTP_SERVER="ntp.example.net",
                   CLOUD_ENDPOINTS="a.example.net:443,[2001:db8::1]:8443",
                   MANAGEMENT_INTERFACE="eno1", REQUIRED_UNITS="sshd.service,chrony.service",
                   PROBE_TIMEOUT="7", SUPPORT_MIN_FREE_MB="100", TLS="true")
    try:
        settings = service.probe_settings(app.config, "partially_disconnected")
    finally:
        app.extensions["jobs"].shutdown()
    assert settings.ntp_server == "ntp.example.net"
    assert settings.cloud_endpoints == ("a.example.net:443", "[2001:db8::1]:8443")
    assert settings.management_interface == "eno1"
    assert settings.required_units == ("sshd.service", "chrony.service")
    assert settings.probe_timeout == 7
    assert settings.support_package_free_bytes == 100 * 2**20
    assert settings.certificate_path == app.config["TLS_CERT"]
    assert settings.device_name == "edge-test"
    assert settings.instance_dir == app.config["INSTANCE"]
    assert settings.connectivity_mode == "partially_disconnected"


def test_probe_settings_defaults(tmp_path):
    settings = service.probe_settings(load_config({"INSTANCE": str(tmp_path)}, environ={}))
    assert settings.connectivity_mode == "fully_connected"
    assert settings.management_interface is None
    assert settings.certificate_path == str(tmp_path / "tls" / "cert.pem")


def test_unusable_cloud_endpoint_stops_the_app_at_start_up(tmp_path):
    with pytest.raises(ConfigError, match="WEBUI_CLOUD_ENDPOINTS"):
        make_app(tmp_path / "instance", CLOUD_ENDPOINTS="cloud.example.net:https")


@pytest.mark.parametrize(("stored", "expected"), [
    (None, "fully_connected"),
    ("fully_disconnected", "fully_disconnected"),
    ("partially_disconnected", "partially_disconnected"),
    ("sideways", "fully_connected"),
])
def test_runs_follow_the_connectivity_mode(client, auth, app, probes, stored, expected):
    if stored is not None:
        with app.app_context():
            db.put_setting(db.get_db(), "connectivity_mode", stored, "admin")
    auth.sign_in()
    wait_for(client, start(auth, ["internet_connectivity"]))
    assert [s.connectivity_mode for s in probes.settings_seen] == [expected]
    assert probes.settings_seen[0].instance_dir == app.config["INSTANCE"]


# --- the real catalogue on this machine ------------------------------------------------------

def test_full_real_run_through_the_app(client, auth, app):
    # Network targets on a loopback port nothing listens on: refused at once, never the internet.
    app.config.update(NTP_SERVER="127.0.0.1:9", CLOUD_ENDPOINTS=["127.0.0.1:9"])
    auth.sign_in()
    run = wait_for(client, start(auth))
    assert run["state"] == "succeeded"
    assert [r["id"] for r in run["results"]] == list(PROBE_IDS)
    for result in run["results"]:
        assert result["status"] in VALID_STATUSES, result
        assert result["summary"], result
        if result["status"] not in ("healthy", "not_applicable"):
            assert result["recommended_action"], result
    page = client.get(f"{PAGE}/runs/{run['id']}").get_data(as_text=True)
    assert page.count("<details") == len(PROBE_IDS)


def test_details_read_plainly(client, auth, app):
    details = {"online": [0, 1], "offline": [], "thermal": {}, "interfaces": [{"name": "eth0"}],
               "writable": False, "free_bytes": 7, "mount": "/data", "error": None}
    result = {**result_dict("storage"), "details": details}
    run_id = insert_run(app, "succeeded", ["storage"], [result], finished_at=time.time())
    auth.sign_in()
    html = client.get(f"{PAGE}/runs/{run_id}").get_data(as_text=True)
    for shown in ("<dt>online</dt><dd>0, 1</dd>", "<dt>offline</dt><dd>none</dd>",
                  "<dt>thermal</dt><dd>none</dd>", "<dt>writable</dt><dd>no</dd>",
                  "<dt>free bytes</dt><dd>7 B</dd>", "<dt>mount</dt><dd>/data</dd>",
                  "<dt>error</dt><dd>—</dd>"):
        assert shown in html
    interfaces = html[html.index("<dt>interfaces</dt>"):html.index("<dt>writable</dt>")]
    assert "<dt>name</dt><dd>eth0</dd>" in interfaces and "<pre>" not in interfaces


def test_history_keeps_only_the_newest_runs(client, auth, app, probes, monkeypatch):
    monkeypatch.setattr(service, "RUNS_KEPT", 3)
    old = [insert_run(app, "succeeded", ["cpus"], [result_dict("cpus")],
                      created_at=1000.0 + n, started_at=1000.0 + n) for n in range(4)]
    auth.sign_in()
    new = start(auth, ["cpus"])
    kept = [run["id"] for run in client.get(RUNS_API).get_json()["items"]]
    assert kept == [new, old[3], old[2]]
    assert client.get(f"{RUNS_API}/{old[0]}").status_code == 404
    assert {row["id"] for row in job_rows(app, service.KIND)} == set(kept)


def test_api_run_body_sent_in_chunks_is_read(client, auth, probes):
    auth.sign_in()
    body = json.dumps({"tests": ["cpus"]}).encode()
    # What gunicorn hands over for a chunked body: no length, a stream it ends itself.
    response = client.post(RUNS_API, input_stream=io.BytesIO(body),
                           environ_overrides={"wsgi.input_terminated": True},
                           headers={"X-CSRFToken": auth.csrf(), "Transfer-Encoding": "chunked",
                                    "Content-Type": "application/json"})
    assert response.status_code == 202
    assert response.get_json()["tests"] == ["cpus"]


def test_the_history_counts_each_runs_results_as_the_run_itself_does(app):
    """Finished, half-done, not yet started and result-less runs: the history's summary of each
    has the tests and the counts by status of the run read whole."""
    statuses = ["healthy", "warning", "healthy", "could_not_run", "unhealthy", "not_applicable"]
    results = [{"id": f"test_{n}", "title": "A test", "status": status, "summary": "Checked.",
                "details": {"seen": n}, "recommended_action": None}
               for n, status in enumerate(statuses)]
    stored = [json.dumps({"results": results}), json.dumps({"results": results[:2]}),
              json.dumps({"results": []}), json.dumps({}), None]
    with app.app_context():
        conn = db.get_db()
        conn.executemany(
            "INSERT INTO jobs(id, kind, state, progress, params, result, created_by, created_at) "
            "VALUES (?, 'diagnostics', 'succeeded', 1, ?, ?, 'admin', ?)",
            [(f"{n:016x}", json.dumps({"tests": [r["id"] for r in results]}), result, float(n))
             for n, result in enumerate(stored, 1)])
        summaries = service.run_summaries(conn, 20)
        runs = service.list_runs(conn, 20)

    newest_first = [f"{n:016x}" for n in range(len(stored), 0, -1)]
    assert [s.id for s in summaries] == [r.id for r in runs] == newest_first
    assert [(s.tests, s.counts) for s in summaries] == [(r.tests, r.counts) for r in runs]
    assert summaries[-1].counts == {"healthy": 2, "warning": 1, "unhealthy": 1,
                                    "could_not_run": 1, "not_applicable": 1}
