"""The production files in ``deploy/``: a valid hardened unit, an exact polkit rule, an example
config the service accepts and an example hook that works."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from webui import config
from webui.connectivity import hooks, policy

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
UNIT = DEPLOY / "edge-webui.service"
RULE = DEPLOY / "50-edge-webui.rules"
EXAMPLE_CONFIG = DEPLOY / "config.toml.example"
EXAMPLE_HOOK = DEPLOY / "hooks" / "connectivity.d" / "50-example"
LOGIND_ACTIONS = {
    "org.freedesktop.login1.reboot",
    "org.freedesktop.login1.reboot-multiple-sessions",
    "org.freedesktop.login1.power-off",
    "org.freedesktop.login1.power-off-multiple-sessions",
    "org.freedesktop.login1.set-wall-message",
    "org.freedesktop.login1.schedule-shutdown",
}
HOST_ACTIONS = {
    "org.freedesktop.hostname1.set-static-hostname",
    "org.freedesktop.hostname1.set-hostname",
    "org.freedesktop.timedate1.set-timezone",
}
MANAGE_UNITS = "org.freedesktop.systemd1.manage-units"
TIMESYNCD_RESTART = {"unit": "systemd-timesyncd.service", "verb": "restart"}


def unit_entries() -> dict[str, dict[str, list[str]]]:
    """Sections of the unit, each key with every value it is given (keys may repeat)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current = None
    for raw in UNIT.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def test_unit_runs_serve_as_the_unprivileged_user_with_hardening():
    service = unit_entries()["Service"]
    assert service["User"] == ["edge-webui"] and service["Group"] == ["edge-webui"]
    assert service["ExecStart"][0].endswith("/edge-webui serve")
    expected = {
        "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
        "NoNewPrivileges": "yes", "CapabilityBoundingSet": "", "StateDirectory": "edge-webui",
        "LogsDirectory": "edge-webui", "ConfigurationDirectory": "edge-webui",
    }
    assert {key: service[key][-1] for key in expected} == expected
    # The time service's drop-in directories too, where they exist ("-"), for the NTP servers.
    assert set(service["ReadWritePaths"][0].split()) == {
        "/var/lib/edge-webui", "/var/log/edge-webui", "-/etc/systemd/timesyncd.conf.d",
        "-/etc/chrony/sources.d"}


def test_unit_environment_names_real_settings_with_valid_values():
    environment = dict(e.split("=", 1) for e in unit_entries()["Service"]["Environment"])
    assert environment["WEBUI_INSTANCE"] == "/var/lib/edge-webui"
    assert environment["WEBUI_LOG_DIR"] == "/var/log/edge-webui"
    assert environment["WEBUI_CONFIG"] == "/etc/edge-webui/config.toml"
    assert environment["WEBUI_POWER_BACKEND"] == "systemd"
    assert environment["WEBUI_SYSTEM_BACKEND"] == "systemd"
    for key, value in environment.items():
        name = key.removeprefix(config.PREFIX)
        assert key.startswith(config.PREFIX) and name in config.BY_NAME, key
        config.BY_NAME[name].parse(value)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                    reason="systemd-analyze is not installed on this machine")
def test_systemd_analyze_verify_accepts_the_unit(tmp_path):
    # verify insists that ExecStart's program exists: point it at this checkout's command.
    program = Path(sys.executable).with_name("edge-webui")
    assert program.exists()
    copy = tmp_path / UNIT.name
    copy.write_text(UNIT.read_text().replace("/opt/edge-webui/bin/edge-webui", str(program)))
    result = subprocess.run(["systemd-analyze", "verify", str(copy)], capture_output=True,
                            text=True, timeout=60)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert UNIT.name not in output, output


NODE_HARNESS = """
const fs = require("fs");
const rules = [];
const polkit = {Result: {YES: "yes", NO: "no", NOT_HANDLED: null},
                addRule: (rule) => rules.push(rule)};
new Function("polkit", fs.readFileSync(process.argv[1], "utf8"))(polkit);
const ask = JSON.parse(process.argv[2]);
const answers = ask.map(([user, id, details]) => {
  const action = {id: id, lookup: (key) => (details || {})[key]};
  for (const rule of rules) {
    const result = rule(action, {user: user});
    if (result !== null && result !== undefined) return result;
  }
  return null;
});
process.stdout.write(JSON.stringify({rules: rules.length, answers: answers}));
"""


@pytest.fixture
def node():
    program = shutil.which("node")
    if program is None:
        pytest.skip("node is not installed: the polkit rule's JavaScript is not checked")
    return program


def test_polkit_rule_is_valid_javascript(node, tmp_path):
    copy = tmp_path / "50-edge-webui.js"
    shutil.copy(RULE, copy)
    result = subprocess.run([node, "--check", str(copy)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr


def test_polkit_rule_grants_exactly_the_power_and_host_actions(node):
    named = set(re.findall(r'"(org\.freedesktop\.[\w.-]+)"', RULE.read_text()))
    assert named == LOGIND_ACTIONS | HOST_ACTIONS | {MANAGE_UNITS}

    wanted = [["edge-webui", a] for a in sorted(LOGIND_ACTIONS | HOST_ACTIONS)] + [
        ["edge-webui", MANAGE_UNITS, TIMESYNCD_RESTART]]
    others = ["org.freedesktop.login1.suspend", "org.freedesktop.login1.hibernate",
              "org.freedesktop.login1.reboot-ignore-inhibit",
              "org.freedesktop.login1.power-off-ignore-inhibit",
              "org.freedesktop.hostname1.set-machine-info",
              "org.freedesktop.timedate1.set-time", "org.freedesktop.timedate1.set-ntp",
              "org.freedesktop.NetworkManager.reload"]
    questions = (wanted + [["edge-webui", a] for a in others]
                 + [["edge-webui", MANAGE_UNITS, {"unit": "sshd.service", "verb": "restart"}],
                    ["edge-webui", MANAGE_UNITS, {"unit": "systemd-timesyncd.service",
                                                  "verb": "stop"}],
                    ["edge-webui", MANAGE_UNITS]]
                 + [["mallory", *q[1:]] for q in wanted])
    result = subprocess.run([node, "-e", NODE_HARNESS, str(RULE), json.dumps(questions)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["rules"] == 1
    granted = [q for q, a in zip(questions, answer["answers"], strict=True) if a == "yes"]
    assert granted == wanted
    assert all(a is None for q, a in zip(questions, answer["answers"], strict=True)
               if q not in wanted)


def test_example_config_is_accepted_by_the_service(tmp_path):
    values = config.load(environ={"WEBUI_INSTANCE": str(tmp_path),
                                  "WEBUI_CONFIG": str(EXAMPLE_CONFIG)})
    assert values["POWER_BACKEND"] == "systemd"
    assert values["BIND"] == ("0.0.0.0", 8443)  # noqa: S104 - the management port answers
    assert values["HOOK_TIMEOUT"] == 30


def test_example_hook_runs_for_every_mode_and_refuses_an_unknown_one(tmp_path):
    assert os.access(EXAMPLE_HOOK, os.X_OK)
    assert subprocess.run(["sh", "-n", str(EXAMPLE_HOOK)], timeout=30).returncode == 0
    hooks_dir = tmp_path / "hooks"
    (hooks_dir / "connectivity.d").mkdir(parents=True)
    shutil.copy2(EXAMPLE_HOOK, hooks_dir / "connectivity.d")
    for mode in policy.MODES:
        [run] = hooks.run_hooks(hooks_dir, mode, "fully_connected", timeout=30)
        assert run.ok, run.outcome
        assert f"fully_connected -> {mode}" in run.output
    [run] = hooks.run_hooks(hooks_dir, "airplane", "fully_connected", timeout=30)
    assert run.status == 2 and "unknown connectivity mode" in run.output
