"""The shipped Prometheus rules, example configuration and Grafana dashboard: promtool accepts
them, every alert is unit-tested and explained, and every series they name is one a device
exports."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from webui import db, instance, jobs
from webui.auth import tokens

from conftest import make_app

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
PROMETHEUS = DEPLOY / "prometheus"
RULES = PROMETHEUS / "rules" / "edge-webui.rules.yml"
RULE_TESTS = sorted((PROMETHEUS / "tests").glob("*.yml"))
DASHBOARD = DEPLOY / "grafana" / "edge-fleet.json"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed (Debian "
                                    "package prometheus; make test installs it when run as root)")
SEVERITIES = {"critical", "warning", "info"}
# Series Prometheus makes itself for every target.
BUILTIN_SERIES = {"up", "scrape_duration_seconds", "scrape_samples_scraped"}
PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or",
                "unless", "bool", "offset", "inf", "nan"}
IDENTIFIER = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")


def promtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=120)


def alerts() -> list[dict]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def dashboard_exprs() -> list[str]:
    board = json.loads(DASHBOARD.read_text())
    return [target["expr"] for panel in board["panels"] for target in panel.get("targets", [])]


def series_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads: identifiers that are neither functions,
    keywords, label names, durations nor Grafana variables."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)
    text = re.sub(r"\{[^}]*\}|\[[^\]]*\]|\$\w+", "", text)
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    names = set()
    for match in IDENTIFIER.finditer(text):
        following = text[match.end():].lstrip()
        if not following.startswith("(") and match.group().lower() not in PROMQL_WORDS:
            names.add(match.group())
    return names


def exported_series(tmp_path) -> set[str]:
    """Every series name a device's ``/metrics`` holds, with a TLS certificate and a run."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    instance.make_certificate(cert, key, "edge-test")
    app = make_app(tmp_path / "instance", TLS="true", TLS_CERT=str(cert), TLS_KEY=str(key))
    try:
        with app.app_context():
            conn = db.get_db()
            jobs.record_done(conn, "diagnostics", {"tests": ["disks"]}, {"results": [
                {"id": "disks", "title": "Disks", "status": "healthy", "summary": "",
                 "details": {}, "recommended_action": None}]}, "admin")
            _id, token = tokens.create(conn, "prometheus", "viewer", "admin")
        text = app.test_client().get(
            "/metrics", headers={"Authorization": f"Bearer {token}"}).get_data(as_text=True)
    finally:
        app.extensions["jobs"].shutdown()
    names = set(re.findall(r"^# TYPE (\S+)", text, re.MULTILINE))
    names |= set(re.findall(r"^([A-Za-z_:][A-Za-z0-9_:]*)", text, re.MULTILINE))
    return names


def test_series_names_are_read_from_expressions():
    expr = ('sum by (instance, job) (increase(edge_sign_ins_total{outcome!="success"}[15m])) '
            '> 10 and on(instance) up{job=~"$job"} == 0')
    assert series_names(expr) == {"edge_sign_ins_total", "up"}


@needs_promtool
def test_rules_pass_promtool_check():
    checked = promtool("check", "rules", str(RULES))
    assert checked.returncode == 0, checked.stdout + checked.stderr


@needs_promtool
@pytest.mark.parametrize("rule_test", RULE_TESTS, ids=lambda path: path.name)
def test_alerts_pass_their_promtool_unit_tests(rule_test):
    tested = subprocess.run([PROMTOOL, "test", "rules", rule_test.name], cwd=rule_test.parent,
                            capture_output=True, text=True, timeout=120)
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_every_alert_is_unit_tested_and_explained():
    tested = {case["alertname"] for path in RULE_TESTS
              for test in yaml.safe_load(path.read_text())["tests"]
              for case in test.get("alert_rule_test", []) if case.get("exp_alerts")}
    for alert in alerts():
        assert alert["alert"] in tested
        assert alert["labels"]["severity"] in SEVERITIES, alert["alert"]
        assert alert["annotations"]["summary"] and alert["annotations"]["description"]
    assert len(alerts()) >= 9


@needs_promtool
def test_example_scrape_config_passes_promtool(tmp_path):
    """The example as shipped, with its token and certificate files present."""
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    config["rule_files"] = [str(RULES)]
    for job in config["scrape_configs"]:
        token, ca = tmp_path / f"{job['job_name']}.token", tmp_path / f"{job['job_name']}.pem"
        token.write_text("a-token\n")
        instance.make_certificate(ca, tmp_path / f"{job['job_name']}.key", "edge-test")
        job["authorization"]["credentials_file"] = str(token)
        job["tls_config"]["ca_file"] = str(ca)
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    checked = promtool("check", "config", str(path))
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_dashboard_shows_the_fleet_by_device():
    board = json.loads(DASHBOARD.read_text())
    tables = [panel for panel in board["panels"] if panel["type"] == "table"]
    exprs = " ".join(target["expr"] for panel in tables for target in panel["targets"])
    for series in ("edge_device_health", "edge_connectivity_mode",
                   "edge_diagnostic_test_last_run_timestamp_seconds",
                   "edge_copy_log_upload_errors", "edge_instance_free_bytes"):
        assert series in exprs
    assert all("instance" in target["expr"] for panel in tables for target in panel["targets"])


def test_rules_and_dashboard_name_only_series_a_device_exports(tmp_path):
    exported = exported_series(tmp_path) | BUILTIN_SERIES
    named = {name for expr in [rule["expr"] for rule in alerts()] + dashboard_exprs()
             for name in series_names(expr)}
    assert named <= exported, sorted(named - exported)
    assert len(named) >= 10
    # The certificate's expiry is there because the app serves TLS.
    assert "edge_tls_certificate_expiry_timestamp_seconds" in exported
