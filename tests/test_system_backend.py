"""Host changes behind backends: the exact commands (fake executables on PATH that record their
arguments), the files written under a temporary root, timesyncd or chrony, dry-run changing
nothing, and every value refused at this layer with its rule. Nothing real runs."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from diagnostics.host import Host
from webui.system import backends, host_state, service
from webui.system.backends import DryRunBackend, Refused, SystemdBackend

import fake_tools
from fake_tools import commands

TOOLS = ("hostnamectl", "timedatectl", "systemctl", "chronyc")


@pytest.fixture
def fake_bin(tmp_path, monkeypatch):
    """Recording tools as the only thing on PATH: the real ones can never be reached."""
    directory, log = tmp_path / "fake-bin", tmp_path / "commands.log"
    fake_tools.install(directory, log, TOOLS)
    monkeypatch.setenv("PATH", str(directory))
    return directory, log


def fail(directory: Path, name: str) -> None:
    (directory / name).write_text(fake_tools.failing("Could not set property: Access denied", 4))


def chrony_host(root: Path) -> Path:
    (root / "etc/chrony").mkdir(parents=True)
    (root / "etc/chrony/chrony.conf").write_text("pool 2.debian.pool.ntp.org iburst\n"
                                                 "sourcedir /etc/chrony/sources.d\n")
    return root


def timesyncd_host(root: Path) -> Path:
    (root / "etc/systemd").mkdir(parents=True)
    (root / "etc/systemd/timesyncd.conf").write_text("[Time]\n#NTP=\n")
    return root


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() if p.is_file() else b"<dir>"
            for p in sorted(root.rglob("*"))}


# --- commands and files of the systemd backend --------------------------------------------

def test_host_name_runs_hostnamectl_with_the_name_as_one_argument(tmp_path, fake_bin):
    _directory, log = fake_bin
    outcome = SystemdBackend(str(tmp_path)).apply(backends.host_name_change("edge-07.example"))
    assert outcome.ok and not outcome.simulated
    assert commands(log) == [["hostnamectl", "set-hostname", "edge-07.example"]]


def test_time_zone_runs_timedatectl(tmp_path, fake_bin):
    _directory, log = fake_bin
    outcome = SystemdBackend(str(tmp_path)).apply(backends.time_zone_change("Europe/Berlin"))
    assert outcome.ok
    assert commands(log) == [["timedatectl", "set-timezone", "Europe/Berlin"]]


def test_ntp_for_timesyncd_writes_a_drop_in_then_restarts_it(tmp_path, fake_bin):
    _directory, log = fake_bin
    root = timesyncd_host(tmp_path / "root")
    change = service.plan("ntp", ["ntp1.example.net", "192.0.2.123"], str(root))
    outcome = SystemdBackend(str(root)).apply(change)
    assert outcome.ok
    drop_in = root / "etc/systemd/timesyncd.conf.d/50-edge-webui.conf"
    assert drop_in.read_text() == (backends.MANAGED
                                   + "[Time]\nNTP=ntp1.example.net 192.0.2.123\n")
    assert stat.S_IMODE(drop_in.stat().st_mode) == 0o644
    assert commands(log) == [["systemctl", "restart", "systemd-timesyncd"]]
    assert [p.name for p in drop_in.parent.iterdir()] == ["50-edge-webui.conf"]
    assert host_state.read(str(root)).ntp_servers == ["ntp1.example.net", "192.0.2.123"]


def test_ntp_for_chrony_writes_sources_then_reloads_them(tmp_path, fake_bin):
    _directory, log = fake_bin
    root = chrony_host(tmp_path / "root")
    change = service.plan("ntp", ["ntp1.example.net", "2001:db8::123"], str(root))
    assert SystemdBackend(str(root)).apply(change).ok
    sources = root / "etc/chrony/sources.d/edge-webui.sources"
    assert sources.read_text() == (backends.MANAGED + "server ntp1.example.net iburst\n"
                                   "server 2001:db8::123 iburst\n")
    assert stat.S_IMODE(sources.stat().st_mode) == 0o644
    assert commands(log) == [["chronyc", "reload", "sources"]]
    assert not (root / "etc/systemd").exists()


def test_a_second_write_replaces_the_first(tmp_path, fake_bin):
    root = timesyncd_host(tmp_path / "root")
    backend = SystemdBackend(str(root))
    backend.apply(service.plan("ntp", ["a.example"], str(root)))
    backend.apply(service.plan("ntp", ["b.example"], str(root)))
    assert host_state.read(str(root)).ntp_servers == ["b.example"]


def test_a_failing_command_reports_its_exit_status_and_first_error_line(tmp_path, fake_bin):
    directory, _log = fake_bin
    fail(directory, "hostnamectl")
    outcome = SystemdBackend(str(tmp_path)).apply(backends.host_name_change("edge-07"))
    assert not outcome.ok
    assert outcome.error == ("hostnamectl set-hostname edge-07 failed (exit status 4): "
                             "Could not set property: Access denied")


def test_a_missing_command_is_named(tmp_path, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    outcome = SystemdBackend(str(tmp_path)).apply(backends.time_zone_change("UTC"))
    assert "needs the timedatectl command" in outcome.error


def test_an_unwritable_drop_in_is_a_failure_and_runs_nothing(tmp_path, fake_bin):
    _directory, log = fake_bin
    root = timesyncd_host(tmp_path / "root")
    (root / "etc/systemd/timesyncd.conf.d").write_text("a file where the directory goes")
    outcome = SystemdBackend(str(root)).apply(service.plan("ntp", ["a.example"], str(root)))
    assert outcome.error.startswith("Could not write /etc/systemd/timesyncd.conf.d/")
    assert commands(log) == []


# --- dry-run -------------------------------------------------------------------------------

def test_dry_run_records_what_it_would_do_and_changes_nothing(tmp_path, fake_bin):
    _directory, log = fake_bin
    root = timesyncd_host(tmp_path / "root")
    before = tree(root)
    backend = DryRunBackend(str(root))
    outcome = backend.apply(service.plan("ntp", ["ntp1.example.net"], str(root)))
    backend.apply(backends.host_name_change("edge-07"))
    backend.apply(backends.time_zone_change("UTC"))
    assert outcome.ok and outcome.simulated
    assert outcome.to_dict()["commands"] == [["systemctl", "restart", "systemd-timesyncd"]]
    assert outcome.to_dict()["files"] == [{
        "path": "/etc/systemd/timesyncd.conf.d/50-edge-webui.conf",
        "content": backends.MANAGED + "[Time]\nNTP=ntp1.example.net\n"}]
    assert tree(root) == before and commands(log) == []


# --- which time service, and reading the host ----------------------------------------------

def test_chrony_is_found_even_beside_a_leftover_timesyncd_config(tmp_path):
    root = timesyncd_host(chrony_host(tmp_path))
    assert host_state.time_service(Host(str(root))) == "chrony"


def test_timesyncd_is_found_by_its_config_or_its_program(tmp_path):
    assert host_state.time_service(Host(str(timesyncd_host(tmp_path / "a")))) \
        == "systemd-timesyncd"
    program = tmp_path / "b/usr/lib/systemd/systemd-timesyncd"
    program.parent.mkdir(parents=True)
    program.write_text("")
    assert host_state.time_service(Host(str(tmp_path / "b"))) == "systemd-timesyncd"


def test_no_time_service_reads_as_unknown(tmp_path):
    state = host_state.read(str(tmp_path))
    assert state == host_state.HostState(None, None, None, None)


def test_reading_name_zone_and_servers(tmp_path):
    root = chrony_host(tmp_path)
    (root / "etc/hostname").write_text("edge-07\n")
    os.symlink("/usr/share/zoneinfo/America/New_York", root / "etc/localtime")
    (root / "etc/chrony/sources.d").mkdir()
    (root / "etc/chrony/sources.d/edge-webui.sources").write_text("server 192.0.2.1 iburst\n")
    state = host_state.read(str(root))
    assert state == host_state.HostState("edge-07", "America/New_York", "chrony",
                                         ["2.debian.pool.ntp.org", "192.0.2.1"])
    (root / "etc/timezone").write_text("Europe/Berlin\n")
    assert host_state.read(str(root)).time_zone == "Europe/Berlin"


def test_a_later_timesyncd_drop_in_wins(tmp_path):
    root = timesyncd_host(tmp_path)
    (root / "etc/systemd/timesyncd.conf").write_text("[Time]\nNTP=old.example\n")
    (root / "etc/systemd/timesyncd.conf.d").mkdir()
    (root / "etc/systemd/timesyncd.conf.d/90-site.conf").write_text("[Time]\nNTP=site.example\n")
    assert host_state.read(str(root)).ntp_servers == ["site.example"]


def test_timesyncd_without_servers_reads_as_none_configured(tmp_path):
    assert host_state.read(str(timesyncd_host(tmp_path))).ntp_servers == []


# --- values refused at this layer ----------------------------------------------------------

@pytest.mark.parametrize("name", [
    "", "-edge", "edge-", "edge_07", "edge 07", "edge;reboot", "$(reboot)", "édge", "a..b",
    "edge.", ".edge", "a" * 64, ".".join(["abcdefg"] * 9), "--help", "edge\n07", "edge\x00"])
def test_bad_host_names_are_refused_with_the_rule(tmp_path, fake_bin, name):
    _directory, log = fake_bin
    with pytest.raises(Refused) as refused:
        backends.host_name_change(name)
    assert refused.value.field == "host name" and "RFC 1123" in refused.value.rule
    assert commands(log) == []


@pytest.mark.parametrize("name", ["e", "edge-07", "EDGE07", "edge-07.site.example",
                                  "a" * 63, "1edge"])
def test_good_host_names_pass(name):
    assert backends.host_name_change(name).commands == (("hostnamectl", "set-hostname", name),)


@pytest.mark.parametrize("zone", ["", "Mars/Olympus", "../../etc/passwd", "/etc/localtime",
                                  "Europe/Berlin ", "-h", "utc", "x" * 100])
def test_bad_time_zones_are_refused_with_the_rule(zone):
    with pytest.raises(Refused) as refused:
        backends.time_zone_change(zone)
    assert refused.value.field == "time zone" and "IANA" in refused.value.rule


@pytest.mark.parametrize("servers", [
    [], [""], ["pool.ntp.org:123"], ["a.example", "a.example"], ["bad name"],
    ["x\nserver evil.example"], ["NTP=x"], ["-x"], ["a.example"] * 5, ["[2001:db8::1]"],
    ["a" * 254], ["fe80::1%eth0"], ["fe80::1%x\nserver evil.example"]])
def test_bad_ntp_servers_are_refused_with_the_rule(tmp_path, servers):
    with pytest.raises(Refused) as refused:
        service.plan("ntp", servers, str(tmp_path))
    assert refused.value.field == "NTP servers" and "host names or IP addresses" in \
        refused.value.rule


def test_the_service_refuses_before_any_backend_acts(tmp_path, fake_bin):
    _directory, log = fake_bin
    with pytest.raises(Refused):
        service.plan("hostname", "edge;reboot", str(tmp_path))
    assert commands(log) == [] and list(tmp_path.iterdir()) == [tmp_path / "fake-bin"]
