"""Device health: each test's latest result across runs, its age, stale results, tests that
never ran; the API operation and the overview card."""

from __future__ import annotations

import time

import diagnostics
from webui import db, jobs
from webui.health import service
from webui.health.service import DAY, Schedule

TESTS = [test.id for test in diagnostics.catalogue()]
HOURLY = Schedule(enabled=True, interval=3600, network_interval=900)
NOW = 1_800_000_000.0


def add_run(app, results: dict[str, str], finished_at: float, state: str = "succeeded",
            summary: str = "") -> str:
    """A diagnostic run that finished at ``finished_at`` with ``{test: status}``."""
    result = {"results": [{"id": test, "title": test, "status": status,
                           "summary": summary or f"{test} is {status}", "details": {},
                           "recommended_action": None} for test, status in results.items()]}
    with app.app_context():
        conn = db.get_db()
        run_id = jobs.record_done(conn, "diagnostics", {"tests": list(results)}, result, "admin")
        conn.execute("UPDATE jobs SET finished_at = ?, state = ? WHERE id = ?",
                     (finished_at, state, run_id))
    return run_id


def add_all(app, finished_at: float, status: str = "healthy") -> str:
    return add_run(app, dict.fromkeys(TESTS, status), finished_at)


def health(app, now: float = NOW, schedule: Schedule = HOURLY) -> service.DeviceHealth:
    with app.app_context():
        return service.device_health(db.get_db(), schedule, now)


def by_id(found: service.DeviceHealth) -> dict[str, service.TestHealth]:
    return {test.id: test for test in found.tests}


def test_before_any_run_the_health_is_unknown_and_every_test_not_run(app):
    found = health(app)
    assert found.status is None and found.checked_at is None
    assert [test.id for test in found.tests] == TESTS
    assert all(test.status is None and test.checked_at is None and test.run_id is None
               for test in found.tests)


def test_a_run_of_fewer_tests_cannot_make_the_device_healthier(app):
    add_all(app, NOW - 600)
    add_run(app, {"disks": "unhealthy"}, NOW - 500)
    # Later, a run of two tests only: the failing disk still counts.
    later = add_run(app, {"cpus": "healthy", "memory": "healthy"}, NOW - 60)
    found = health(app)
    assert found.status == diagnostics.Status.UNHEALTHY
    tests = by_id(found)
    assert tests["disks"].status == diagnostics.Status.UNHEALTHY
    assert (tests["cpus"].run_id, tests["cpus"].checked_at) == (later, NOW - 60)
    assert found.checked_at == NOW - 60


def test_an_interrupted_run_updates_only_the_tests_it_finished(app):
    first = add_all(app, NOW - 600)
    add_run(app, {"disks": "warning"}, NOW - 100, state="interrupted")
    tests = by_id(health(app))
    assert tests["disks"].status == diagnostics.Status.WARNING
    assert tests["cpus"].run_id == first


def test_a_result_older_than_its_interval_is_stale(app):
    add_all(app, NOW - 1200)
    tests = by_id(health(app))
    # Twenty minutes: past the network tests' 15, within the others' hour.
    assert tests["time_sync"].stale and tests["internet_connectivity"].stale
    assert not tests["disks"].stale
    assert health(app).status == diagnostics.Status.HEALTHY


def test_a_result_older_than_a_day_makes_a_warning(app):
    add_all(app, NOW - DAY - 60)
    found = health(app)
    assert all(test.stale for test in found.tests)
    assert found.status == diagnostics.Status.WARNING


def test_an_unhealthy_result_older_than_a_day_stays_unhealthy(app):
    add_run(app, {"disks": "unhealthy"}, NOW - 2 * DAY)
    add_all(app, NOW - 2 * DAY - 60)
    assert health(app).status == diagnostics.Status.UNHEALTHY


def test_a_test_that_never_ran_makes_a_warning_once_others_have(app):
    add_run(app, {"cpus": "healthy"}, NOW - 60)
    found = health(app)
    assert found.status == diagnostics.Status.WARNING
    disks = by_id(found)["disks"]
    assert disks.status is None and disks.stale


def test_without_a_schedule_results_are_stale_after_a_day(app):
    add_all(app, NOW - 7200)
    off = Schedule(enabled=False, interval=0, network_interval=0)
    assert not any(test.stale for test in health(app, schedule=off).tests)


# --- GET /api/v1/health ----------------------------------------------------------------------

def test_api_answers_the_device_health_to_a_viewer(app, client, auth):
    run_id = add_all(app, time.time() - 60)
    add_run(app, {"disks": "warning"}, time.time() - 30, summary="Disk sda has 8 bad sectors")
    auth.sign_in_viewer()
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "warning"
    assert [test["id"] for test in body["tests"]] == TESTS
    disks = next(test for test in body["tests"] if test["id"] == "disks")
    assert set(disks) == {"id", "title", "status", "summary", "checked_at", "run_id", "stale"}
    assert (disks["status"], disks["summary"], disks["stale"]) == \
        ("warning", "Disk sda has 8 bad sectors", False)
    assert disks["checked_at"].endswith(("+00:00", "Z"))
    cpus = next(test for test in body["tests"] if test["id"] == "cpus")
    assert (cpus["run_id"], cpus["title"], cpus["status"]) == (run_id, "Processors", "healthy")


def test_api_says_which_tests_never_ran(client, auth):
    auth.sign_in_viewer()
    body = client.get("/api/v1/health").get_json()
    assert body["status"] is None and body["checked_at"] is None
    assert {(test["status"], test["checked_at"], test["run_id"]) for test in body["tests"]} == \
        {(None, None, None)}


def test_api_needs_a_signed_in_caller(client):
    assert client.get("/api/v1/health").status_code == 401


# --- the overview card -----------------------------------------------------------------------

def card_of(client) -> str:
    page = client.get("/").get_data(as_text=True)
    card = page[page.index('id="diagnostics-card-heading"'):]
    return card[:card.index("</section>")]


def test_overview_card_shows_each_test_with_status_age_and_stale_mark(app, client, auth):
    add_all(app, time.time() - 2 * DAY)
    run_id = add_run(app, {"disks": "unhealthy"}, time.time() - 120)
    auth.sign_in_viewer()
    card = card_of(client)
    assert 'Device health <span class="badge status-unhealthy">Unhealthy</span>' in card
    assert '<table class="table cards health-tests">' in card
    disks = card[card.index(f'runs/{run_id}">'):]
    disks = disks[:disks.index("</tr>")]
    assert '<td data-label="Status"><span class="badge status-unhealthy">' in disks
    assert "2 min ago" in disks and "Stale" not in disks
    memory = card[card.index(">Memory</a>"):]
    memory = memory[:memory.index("</tr>")]
    assert '<span class="badge status-warning" title="Older than its scheduled interval">' \
           'Stale</span>' in memory
    assert '<td data-label="Checked">' in memory and "2 d ago" in memory


def test_overview_card_names_tests_not_run_yet(app, client, auth):
    add_run(app, {"cpus": "healthy"}, time.time() - 60)
    auth.sign_in_viewer()
    card = card_of(client)
    assert 'Device health <span class="badge status-warning">Warning</span>' in card
    assert card.count("Not run yet") == len(TESTS) - 1


def test_overview_card_before_any_run_claims_no_health(client, auth):
    auth.sign_in_viewer()
    card = card_of(client)
    assert "Device health" not in card and "No diagnostic run yet." in card
