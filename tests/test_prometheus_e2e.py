"""The real Prometheus scrapes the real server over TLS with a token, loads the shipped rules,
and raises the device-unhealthy alert once a diagnostic run fails."""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml

from e2e_support import OUTPUT, free_port, start_server

pytestmark = pytest.mark.e2e

PROMETHEUS = Path("/usr/bin/prometheus")
RULES = Path(__file__).resolve().parent.parent / "deploy" / "prometheus" / "rules" / \
    "edge-webui.rules.yml"
DEADLINE_SECONDS = 120
POLL_SECONDS = 0.5


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    # Cloud endpoints where nothing listens make the connectivity test fail; power is simulated.
    refused = f"127.0.0.1:{free_port()}"
    live = start_server(tmp_path_factory.mktemp("prometheus-device"), env_extra={
        "WEBUI_CLOUD_ENDPOINTS": refused, "WEBUI_POWER_BACKEND": "dry-run"})
    yield live
    live.stop()


def token(server, role: str) -> str:
    made = server.cli("token", "create", "--name", f"prometheus-{role}", "--role", role)
    assert made.returncode == 0, made.stderr
    return made.stdout.splitlines()[0].strip()


def quick_rules(directory: Path) -> Path:
    """The shipped rules with every ``for:`` shortened to 2 s, so the test need not wait the
    minutes an operator would; expressions, labels and annotations are unchanged."""
    rules = yaml.safe_load(RULES.read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            if "for" in rule:
                rule["for"] = "2s"
    path = directory / "edge-webui.rules.yml"
    path.write_text(yaml.safe_dump(rules))
    return path


def prometheus_config(directory: Path, target: str, token_file: Path, ca_file: Path) -> Path:
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(quick_rules(directory))],
        "scrape_configs": [{
            "job_name": "edge-webui", "scheme": "https", "metrics_path": "/metrics",
            "authorization": {"type": "Bearer", "credentials_file": str(token_file)},
            "tls_config": {"ca_file": str(ca_file)},
            "static_configs": [{"targets": [target]}]}]}
    path = directory / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture
def prometheus(server, tmp_path):
    if not PROMETHEUS.exists():
        pytest.skip(f"{PROMETHEUS} is not installed (Debian package prometheus; make test "
                    "installs it when run as root)")
    token_file = tmp_path / "token"
    token_file.write_text(token(server, "viewer") + "\n")
    target = urllib.parse.urlsplit(server.url).netloc
    config = prometheus_config(tmp_path, target, token_file, server.instance / "tls" / "cert.pem")
    port = free_port()
    OUTPUT.mkdir(exist_ok=True)
    log = OUTPUT / "prometheus-e2e.log"
    with open(log, "wb") as err:
        process = subprocess.Popen(
            [str(PROMETHEUS), f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'data'}",
             f"--web.listen-address=127.0.0.1:{port}"],
            stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def prometheus_api(base: str, path: str, **query: str) -> dict | None:
    """The ``data`` of a Prometheus API answer, or None while it is not up yet."""
    url = f"{base}{path}?{urllib.parse.urlencode(query)}" if query else base + path
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return json.load(response)["data"]
    except (OSError, ValueError):
        return None


def eventually(what: str, check, log: Path):
    """Poll ``check()`` until it answers something true; fail naming ``what`` at the deadline."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(POLL_SECONDS)
    raise AssertionError(f"{what} never happened; see {log}")


def start_failing_run(server) -> None:
    body = json.dumps({"tests": ["internet_connectivity"]}).encode()
    request = urllib.request.Request(
        server.url + "/api/v1/diagnostics/runs", data=body, method="POST",
        headers={"Authorization": f"Bearer {token(server, 'administrator')}",
                 "Content-Type": "application/json"})
    context = ssl.create_default_context(cafile=str(server.instance / "tls" / "cert.pem"))
    with urllib.request.urlopen(request, context=context, timeout=30) as response:
        assert response.status == 202


def target_up(base: str) -> bool:
    data = prometheus_api(base, "/api/v1/query", query='up{job="edge-webui"}')
    return bool(data and data["result"] and data["result"][0]["value"][1] == "1")


def unhealthy_alert(base: str) -> dict | None:
    data = prometheus_api(base, "/api/v1/alerts")
    return next((alert for alert in (data or {}).get("alerts", [])
                 if alert["labels"]["alertname"] == "EdgeDeviceUnhealthy"
                 and alert["state"] in ("pending", "firing")), None)


def test_prometheus_scrapes_the_device_and_raises_the_unhealthy_alert(server, prometheus):
    log = OUTPUT / "prometheus-e2e.log"
    eventually("a successful scrape of the device (up == 1)", lambda: target_up(prometheus), log)
    start_failing_run(server)
    alert = eventually("the EdgeDeviceUnhealthy alert", lambda: unhealthy_alert(prometheus), log)
    assert alert["labels"]["severity"] == "critical"
    assert alert["annotations"]["summary"].endswith("is unhealthy")
    assert target_up(prometheus)
