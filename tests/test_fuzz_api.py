"""Schemathesis against the real server (gunicorn over TLS): every API operation of
``/api/v1/openapi.json`` fuzzed with a fixed seed; not one answer may be a 500.

The power backend is dry-run, the connectivity hooks directory is empty and the network tests
point at loopback ports where nothing listens, so no case changes the host or leaves it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from defusedxml import ElementTree

from e2e_support import OUTPUT, free_port, start_server

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

pytestmark = pytest.mark.e2e

SEED = 9
MAX_EXAMPLES = 25
# The checks today's thin description can honestly satisfy. content_type_conformance cannot
# yet: 201/202 answers fall under "default", which declares only problem+json; and
# positive_data_acceptance needs real body schemas. status_code_conformance holds only
# because "default" covers every status.
CHECKS = ",".join([
    "not_a_server_error", "response_schema_conformance", "response_headers_conformance",
    "negative_data_rejection", "unsupported_method", "allow_header_conformance",
    "missing_required_header", "ignored_auth", "status_code_conformance"])
# A run probes the default gateway and the update sources: traffic off the machine.
OFF_THE_MACHINE = ["diagnostics_api.create_run.post"]
# These lock the fuzzer out (its own token revoked; tokens refused once fully disconnected),
# so they run last, on a throwaway token.
LOCK_OUT = ["api.revoke_token.delete", "connectivity_api.put_mode.put"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("fuzz")
    (base / "hooks").mkdir()
    nothing_listens = f"127.0.0.1:{free_port()}"
    live = start_server(base, env_extra={
        "WEBUI_POWER_BACKEND": "dry-run", "WEBUI_HOOKS_DIR": str(base / "hooks"),
        "WEBUI_NTP_SERVER": nothing_listens, "WEBUI_CLOUD_ENDPOINTS": nothing_listens,
        "WEBUI_SUPPORT_UPLOAD_URL": ""})
    # Schemathesis keeps its state in the directory it runs from.
    live.extra["workdir"] = base
    yield live
    live.stop()


def admin_token(server, name: str) -> str:
    created = server.cli("token", "create", "--name", name, "--role", "administrator")
    assert created.returncode == 0, created.stderr
    return created.stdout.strip()


def operation_ids(server, token: str) -> set[str]:
    status, body = server.get("/api/v1/openapi.json", {"Authorization": f"Bearer {token}"})
    assert status == 200
    return {operation["operationId"] for path in json.loads(body)["paths"].values()
            for operation in path.values()}


def schemathesis(server, token: str, report: str, operations: list[str], *,
                 include: bool) -> tuple[subprocess.CompletedProcess, Element]:
    """Run ``st run`` on the operations (or all but them); answers the run and its JUnit."""
    # A misspelt operation id would let an excluded operation through.
    assert set(operations) <= operation_ids(server, token)
    OUTPUT.mkdir(exist_ok=True)
    junit = OUTPUT / f"{report}.xml"
    selection = [f"--{'include' if include else 'exclude'}-operation-id={operation_id}"
                 for operation_id in operations]
    run = subprocess.run(
        [str(Path(sys.executable).with_name("st")), "run", f"{server.url}/api/v1/openapi.json",
         "--url", server.url, "--header", f"Authorization: Bearer {token}",
         "--tls-verify", "false", "--seed", str(SEED), "--max-examples", str(MAX_EXAMPLES),
         "--checks", CHECKS, "--phases", "examples,coverage,fuzzing", "--workers", "2",
         "--request-timeout", "30", "--no-color", "--report", "junit",
         "--report-junit-path", str(junit), *selection],
        capture_output=True, text=True, timeout=600, cwd=server.extra["workdir"])
    (OUTPUT / f"{report}.txt").write_text(run.stdout + run.stderr)
    return run, ElementTree.parse(junit).getroot()


def failures(junit: Element) -> list[str]:
    return [f"{case.get('name')}: {(problem.get('message') or problem.text or '')[:300]}"
            for case in junit.iter("testcase")
            for problem in [*case.iter("failure"), *case.iter("error")]]


def server_tracebacks(server) -> list[str]:
    logs = [server.log, *sorted((server.instance / "logs").glob("*.log*"))]
    return [f"{log.name}: {line}" for log in logs if log.is_file()
            for line in log.read_text(errors="replace").splitlines() if "Traceback" in line]


def test_no_api_operation_answers_a_server_error(server):
    run, junit = schemathesis(server, admin_token(server, "fuzz"), "schemathesis-api",
                              OFF_THE_MACHINE + LOCK_OUT, include=False)
    operations = list(junit.iter("testcase"))
    assert len(operations) >= 25, run.stdout[-2000:]
    assert failures(junit) == []
    assert run.returncode == 0, run.stdout[-3000:]
    assert server_tracebacks(server) == []


def test_revoking_tokens_and_changing_mode_answer_no_server_error(server):
    run, junit = schemathesis(server, admin_token(server, "throwaway"), "schemathesis-lock-out",
                              LOCK_OUT, include=True)
    assert len(list(junit.iter("testcase"))) == len(LOCK_OUT), run.stdout[-2000:]
    assert failures(junit) == []
    assert run.returncode == 0, run.stdout[-3000:]
    assert server_tracebacks(server) == []
