"""Schemathesis against the real server (gunicorn over TLS) with every check it has: each
operation of ``/api/v1/openapi.json`` is fuzzed with a fixed seed and must answer as the
document says — valid data accepted, invalid refused, every status and body documented.

The power backend is dry-run, the connectivity hooks directory is empty and the network tests
point at loopback ports where nothing listens, so no case changes the host or leaves it. The
JUnit and text reports stay in ``test-output/``.
"""

from __future__ import annotations

import json
import re
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
MAX_EXAMPLES = 30
PHASES = "examples,coverage,fuzzing,stateful"
# Fully disconnected, the device refuses every token: the mode changes run last, alone.
LOCK_OUT = ["connectivity_api.put_mode.put"]
REVOKE = "api.revoke_token.delete"
DOCUMENT = "api.openapi_document.get"
# The stateful phase follows Location headers and ids from one operation into the next.
STATEFUL = "Stateful tests"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("fuzz")
    (base / "hooks").mkdir()
    nothing_listens = f"127.0.0.1:{free_port()}"
    live = start_server(base, env_extra={
        "WEBUI_POWER_BACKEND": "dry-run", "WEBUI_HOOKS_DIR": str(base / "hooks"),
        "WEBUI_NTP_SERVER": nothing_listens, "WEBUI_CLOUD_ENDPOINTS": nothing_listens,
        "WEBUI_SUPPORT_UPLOAD_URL": ""})
    live.extra["workdir"] = base
    yield live
    live.stop()


def admin_token(server, name: str) -> str:
    created = server.cli("token", "create", "--name", name, "--role", "administrator")
    assert created.returncode == 0, created.stderr
    return created.stdout.strip()


def api(server, token: str, path: str) -> dict:
    status, body = server.get(path, {"Authorization": f"Bearer {token}"})
    assert status == 200, body
    return json.loads(body)


def operation_ids(server, token: str) -> set[str]:
    return {operation["operationId"]
            for path in api(server, token, "/api/v1/openapi.json")["paths"].values()
            for operation in path.values()}


def revoke_only(server, token: str, name: str) -> None:
    """Pin the revocation to a throwaway token: the fuzzer must not revoke its own."""
    listed = api(server, token, "/api/v1/tokens?per_page=500")["items"]
    token_id = next(item["id"] for item in listed if item["name"] == name)
    (server.extra["workdir"] / "schemathesis.toml").write_text(
        f'[[operations]]\ninclude-operation-id = "{REVOKE}"\n'
        f"parameters = {{ token_id = {token_id} }}\n")


def schemathesis(server, token: str, report: str, operations: list[str], *,
                 include: bool) -> tuple[subprocess.CompletedProcess, Element]:
    """Run ``st run --checks all`` on the operations (or all but them); answers the run and
    its JUnit report."""
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
         "--checks", "all", "--phases", PHASES, "--workers", "2",
         "--request-timeout", "30", "--no-color", "--report", "junit",
         "--report-junit-path", str(junit), *selection],
        capture_output=True, text=True, timeout=900, cwd=server.extra["workdir"])
    (OUTPUT / f"{report}.txt").write_text(run.stdout + run.stderr)
    return run, ElementTree.parse(junit).getroot()


def failures(junit: Element) -> list[str]:
    return [f"{case.get('name')}: {(problem.get('message') or problem.text or '')[:600]}"
            for case in junit.iter("testcase")
            for problem in [*case.iter("failure"), *case.iter("error")]]


def cases(run: subprocess.CompletedProcess) -> int:
    """The number of test cases the run reports having generated."""
    found = re.search(r"([0-9,]+) generated", run.stdout)
    return int(found[1].replace(",", "")) if found else 0


def server_tracebacks(server) -> list[str]:
    logs = [server.log, *sorted((server.instance / "logs").glob("*.log*"))]
    return [f"{log.name}: {line}" for log in logs if log.is_file()
            for line in log.read_text(errors="replace").splitlines() if "Traceback" in line]


@pytest.mark.timeout(900)
def test_every_operation_answers_as_documented(server):
    token = admin_token(server, "fuzz")
    admin_token(server, "throwaway")
    revoke_only(server, token, "throwaway")
    run, junit = schemathesis(server, token, "schemathesis-api", LOCK_OUT, include=False)
    operations = {case.get("name") for case in junit.iter("testcase")} - {STATEFUL}
    assert STATEFUL in {case.get("name") for case in junit.iter("testcase")}
    # Schemathesis leaves out the operation that serves the document it reads.
    assert len(operations) == len(operation_ids(server, token) - {DOCUMENT}) - len(LOCK_OUT), (
        run.stdout[-2000:])
    assert failures(junit) == []
    assert run.returncode == 0, run.stdout[-3000:]
    assert cases(run) > 10 * len(operations), run.stdout[-2000:]
    assert server_tracebacks(server) == []


@pytest.mark.timeout(300)
def test_changing_mode_answers_as_documented(server):
    token = admin_token(server, "mode changes")
    run, junit = schemathesis(server, token, "schemathesis-mode", LOCK_OUT, include=True)
    assert len(list(junit.iter("testcase"))) == len(LOCK_OUT), run.stdout[-2000:]
    assert failures(junit) == []
    assert run.returncode == 0, run.stdout[-3000:]
    assert server_tracebacks(server) == []
