import os
import shutil
import subprocess
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

import diagnostics
from webui import audit, db, instance, jobs
from webui.alerts import service as alerts
from webui.alerts.rules import Finding, by_id
from webui.auth import tokens
from webui.power import service as power
from webui.power.backends import DryRunBackend

from conftest import make_app
from copylog_fixtures import UPLOAD, copylog_app, root  # noqa: F401  (a fixture, found by name)

PROMTOOL = shutil.which("promtool")
TESTS = [test.id for test in diagnostics.catalogue()]


def _families(text: str) -> dict:
    return {f.name: f for f in text_string_to_metric_families(text)}


def scrape_text(app) -> str:
    """``/metrics`` as Prometheus reads it, with a token of its own."""
    with app.app_context():
        _id, token = tokens.create(db.get_db(), "prometheus", "viewer", "admin")
    response = app.test_client().get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def scrape(app) -> dict:
    return _families(scrape_text(app))


def values(family, *labels: str) -> dict:
    """The family's samples by their labels' values (one label: by that value alone)."""
    found = {}
    for sample in family.samples:
        key = tuple(sample.labels[label] for label in labels)
        found[key[0] if len(key) == 1 else key] = sample.value
    return found


def add_run(app, results: dict[str, str], finished_at: float, state: str = "succeeded") -> None:
    """A diagnostic run that finished at ``finished_at`` with ``{test: status}``."""
    result = {"results": [{"id": test, "title": test, "status": status, "summary": "",
                           "details": {}, "recommended_action": None}
                          for test, status in results.items()]}
    with app.app_context():
        conn = db.get_db()
        run_id = jobs.record_done(conn, "diagnostics", {"tests": list(results)}, result, "admin")
        conn.execute("UPDATE jobs SET finished_at = ?, state = ? WHERE id = ?",
                     (finished_at, state, run_id))


def test_metrics_for_a_token(app, client, auth):
    auth.sign_in()
    token = auth.api("POST", "/api/v1/tokens", {"name": "prometheus"}).get_json()["token"]
    response = app.test_client().get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    families = _families(response.get_data(as_text=True))
    assert families["edge_webui_info"].samples[0].labels["device"] == "edge-test"
    assert families["edge_webui_build_info"].samples[0].labels["version"] == app.config["VERSION"]
    assert families["edge_uptime_seconds"].samples[0].value > 0
    modes = values(families["edge_connectivity_mode"], "mode")
    assert modes["fully_connected"] == 1 and sum(modes.values()) == 1
    size = families["edge_instance_size_bytes"].samples[0].value
    assert 0 < families["edge_instance_free_bytes"].samples[0].value <= size


def test_metrics_name_one_charset(app):
    with app.app_context():
        _id, token = tokens.create(db.get_db(), "prometheus", "viewer", "admin")
    response = app.test_client().get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert response.headers["Content-Type"].lower().count("charset") == 1


def test_metrics_need_admin_or_token(app, client, auth):
    assert client.get("/metrics").status_code == 401
    auth.sign_in_viewer()
    assert client.get("/metrics").status_code == 403


def test_before_any_run_health_is_unknown_and_every_test_never_ran(app):
    families = scrape(app)
    assert families["edge_device_health"].samples[0].value == -1
    assert families["edge_diagnostic_test_status"].samples == []
    assert values(families["edge_diagnostic_test_last_run_timestamp_seconds"], "test") == \
        dict.fromkeys(TESTS, 0)


def test_each_test_shows_its_latest_result_across_runs(app):
    first, second = TESTS[0], TESTS[1]
    add_run(app, {first: "healthy", second: "unhealthy"}, finished_at=1000)
    # A later run of one test only: the other keeps its older result.
    add_run(app, {first: "warning"}, finished_at=2000)
    families = scrape(app)
    statuses = values(families["edge_diagnostic_test_status"], "test", "status")
    assert statuses[first, "warning"] == 1 and statuses[first, "healthy"] == 0
    assert statuses[second, "unhealthy"] == 1
    assert sum(value for (test, _), value in statuses.items() if test == first) == 1
    last_run = values(families["edge_diagnostic_test_last_run_timestamp_seconds"], "test")
    assert (last_run[first], last_run[second], last_run[TESTS[2]]) == (2000, 1000, 0)
    assert families["edge_device_health"].samples[0].value == 2


def test_an_interrupted_run_keeps_the_results_it_finished(app):
    add_run(app, {TESTS[0]: "unhealthy"}, finished_at=1000)
    add_run(app, {TESTS[0]: "healthy"}, finished_at=2000, state="interrupted")
    families = scrape(app)
    assert values(families["edge_diagnostic_test_status"], "test", "status")[
        TESTS[0], "healthy"] == 1
    assert families["edge_device_health"].samples[0].value == 0


def test_failed_sign_ins_and_lockouts_are_counters_not_stored_rows(app, client, auth):
    for _ in range(5):
        auth.sign_in(password="not the password at all")
    auth.sign_in()
    with app.app_context():
        db.get_db().execute("DELETE FROM audit")
    families = scrape(app)
    sign_ins = values(families["edge_sign_ins"], "outcome")
    assert (sign_ins["failure"], sign_ins["refused"], sign_ins["success"]) == (5, 1, 0)
    assert values(families["edge_sign_in_lockouts"], "outcome") == {"locked": 1}
    assert families["edge_sign_ins"].type == "counter"


@pytest.mark.parametrize(("action", "family"), [
    ("support_package_create", "edge_support_packages"),
    ("support_ticket_create", "edge_support_tickets"),
    ("support_ticket_upload", "edge_support_ticket_uploads"),
    ("support_ticket_usb_copy", "edge_support_ticket_usb_copies")])
def test_support_outcomes_are_counted(app, action, family):
    assert values(scrape(app)[family], "outcome")["failure"] == 0
    with app.app_context():
        audit.record(db.get_db(), audit.SYSTEM, action, None, "failure", "no room")
    counted = values(scrape(app)[family], "outcome")
    assert counted["failure"] == 1 and counted["success"] == 0


def test_two_apps_count_their_own_events(app, tmp_path):
    other = make_app(tmp_path / "other")
    try:
        with other.app_context():
            audit.record(db.get_db(), audit.SYSTEM, "support_package_create", None, "success")
        assert values(scrape(other)["edge_support_packages"], "outcome")["success"] == 1
        assert values(scrape(app)["edge_support_packages"], "outcome")["success"] == 0
    finally:
        other.extensions["jobs"].shutdown()


def test_connectivity_mode_says_since_when(app):
    assert scrape(app)["edge_connectivity_mode_changed_timestamp_seconds"].samples[0].value == 0
    before = time.time()
    with app.app_context():
        db.put_setting(db.get_db(), "connectivity_mode", "partially_disconnected", "admin")
    families = scrape(app)
    assert values(families["edge_connectivity_mode"], "mode")["partially_disconnected"] == 1
    assert families["edge_connectivity_mode_changed_timestamp_seconds"].samples[0].value >= \
        int(before)


def test_scheduled_power_action_and_restart_required(app, tmp_path):
    host = tmp_path / "host"
    (host / "run").mkdir(parents=True)
    (host / "run" / "reboot-required").write_text("")
    app.config["POWER_HOST_ROOT"] = str(host)
    with app.app_context():
        action = power.request(db.get_db(), DryRunBackend(), "shutdown", 15, "",
                               audit.Actor("admin"))
    families = scrape(app)
    assert values(families["edge_power_scheduled"], "action") == {"restart": 0, "shutdown": 1}
    assert families["edge_power_scheduled_timestamp_seconds"].samples[0].value == action.at
    assert families["edge_restart_required"].samples[0].value == 1
    assert families["edge_restart_required_reasons"].samples[0].value == 1


def test_nothing_scheduled_and_no_restart_needed(app, tmp_path):
    app.config["POWER_HOST_ROOT"] = str(tmp_path)
    families = scrape(app)
    assert values(families["edge_power_scheduled"], "action") == {"restart": 0, "shutdown": 0}
    assert families["edge_power_scheduled_timestamp_seconds"].samples[0].value == 0
    assert families["edge_restart_required"].samples[0].value == 0


def test_upload_errors_of_the_last_day_by_share_and_kind(tmp_path, root):  # noqa: F811
    long_ago = time.time() - 2 * 86400
    photos = next(root.glob("photos/**/Upload/*"))
    os.utime(photos, (long_ago, long_ago))
    with copylog_app(tmp_path / "instance", str(root)) as app:
        errors = values(scrape(app)["edge_copy_log_upload_errors"], "share", "kind")
    # The upload log's summary element declares 24 errors before it is indexed.
    assert errors["share1", "upload"] == 24
    assert not any(share == "photos" for share, _kind in errors)
    assert {kind for _share, kind in errors} <= {"upload", "copy_log"}


def test_certificate_expiry_is_a_timestamp(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    instance.make_certificate(cert, key, "edge-test")
    app = make_app(tmp_path / "instance", TLS="true", TLS_CERT=str(cert), TLS_KEY=str(key))
    try:
        expiry = scrape(app)["edge_tls_certificate_expiry_timestamp_seconds"].samples[0].value
    finally:
        app.extensions["jobs"].shutdown()
    _state, expires = instance.certificate_state(cert)
    assert expiry == expires.timestamp() > time.time()


def test_every_family_explains_itself(app):
    add_run(app, {TESTS[0]: "healthy"}, finished_at=time.time())
    for family in scrape(app).values():
        assert family.documentation.strip(), family.name


@pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed (Debian package "
                    "prometheus; make test installs it when run as root)")
def test_a_real_scrape_passes_promtool(app):
    add_run(app, {TESTS[0]: "unhealthy"}, finished_at=time.time())
    checked = subprocess.run([PROMTOOL, "check", "metrics"], input=scrape_text(app),
                             capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0 and checked.stdout + checked.stderr == "", \
        checked.stdout + checked.stderr


def raise_alert(app, rule_id: str, subject: str, severity: str) -> int:
    rule = by_id()[rule_id]
    with app.app_context():
        [change] = alerts.apply(db.get_db(), {rule: [Finding(subject, {
            "share": subject, "count": 1, "status": "Unhealthy", "summary": "",
            "recommended_action": ""}, severity)]}, time.time())
    return change.alert_id


def test_open_alerts_by_rule_and_severity_active_apart_from_acknowledged(app):
    families = scrape(app)
    active = values(families["edge_alerts_active"], "rule", "severity")
    assert set(active.values()) == {0} and ("test_disks", "critical") in active
    raise_alert(app, "share_upload_errors", "media", "warning")
    alert_id = raise_alert(app, "test_disks", "", "critical")
    with app.app_context():
        alerts.acknowledge(db.get_db(), alert_id, audit.Actor("admin"), "on it")
    families = scrape(app)
    active = values(families["edge_alerts_active"], "rule", "severity")
    acknowledged = values(families["edge_alerts_acknowledged"], "rule", "severity")
    assert active["share_upload_errors", "warning"] == 1 and sum(active.values()) == 1
    assert acknowledged["test_disks", "critical"] == 1 and sum(acknowledged.values()) == 1


def test_cleared_alerts_and_rules_gone_from_the_catalogue_are_not_counted(app):

    raise_alert(app, "share_upload_errors", "media", "warning")
    with app.app_context():
        db.get_db().execute("INSERT INTO alerts(rule, subject, severity, state, title, message, "
                            "action, details, raised_at, last_seen_at) VALUES ('retired_rule', "
                            "'', 'warning', 'active', 't', 'm', 'a', '{}', 0, 0)")
        alerts.apply(db.get_db(), {by_id()["share_upload_errors"]: []}, time.time())
    families = scrape(app)
    for name in ("edge_alerts_active", "edge_alerts_acknowledged"):
        counted = values(families[name], "rule", "severity")
        assert sum(counted.values()) == 0
        assert not any(rule == "retired_rule" for rule, _severity in counted)
