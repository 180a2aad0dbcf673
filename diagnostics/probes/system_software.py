"""System software: no failed systemd units, required units active, package database sound."""

from __future__ import annotations

import json

from diagnostics.host import Host
from diagnostics.requires import NOTHING
from diagnostics.result import Result, Status, Verdict
from diagnostics.settings import ProbeSettings

ID = "system_software"
TITLE = "System software"
DESCRIPTION = ("No systemd unit has failed, the required services are active, and the package "
               "manager reports no broken packages.")
REQUIRES = NOTHING


def run(host: Host, settings: ProbeSettings) -> Result:
    """Ask systemd for failed and required units and dpkg for half-installed packages."""
    verdict = Verdict(ID, TITLE)
    details: dict = {}
    systemd = host.exists("/run/systemd/system")
    if systemd:
        details["systemd"] = _systemd(host, verdict, settings.required_units)
    else:
        details["systemd"] = "not running (no /run/systemd/system): units not checked"
    packages = _dpkg(host, verdict)
    details["packages"] = packages
    if not systemd and packages is None:
        return verdict.not_applicable("Neither systemd nor dpkg is present to check", details)
    checked = (["systemd units"] if systemd else []) + (["packages"] if packages else [])
    return verdict.result(f"{' and '.join(checked).capitalize()} healthy"
                          + ("" if systemd else "; systemd is not running here"), details)


def _systemd(host: Host, verdict: Verdict, required: tuple[str, ...]) -> dict:
    state: dict = {}
    result = host.run(["systemctl", "--failed", "--output=json", "--no-pager", "--plain"],
                      timeout=3, limit=512 * 1024)
    try:
        failed = [u["unit"] for u in json.loads(result.stdout)] if result.ok else None
    except (json.JSONDecodeError, TypeError, KeyError):
        failed = None
    if failed is None:
        state["failed_error"] = (result.error or result.stderr).strip()[:300] or "no JSON output"
        verdict.problem(Status.WARNING, "systemctl could not list failed units",
                        "Check that systemd answers: run 'systemctl --failed'.")
    else:
        state["failed_units"] = failed
        if failed:
            verdict.problem(Status.WARNING, f"{len(failed)} failed unit(s): "
                                            f"{', '.join(failed[:5])}",
                            "Look at 'systemctl status <unit>' and the journal for each failed "
                            "unit, fix the cause and restart it.")
    if required:
        result = host.run(["systemctl", "is-active", *required], timeout=3, limit=64 * 1024)
        answers = result.stdout.split()
        states = {u: answers[i] if i < len(answers) else "unknown"
                  for i, u in enumerate(required)}
        state["required_units"] = states
        inactive = [u for u, s in states.items() if s != "active"]
        if inactive:
            verdict.problem(Status.UNHEALTHY, "Required service(s) not active: "
                            + ", ".join(f"{u} ({states[u]})" for u in inactive),
                            "Start the required services ('systemctl start <unit>') and check "
                            "their logs if they stop again.")
    return state


def _dpkg(host: Host, verdict: Verdict) -> dict | None:
    if not host.exists("/var/lib/dpkg/status"):
        return None
    result = host.run(["dpkg", f"--admindir={host.path('/var/lib/dpkg')}", "--audit"],
                      timeout=3, limit=256 * 1024)
    if result.missing:
        return None
    if result.returncode is None or (result.returncode != 0 and not result.stdout):
        verdict.problem(Status.WARNING, "dpkg --audit could not run",
                        "Check that no other package operation holds the dpkg lock.")
        return {"audit": "failed", "error": (result.error or result.stderr).strip()[:300]}
    problems = result.stdout.strip()
    if problems:
        verdict.problem(Status.WARNING, "The package database reports half-installed or broken "
                                        "packages",
                        "Finish or repair the interrupted package operation "
                        "('dpkg --configure -a').")
    return {"audit": "problems" if problems else "clean", "output": problems[:4000]}
