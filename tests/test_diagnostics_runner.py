"""The runner, the catalogue and the console command, on canned hosts and on this machine."""

import json
import shutil
import threading
from types import SimpleNamespace

import pytest

import diagnostics
from diagnostics import Host, ProbeSettings, Requires, Result, Status, cli
from diagnostics.probes import PROBE_IDS
from diagnostics.runner import run_probes

from canned_host import canned

# Every network target on loopback ports nothing listens on: refused at once, never the internet.
# The management port is lo, which has no gateway to knock at.
OFFLINE = ProbeSettings(ntp_server="127.0.0.1:9", cloud_endpoints=("127.0.0.1:9",),
                        update_endpoints=("127.0.0.1:9",), management_interface="lo")


def test_catalogue_lists_the_sixteen_tests_of_the_spec():
    catalogue = diagnostics.catalogue()
    assert [test_id for test_id, _, _ in catalogue] == list(PROBE_IDS)
    assert len(catalogue) == 16
    assert all(title and description for _, title, description in catalogue)


def test_every_probe_declares_what_it_needs_as_data():
    from diagnostics.probes import load

    for probe in load():
        assert isinstance(probe.REQUIRES, Requires), probe.ID


def test_a_probe_whose_needs_are_missing_is_not_applicable_and_says_what_is_missing(tmp_path):
    host = canned(tmp_path, "container")
    shutil.rmtree(host.path("/sys/class/net"))
    [result] = diagnostics.run(["network_interfaces"], host=host, settings=OFFLINE)
    assert result.status is Status.NOT_APPLICABLE
    assert "/sys/class/net is not present" in result.summary
    assert result.details == {"missing_requirements": ["/sys/class/net is not present"]}


def test_the_runner_checks_commands_and_systemd_before_running_a_probe(tmp_path):
    def must_not_run(host, settings):
        raise AssertionError("a probe whose needs are missing must not run")

    needy = SimpleNamespace(ID="raid", TITLE="RAID", run=must_not_run,
                            REQUIRES=Requires(commands=("no-such-raid-tool",), systemd=True))
    [result] = run_probes([needy], canned(tmp_path, "container"), OFFLINE)
    assert result.status is Status.NOT_APPLICABLE
    assert "the command no-such-raid-tool is not installed" in result.summary
    assert "systemd is not running" in result.summary
    met = SimpleNamespace(ID="fans", TITLE="Fans", REQUIRES=Requires(commands=("sh",)),
                          run=answering("fans").run)
    assert run_probes([met], Host(), OFFLINE)[0].status is Status.HEALTHY


def test_unknown_test_id_is_named():
    with pytest.raises(ValueError, match="unknown diagnostic test: fan_speed"):
        diagnostics.run(["cpus", "fan_speed"])


def answering(probe_id: str):
    """A probe that answers healthy at once."""
    def run(host, settings):
        return Result(probe_id, probe_id.title(), Status.HEALTHY, "fine", {})
    return SimpleNamespace(ID=probe_id, TITLE=probe_id.title(), run=run)


def test_hanging_and_crashing_probes_become_could_not_run_and_the_others_still_report():
    release = threading.Event()

    def hang(host, settings):
        release.wait()  # never set during the run

    def crash(host, settings):
        raise RuntimeError("sensor bus exploded")

    probes = [SimpleNamespace(ID="hangs", TITLE="Hangs", run=hang), answering("fans"),
              SimpleNamespace(ID="crashes", TITLE="Crashes", run=crash), answering("pumps")]
    progress = []
    results = run_probes(probes, Host(), ProbeSettings(probe_timeout=3),
                         on_result=lambda r, done, total: progress.append((r.id, done, total)))
    release.set()
    assert [r.id for r in results] == ["hangs", "fans", "crashes", "pumps"]
    hung, fans, crashed, pumps = results
    assert hung.status is Status.COULD_NOT_RUN
    assert hung.summary == "Did not finish within 3 s" and hung.recommended_action
    assert crashed.status is Status.COULD_NOT_RUN
    assert "RuntimeError: sensor bus exploded" in crashed.summary
    assert fans.status is Status.HEALTHY and pumps.status is Status.HEALTHY
    assert sorted(p[1] for p in progress) == [1, 2, 3, 4]
    assert progress[-1] == ("hangs", 4, 4)


def test_probe_returning_something_else_than_a_result_could_not_run():
    probe = SimpleNamespace(ID="odd", TITLE="Odd", run=lambda host, settings: {"ok": True})
    [result] = run_probes([probe], Host(), ProbeSettings(probe_timeout=2))
    assert result.status is Status.COULD_NOT_RUN
    assert "not a Result" in result.summary


def test_full_run_on_this_machine():
    results = diagnostics.run(settings=OFFLINE)
    assert [r.id for r in results] == list(PROBE_IDS)
    for result in results:
        assert isinstance(result, Result)
        assert result.status in Status
        assert result.summary, result.id
        json.dumps(result.to_dict())
        if result.status not in (Status.HEALTHY, Status.NOT_APPLICABLE):
            assert result.recommended_action, result.id
    by_id = {r.id: r for r in results}
    # No certificate or instance directory is configured here: said, not faked.
    assert by_id["certificates"].status is Status.NOT_APPLICABLE
    assert by_id["webui_self"].status is Status.NOT_APPLICABLE
    assert "No web UI instance directory" in by_id["webui_self"].summary
    assert by_id["internet_connectivity"].status is Status.UNHEALTHY
    assert by_id["time_sync"].status is not Status.HEALTHY  # nothing answers on 127.0.0.1:9
    if not Host().exists("/run/systemd/system"):
        assert "systemd" in json.dumps(by_id["system_software"].details)
    for result in results:
        if result.status is Status.NOT_APPLICABLE:
            assert len(result.summary) > 20, result.id  # the reason, not just a label


def test_full_run_on_canned_hosts_reports_every_test(tmp_path):
    for name in ("appliance", "container"):
        results = diagnostics.run(host=canned(tmp_path, name), settings=OFFLINE)
        assert len(results) == 16
        assert not [r for r in results if r.status is Status.COULD_NOT_RUN], name
        json.dumps({"results": [r.to_dict() for r in results]})


@pytest.mark.parametrize(("field", "value", "message"), [
    ("connectivity_mode", "offline", "connectivity_mode must be one of"),
    ("cloud_endpoints", ("api.example:99999",), "invalid port"),
    ("update_endpoints", (":443",), "has no host name"),
    ("probe_timeout", 0, "must be positive"),
    ("storage_unhealthy_percent", 20.0, "storage thresholds"),
])
def test_settings_refuse_invalid_values(field, value, message):
    with pytest.raises(ValueError, match=message):
        ProbeSettings(**{field: value})


def test_endpoints_parse_with_default_ports():
    from diagnostics.settings import parse_endpoint

    assert parse_endpoint("api.example") == ("api.example", 443)
    assert parse_endpoint("ntp.example", default_port=123) == ("ntp.example", 123)
    assert parse_endpoint("[2001:db8::1]:8443") == ("2001:db8::1", 8443)
    assert parse_endpoint("2001:db8::1") == ("2001:db8::1", 443)


def test_cli_json_and_exit_code(capsys):
    code = cli.main(["--json", "--test", "cpus", "--test", "memory"], settings=OFFLINE)
    output = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in output["results"]] == ["cpus", "memory"]
    assert code == max(Status(r["status"]).severity for r in output["results"])


def test_cli_table_shows_status_text_and_actions(capsys):
    code = cli.main(["--test", "internet_connectivity", "webui_self"], settings=OFFLINE)
    table = capsys.readouterr().out
    assert code == 2
    assert table.splitlines()[0].split() == ["STATUS", "TEST", "SUMMARY"]
    assert "Unhealthy       internet_connectivity" in table
    assert "Not applicable  webui_self" in table
    assert "→ Check the DNS servers" in table


def test_cli_list_and_unknown_test(capsys):
    assert cli.main(["--list"]) == 0
    assert capsys.readouterr().out.count("\n") == 16
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--test", "fan_speed"])
    assert exit_info.value.code == 2
    assert "fan_speed" in capsys.readouterr().err


def test_python_dash_m_diagnostics_runs():
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "diagnostics", "--json", "--test", "storage"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode in (0, 1, 2)
    assert json.loads(done.stdout)["results"][0]["id"] == "storage"


def test_status_labels_and_order_are_one_table():
    assert [s.label for s in Status] == ["Healthy", "Warning", "Unhealthy", "Could not run",
                                         "Not applicable"]
    assert diagnostics.worst([Status.HEALTHY, Status.NOT_APPLICABLE]) is Status.HEALTHY
    assert diagnostics.worst([Status.COULD_NOT_RUN, Status.UNHEALTHY]) is Status.UNHEALTHY
    assert diagnostics.worst([]) is None


def test_a_result_reads_back_from_its_dict():
    result = Result("cpus", "Processors", Status.WARNING, "Load is high", {"load": [3.0]},
                    "Find what keeps the device busy.")
    assert Result.from_dict(json.loads(json.dumps(result.to_dict()))) == result


# --- the command runner --------------------------------------------------------------------

def test_a_command_that_closes_its_output_before_exiting_keeps_its_exit_code():
    result = Host().run(["sh", "-c", "exec >&- 2>&-; sleep 0.3; exit 3"], timeout=10)
    assert result.returncode == 3 and not result.timed_out and result.error is None


def test_a_hung_command_is_stopped_at_its_deadline():
    result = Host().run(["sleep", "30"], timeout=0.5)
    assert result.timed_out and result.returncode is None
    assert result.error == "timed out after 0.5 s"


def test_output_past_the_cap_stops_the_command_and_says_so():
    result = Host().run(["yes"], timeout=10, limit=1000)
    assert result.truncated and len(result.stdout) == 1000 and not result.ok


def test_a_missing_program_is_said_not_raised():
    result = Host().run(["no-such-program-here"])
    assert result.missing and result.error == "no-such-program-here is not installed"


def test_a_child_left_holding_the_output_does_not_make_the_command_time_out():
    result = Host().run(["sh", "-c", "sleep 30 & echo started"], timeout=8)
    assert result.ok and result.stdout == "started\n"
