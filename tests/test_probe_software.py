"""Software probes against canned hosts: services, certificate, updates, kernel log, web UI."""

import datetime as dt
import json
import os
import sqlite3
from types import SimpleNamespace

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from diagnostics import ProbeSettings, Status, tls
from diagnostics.probes import (
    certificates,
    kernel_log,
    software_update_readiness,
    system_software,
    webui_self,
)
from diagnostics.readers import restart

from canned_host import canned

NOW = dt.datetime.now(dt.UTC)


@pytest.fixture
def host(tmp_path):
    return canned(tmp_path)


def test_systemd_units_and_packages_healthy(host):
    result = system_software.run(host, ProbeSettings(required_units=("smbd.service",)))
    assert result.status is Status.HEALTHY
    assert result.summary == "Systemd units and packages healthy"
    assert result.details["systemd"]["required_units"] == {"smbd.service": "active"}
    assert result.details["packages"]["audit"] == "clean"


def test_failed_and_inactive_required_units(host):
    failed = json.dumps([{"unit": "nfs-server.service", "load": "loaded", "active": "failed",
                          "sub": "failed"}])
    host.command("systemctl", f"""case "$1" in
      --failed) echo '{failed}';;
      is-active) echo active; echo inactive; exit 3;;
    esac""")
    result = system_software.run(host, ProbeSettings(required_units=("smbd.service",
                                                                     "edge-webui.service")))
    assert result.status is Status.UNHEALTHY
    assert result.summary == "Required service(s) not active: edge-webui.service (inactive)"
    assert "failed unit" in result.recommended_action or "systemctl status" in \
        result.recommended_action
    assert result.details["systemd"]["failed_units"] == ["nfs-server.service"]


def test_broken_packages_are_a_warning(host):
    host.command("dpkg", "echo 'The following packages are only half configured:'; "
                         "echo ' samba  SMB/CIFS file server'")
    result = system_software.run(host, ProbeSettings())
    assert result.status is Status.WARNING
    assert "dpkg --configure -a" in result.recommended_action


def test_without_systemd_units_are_not_checked_and_said_so(host):
    host.write("/run/systemd/system", None)
    result = system_software.run(host, ProbeSettings(required_units=("smbd.service",)))
    assert result.status is Status.HEALTHY
    assert result.summary == "Packages healthy; systemd is not running here"


def test_neither_systemd_nor_dpkg_is_not_applicable(tmp_path):
    result = system_software.run(canned(tmp_path, "container"), ProbeSettings())
    assert result.status is Status.NOT_APPLICABLE
    assert "Neither systemd nor dpkg" in result.summary


def make_certificate(path, names, not_before, not_after):
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(not_before).not_valid_after(not_after)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), False)
            .sign(key, hashes.SHA256()))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def cert_settings(**extra):
    return ProbeSettings(certificate_path="/var/lib/edge-webui/tls/cert.pem",
                         device_name="edge01.branch.example", **extra)


def test_valid_certificate_for_this_device(host):
    make_certificate(host.path("/var/lib/edge-webui/tls/cert.pem"), ["edge01.branch.example"],
                     NOW - dt.timedelta(days=1), NOW + dt.timedelta(days=365))
    result = certificates.run(host, cert_settings())
    assert result.status is Status.HEALTHY
    assert result.details["self_signed"] is True
    assert result.details["names"] == ["edge01.branch.example"]


def test_expired_certificate_is_unhealthy(host):
    make_certificate(host.path("/var/lib/edge-webui/tls/cert.pem"), ["edge01.branch.example"],
                     NOW - dt.timedelta(days=400), NOW - dt.timedelta(days=2))
    result = certificates.run(host, cert_settings())
    assert result.status is Status.UNHEALTHY
    assert result.summary.startswith("The certificate expired on ")
    assert "Renew the web UI certificate" in result.recommended_action


def test_certificate_expiring_soon_or_for_another_name_is_a_warning(host):
    make_certificate(host.path("/var/lib/edge-webui/tls/cert.pem"), ["other.example"],
                     NOW - dt.timedelta(days=300), NOW + dt.timedelta(days=10))
    result = certificates.run(host, cert_settings())
    assert result.status is Status.WARNING
    assert "expires in 9 days" in result.summary or "expires in 10 days" in result.summary
    assert "not edge01.branch.example" in result.summary


def test_certificate_names_match_wildcards_and_short_names():
    assert tls.names_cover(["*.branch.example"], "edge01.branch.example")
    assert tls.names_cover(["edge01"], "edge01.branch.example")
    assert tls.names_cover(["EDGE01.branch.example"], "edge01")
    assert not tls.names_cover(["*.example"], "edge01.branch.example")


def test_missing_or_unreadable_certificate_is_unhealthy(host):
    assert certificates.run(host, cert_settings()).status is Status.UNHEALTHY
    host.write("/var/lib/edge-webui/tls/cert.pem", "not a certificate\n")
    result = certificates.run(host, cert_settings())
    assert result.status is Status.UNHEALTHY
    assert "no readable PEM certificate" in result.summary


def test_no_certificate_configured_is_not_applicable(host):
    result = certificates.run(host, ProbeSettings())
    assert result.status is Status.NOT_APPLICABLE


def test_update_readiness_healthy_reads_apt_sources(host):
    host.reachable.update({"deb.debian.org": 0.01, "security.debian.org": 0.01,
                           "packages.vendor.example": 0.01})
    result = software_update_readiness.run(host, ProbeSettings())
    assert result.status is Status.HEALTHY
    assert [s["endpoint"] for s in result.details["update_sources"]] == [
        "deb.debian.org:80", "security.debian.org:443", "packages.vendor.example:443"]
    assert result.details["installed_kernels"] == ["6.1.0-27-amd64", "6.1.0-28-amd64"]


def test_restart_required_and_newer_kernel_are_warnings(host):
    host.reachable["deb.debian.org"] = 0.01
    host.write("/run/reboot-required", "*** System restart required ***\n")
    host.write("/run/reboot-required.pkgs", "libc6\nlinux-image-6.1.0-29-amd64\nlibc6\n")
    host.write("/boot/vmlinuz-6.1.0-29-amd64", "")
    result = software_update_readiness.run(host, ProbeSettings())
    assert result.status is Status.WARNING
    assert result.details["restart_required"] == [
        "updates asked for a restart (libc6, linux-image-6.1.0-29-amd64)",
        "kernel 6.1.0-29-amd64 is installed but 6.1.0-28-amd64 is running"]
    assert "Restart the device" in result.recommended_action


def test_unreachable_update_sources_are_a_warning_unless_disconnected(host):
    host.unresolvable.add("deb.debian.org")
    result = software_update_readiness.run(host, ProbeSettings())
    assert result.status is Status.WARNING
    assert result.summary.startswith("No update source is reachable (deb.debian.org:80: name")
    result = software_update_readiness.run(
        host, ProbeSettings(connectivity_mode="fully_disconnected"))
    assert result.status is Status.HEALTHY
    assert "not checked (fully disconnected)" in result.summary


def test_configured_update_endpoints_replace_apt_sources(host):
    host.reachable["updates.vendor.example"] = 0.01
    result = software_update_readiness.run(
        host, ProbeSettings(update_endpoints=("updates.vendor.example:8443",)))
    assert result.details["update_sources"] == [
        {"endpoint": "updates.vendor.example:8443", "reachable": True}]


def test_update_sources_are_read_where_apt_config_puts_them(tmp_path, monkeypatch):
    from diagnostics import Host

    sources = tmp_path / "apt"
    (sources / "parts").mkdir(parents=True)
    (sources / "main.list").write_text("deb http://127.0.0.1:9/debian bookworm main\n")
    (sources / "parts" / "extra.sources").write_text("Types: deb\nURIs: https://[::1]:8443/x\n")
    config = tmp_path / "apt.conf"
    config.write_text(f'// moved by the image builder\nDir::Etc::sourcelist "{sources}/main.list";'
                      f'\nDir::Etc::SourceParts "{sources}/parts";\n')
    monkeypatch.setenv("APT_CONFIG", str(config))
    assert software_update_readiness.update_endpoints(Host(), ProbeSettings()) == [
        "::1:8443", "127.0.0.1:9"]


def test_apt_config_of_the_machine_does_not_move_a_canned_hosts_sources(host, monkeypatch):
    monkeypatch.setenv("APT_CONFIG", "/nonexistent/apt.conf")
    assert software_update_readiness.apt_source_paths(host) == (
        "/etc/apt/sources.list", "/etc/apt/sources.list.d")


def test_kernel_version_ordering():
    versions = ["6.1.0-9-amd64", "6.1.0-10-amd64", "5.10.0-30-amd64"]
    assert max(versions, key=restart.kernel_key) == "6.1.0-10-amd64"


def kmsg(*records):
    return "".join(f"{r}\n" for r in records)


def test_kernel_log_from_kmsg_counts_only_recent_errors(host):
    recent = 190_000 * 10**6  # microseconds since boot; uptime is 200 000 s
    host.write("/dev/kmsg", kmsg(
        f"3,900,{recent},-;Out of memory: Killed process 4242 (smbd) total-vm:1000kB",
        f"3,901,{recent},-;blk_update_request: I/O error, dev sda, sector 2048 op 0x0:(READ)",
        f"6,902,{recent},-;Buffer I/O error on dev sda1 (informational, not an error level)",
        f"3,903,{10 * 10**6},-;blk_update_request: I/O error, dev sda, sector 1 (too old)"))
    result = kernel_log.run(host, ProbeSettings())
    assert result.status is Status.UNHEALTHY
    assert result.summary == "1 disk I/O error(s)"
    assert result.details["counts"] == {"oom_kills": 1, "io_errors": 1, "machine_checks": 0}
    assert result.details["source"] == "/dev/kmsg"
    assert "memory" in result.recommended_action


def test_machine_check_events_are_unhealthy(host):
    host.write("/dev/kmsg", kmsg(
        "0,1,199000000000,-;mce: [Hardware Error]: Machine check events logged"))
    result = kernel_log.run(host, ProbeSettings())
    assert result.status is Status.UNHEALTHY
    assert result.summary == "1 machine-check event(s)"


def test_kernel_log_prefers_the_journal(host):
    host.write("/var/log/journal/0123abcd/system.journal", "")
    host.command("journalctl", f"[ \"$1\" = --root={host.root} ] || exit 9; printf '%s\\n' "
                 "'{\"MESSAGE\":\"Out of memory: Killed process 99 (python3)\",\"PRIORITY\":\"3\"}'"
                 " '{\"MESSAGE\":\"ACPI Error: AE_NOT_FOUND\",\"PRIORITY\":\"3\"}'")
    result = kernel_log.run(host, ProbeSettings())
    assert result.status is Status.WARNING
    assert result.details["source"] == "the journal"
    assert result.details["error_messages"] == 2


def test_healthy_kernel_log(host):
    result = kernel_log.run(host, ProbeSettings())
    assert result.status is Status.HEALTHY
    assert result.details["error_messages"] == 1  # the ACPI error of the canned log


def test_no_kernel_log_is_not_applicable(tmp_path):
    result = kernel_log.run(canned(tmp_path, "container"), ProbeSettings())
    assert result.status is Status.NOT_APPLICABLE
    assert result.details["tried"][0] == "the journal: no journal files"


def test_unreadable_kernel_log_could_not_run(host, monkeypatch):
    def denied(path, flags):
        raise PermissionError(1, "Operation not permitted")

    # Root opens any file, so the refusal a normal user gets is played by os.open.
    monkeypatch.setattr(kernel_log, "os", SimpleNamespace(
        open=denied, O_RDONLY=os.O_RDONLY, O_NONBLOCK=os.O_NONBLOCK))
    result = kernel_log.run(host, ProbeSettings())
    assert result.status is Status.COULD_NOT_RUN
    assert result.summary == "The kernel log is not readable by this user"
    assert "adm/systemd-journal" in result.recommended_action
    assert "/dev/kmsg: permission denied" in result.details["tried"]


def test_kmsg_that_cannot_be_read_is_reported_not_raised(host):
    host.path("/dev/kmsg").unlink()
    host.path("/dev/kmsg").mkdir()
    result = kernel_log.run(host, ProbeSettings())
    assert result.status is Status.NOT_APPLICABLE
    assert "/dev/kmsg: is a directory" in result.details["tried"]


def make_instance(host, integrity_ok=True):
    instance = host.path("/var/lib/edge-webui")
    instance.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(instance / "webui.db") as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE jobs (id INTEGER PRIMARY KEY, state TEXT)")
        db.executemany("INSERT INTO jobs (state) VALUES (?)", [("succeeded",)] * 200)
        db.execute("PRAGMA user_version=3")
    db.close()
    return instance


def test_webui_self_healthy(host):
    make_instance(host)
    result = webui_self.run(host, ProbeSettings(instance_dir="/var/lib/edge-webui"))
    assert result.status is Status.HEALTHY, result.summary
    assert result.details["database"] == {"status": "ok", "schema_version": 3}
    assert result.details["writable"] is True


def test_webui_self_corrupt_database_is_unhealthy(host):
    instance = make_instance(host)
    (instance / "webui.db-wal").unlink(missing_ok=True)
    data = bytearray((instance / "webui.db").read_bytes())
    data[4096 + 8:4096 + 200] = b"\xff" * 192  # scribble over the table's first page
    (instance / "webui.db").write_bytes(bytes(data))
    result = webui_self.run(host, ProbeSettings(instance_dir="/var/lib/edge-webui"))
    assert result.status is Status.UNHEALTHY
    assert result.summary.startswith("The database failed its check")


def test_webui_self_low_space_and_missing_database(host):
    host.path("/var/lib/edge-webui").mkdir(parents=True)
    host.free["/var/lib/edge-webui"] = (0.001, 90.0)
    result = webui_self.run(host, ProbeSettings(instance_dir="/var/lib/edge-webui"))
    assert result.status is Status.WARNING
    assert "webui.db does not exist yet" in result.summary
    assert "MiB free for support packages" in result.summary


def test_webui_self_missing_instance_and_not_configured(host):
    result = webui_self.run(host, ProbeSettings(instance_dir="/var/lib/nowhere"))
    assert result.status is Status.UNHEALTHY
    assert webui_self.run(host, ProbeSettings()).status is Status.NOT_APPLICABLE


def test_kernel_order_and_flavours():
    from diagnostics.readers.restart import kernel_flavour, kernel_key

    assert kernel_key("6.1.0-10-amd64") > kernel_key("6.1.0-9-amd64")
    assert kernel_key("6.10.1") > kernel_key("6.9.12")
    assert kernel_flavour("6.1.0-18-rt-amd64") == "-rt-amd64"
    assert kernel_flavour("6.1.0-18-amd64") == "-amd64"
    # A directory name without numbers neither crashes nor counts as a kernel version.
    assert kernel_key("extramodules") == () and kernel_flavour("extramodules") == "extramodules"
