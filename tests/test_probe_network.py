"""Network probes against canned hosts: ports, IP settings, cloud endpoints, time."""

import pytest

from diagnostics import ProbeSettings, Status
from diagnostics.clock import KernelClock
from diagnostics.net import SntpAnswer
from diagnostics.probes import (
    internet_connectivity,
    network_interfaces,
    network_settings,
    time_sync,
)
from diagnostics.readers import network

from canned_host import canned

SETTINGS = ProbeSettings(ntp_server="", device_name="edge01")
ENO1 = "/sys/devices/pci0000:00/0000:00:19.0/net/eno1"
ENO2 = "/sys/devices/pci0000:00/0000:02:00.0/net/eno2"


@pytest.fixture
def host(tmp_path):
    return canned(tmp_path)


def test_physical_ports_with_link_are_healthy_and_virtual_ones_ignored(host):
    result = network_interfaces.run(host, SETTINGS)
    assert result.status is Status.HEALTHY
    names = [nic["name"] for nic in result.details["interfaces"]]
    assert names == ["eno1", "eno2"]  # lo and the docker0 bridge are virtual
    eno1 = result.details["interfaces"][0]
    assert eno1["speed_mbps"] == 1000 and eno1["driver"] == "e1000e"


def test_enabled_port_without_carrier_is_a_warning(host):
    host.write(f"{ENO2}/flags", "0x1003")
    host.write(f"{ENO2}/carrier", "0")
    result = network_interfaces.run(host, SETTINGS)
    assert result.status is Status.WARNING
    assert "eno2 has no link" in result.summary
    assert "cable" in result.recommended_action


def test_management_port_without_carrier_is_unhealthy(host):
    host.write(f"{ENO1}/carrier", "0")
    result = network_interfaces.run(host, SETTINGS)
    assert result.status is Status.UNHEALTHY
    assert "eno1 (management) has no link" in result.summary


def test_error_counters_and_half_duplex_are_warnings(host):
    host.write(f"{ENO1}/statistics/rx_errors", "900")
    host.write(f"{ENO1}/duplex", "half")
    result = network_interfaces.run(host, SETTINGS)
    assert result.status is Status.WARNING
    assert "900 errors" in result.summary and "half duplex" in result.summary


def test_container_without_physical_ports_is_not_applicable(tmp_path):
    result = network_interfaces.run(canned(tmp_path, "container"), SETTINGS)
    assert result.status is Status.NOT_APPLICABLE
    assert "virtual" in result.summary
    assert result.details["virtual_interfaces"] == ["eth0", "lo"]


def test_network_settings_read_address_routes_dns_and_neighbours(host):
    result = network_settings.run(host, SETTINGS)
    assert result.status is Status.HEALTHY, result.summary
    assert result.summary == "eno1: 192.168.0.10; gateway 192.168.0.1; 2 DNS server(s)"
    assert result.details["default_routes"] == [
        {"interface": "eno1", "family": "ipv4", "metric": 100, "gateway": "192.168.0.1"}]
    assert result.details["gateways"][0]["by"] == "neighbour table"


def test_gateway_is_asked_over_tcp_when_the_neighbour_table_does_not_know_it(host):
    host.command("ip", 'case "$*" in "-j neigh show") echo "[]";; *) exit 1;; esac')
    host.write("/proc/net/arp", "IP address HW type Flags HW address Mask Device\n")
    host.reachable["192.168.0.1"] = ConnectionRefusedError(111, "Connection refused")
    result = network_settings.run(host, SETTINGS)
    assert result.details["address_source"] is None  # ip failed, psutil is for the live host
    assert result.details["gateways"][0]["answers"] is True
    assert result.details["gateways"][0]["by"] == "TCP port 53"


def test_only_the_management_ports_gateways_are_asked(host):
    host.write("/proc/net/route", "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\n"
               "eno1\t00000000\t0100A8C0\t0003\t0\t0\t100\t00000000\n"
               "eno2\t00000000\t01000A0A\t0003\t0\t0\t200\t00000000\n")
    result = network_settings.run(host, ProbeSettings(management_interface="eno1"))
    assert [g["address"] for g in result.details["gateways"]] == ["192.168.0.1"]
    unnamed = network_settings.run(host, SETTINGS)
    assert [g["address"] for g in unnamed.details["gateways"]] == ["192.168.0.1", "10.10.0.1"]


def test_silent_gateway_is_unhealthy_when_connected(host):
    host.command("ip", 'case "$*" in "-j neigh show") echo "[]";; *) exit 1;; esac')
    host.write("/proc/net/arp", "IP address HW type Flags HW address Mask Device\n")
    result = network_settings.run(host, SETTINGS)
    assert result.status is Status.UNHEALTHY
    assert result.summary == "Gateway 192.168.0.1 does not answer"


def test_missing_address_route_and_dns(host):
    host.command("ip", 'case "$*" in "-j addr show dev eno1") echo "[{\\"addr_info\\": []}]";;'
                       ' *) echo "[]";; esac')
    host.write("/proc/net/route", "Iface\tDestination\tGateway\n")
    host.write("/etc/resolv.conf", "# empty\n")
    result = network_settings.run(host, ProbeSettings(management_interface="eno1"))
    assert result.status is Status.UNHEALTHY
    assert result.summary == "eno1 has no IP address"
    problems = " ".join(result.recommended_action.split())
    assert "DHCP" in problems and "gateway" in problems and "DNS server" in problems


def test_unknown_management_interface_is_unhealthy(host):
    result = network_settings.run(host, ProbeSettings(management_interface="eth9"))
    assert result.status is Status.UNHEALTHY
    assert "eth9 does not exist" in result.summary


def test_resolved_stub_is_followed_to_its_upstream_servers(host):
    host.write("/etc/resolv.conf", "nameserver 127.0.0.53\noptions edns0\n")
    host.write("/run/systemd/resolve/resolv.conf", "nameserver 10.1.1.1\nnameserver 10.1.1.2\n")
    assert network.dns_servers(host) == ["10.1.1.1", "10.1.1.2"]


def test_internet_reachable_endpoints_are_healthy(host):
    host.reachable.update({"api.cloud.example": 0.01, "blob.cloud.example": 0.02})
    settings = ProbeSettings(cloud_endpoints=("api.cloud.example:443", "blob.cloud.example"))
    result = internet_connectivity.run(host, settings)
    assert result.status is Status.HEALTHY
    assert [e["reachable"] for e in result.details["endpoints"]] == [True, True]


def test_internet_one_endpoint_down_is_a_warning_all_down_unhealthy(host):
    host.reachable["api.cloud.example"] = 0.01
    host.unresolvable.add("blob.cloud.example")
    settings = ProbeSettings(cloud_endpoints=("api.cloud.example:443", "blob.cloud.example:443"))
    result = internet_connectivity.run(host, settings)
    assert result.status is Status.WARNING
    assert "blob.cloud.example:443: DNS: name not resolved" in result.summary
    host.reachable.clear()
    result = internet_connectivity.run(host, settings)
    assert result.status is Status.UNHEALTHY
    assert "api.cloud.example:443: TCP 443: timed out" in result.summary


def test_internet_not_applicable_when_fully_disconnected_or_unconfigured(host):
    settings = ProbeSettings(cloud_endpoints=("api.cloud.example:443",),
                             connectivity_mode="fully_disconnected")
    result = internet_connectivity.run(host, settings)
    assert result.status is Status.NOT_APPLICABLE and "fully disconnected" in result.summary
    result = internet_connectivity.run(host, ProbeSettings())
    assert result.status is Status.NOT_APPLICABLE and "No cloud endpoints" in result.summary


SYNCED = KernelClock(True, 0x2001, 0, 12_000, 300)
UNSYNCED = KernelClock(False, 0x40, 5, 16_000_000, 16_000_000)


def test_synchronised_clock_and_answering_server_are_healthy(host):
    host.clock = SYNCED
    host.sntp_answer = SntpAnswer("192.168.0.1", 2, 0.004, 0.001)
    result = time_sync.run(host, ProbeSettings(ntp_server="ntp.branch.example"))
    assert result.status is Status.HEALTHY
    assert result.summary == "Clock synchronised; ntp.branch.example answers, offset +4 ms"
    assert result.details["kernel_clock"]["maxerror_us"] == 12_000


def test_unsynchronised_clock_with_silent_server_is_unhealthy(host):
    host.clock = UNSYNCED
    host.sntp_answer = TimeoutError("timed out")
    result = time_sync.run(host, ProbeSettings(ntp_server="ntp.branch.example"))
    assert result.status is Status.UNHEALTHY
    assert "not synchronised" in result.summary
    assert "ntp.branch.example did not answer (timed out)" in result.summary
    assert "UDP port 123" in result.recommended_action


def test_unsynchronised_clock_with_answering_server_is_a_warning(host):
    host.clock = UNSYNCED
    host.sntp_answer = SntpAnswer("192.168.0.1", 2, 0.2, 0.001)
    result = time_sync.run(host, ProbeSettings(ntp_server="ntp.branch.example"))
    assert result.status is Status.WARNING


def test_large_offset_from_the_server(host):
    host.clock = SYNCED
    host.sntp_answer = SntpAnswer("192.168.0.1", 2, -95.0, 0.001)
    result = time_sync.run(host, ProbeSettings(ntp_server="ntp.branch.example"))
    assert result.status is Status.UNHEALTHY
    assert "-95.0 s off" in result.summary


PRIMARY, SECONDARY = "ntp1.branch.example", "ntp2.branch.example"
BOTH = ProbeSettings(ntp_server=PRIMARY, ntp_secondary=SECONDARY)


def test_both_ntp_servers_are_asked_and_listed(host):
    host.clock = SYNCED
    host.sntp_answers = {PRIMARY: SntpAnswer("192.168.0.1", 2, 0.004, 0.001),
                         SECONDARY: SntpAnswer("192.168.0.2", 3, 0.006, 0.002)}
    result = time_sync.run(host, BOTH)
    assert result.status is Status.HEALTHY
    assert f"{PRIMARY} answers" in result.summary
    servers = result.details["ntp_servers"]
    assert [(s["server"], s["answer"]["stratum"]) for s in servers] == [(PRIMARY, 2),
                                                                          (SECONDARY, 3)]


def test_a_silent_primary_with_an_answering_secondary_is_a_warning(host):
    host.clock = SYNCED
    host.sntp_answers = {PRIMARY: TimeoutError("timed out"),
                         SECONDARY: SntpAnswer("192.168.0.2", 3, 0.006, 0.002)}
    result = time_sync.run(host, BOTH)
    assert result.status is Status.WARNING
    assert f"NTP server {PRIMARY} (primary) did not answer (timed out)" in result.summary
    assert f"(timed out); {SECONDARY} answers" in result.summary
    assert result.details["ntp_error"] == "timed out"


def test_a_silent_secondary_is_named(host):
    host.clock = SYNCED
    host.sntp_answers = {PRIMARY: SntpAnswer("192.168.0.1", 2, 0.004, 0.001),
                         SECONDARY: ConnectionRefusedError(111, "Connection refused")}
    result = time_sync.run(host, BOTH)
    assert result.status is Status.WARNING
    assert f"NTP server {SECONDARY} (secondary) did not answer (connection refused)" \
        in result.summary


def test_no_server_answering_an_unsynchronised_clock_is_unhealthy(host):
    host.clock = UNSYNCED
    host.sntp_answer = TimeoutError("timed out")
    result = time_sync.run(host, BOTH)
    assert result.status is Status.UNHEALTHY
    assert PRIMARY in result.summary and SECONDARY in result.summary


def test_through_a_proxy_cloud_names_need_no_local_dns(host):
    from diagnostics.proxy import Proxy

    proxy = Proxy("proxy.branch.example", 3128, no_proxy=(".local.example",))
    host.unresolvable = {"api.cloud.example", "blob.cloud.example"}
    host.reachable.update({"api.cloud.example": 0.01, "blob.cloud.example": 0.02,
                           "store.local.example": 0.01})
    settings = ProbeSettings(cloud_endpoints=("api.cloud.example:443", "blob.cloud.example",
                                              "store.local.example:443"), proxy=proxy)
    result = internet_connectivity.run(host, settings)
    assert result.status is Status.HEALTHY, result.summary
    assert host.connections == [("api.cloud.example", 443, proxy),
                                ("blob.cloud.example", 443, proxy),
                                ("store.local.example", 443, None)]
    endpoints = {e["endpoint"]: e for e in result.details["endpoints"]}
    assert endpoints["api.cloud.example:443"]["via_proxy"] == "proxy.branch.example:3128"
    assert "addresses" not in endpoints["api.cloud.example:443"]
    assert "via_proxy" not in endpoints["store.local.example:443"]
    assert result.details["proxy"] == "proxy.branch.example:3128"


def test_sntp_query_against_a_loopback_server_measures_the_offset():
    import socket
    import struct
    import threading
    import time

    from diagnostics.net import NTP_EPOCH_OFFSET, sntp_query

    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", 0))
    server.settimeout(5)

    def answer_once():
        request, client = server.recvfrom(512)
        now = time.time() + 5.0  # this server's clock runs 5 s ahead
        stamp = struct.pack("!II", int(now) + NTP_EPOCH_OFFSET, int((now % 1) * 2**32))
        reply = bytes([(4 << 3) | 4, 2, 6, 0xEC]) + bytes(20) + request[40:48] + stamp + stamp
        server.sendto(reply, client)

    threading.Thread(target=answer_once, daemon=True).start()
    try:
        answer = sntp_query("127.0.0.1", server.getsockname()[1], timeout=3)
    finally:
        server.close()
    assert answer.stratum == 2
    assert 4.5 < answer.offset < 5.5


def test_sntp_and_tcp_to_a_closed_loopback_port_are_refused_not_timed_out():
    from diagnostics.net import sntp_query, tcp_connect

    with pytest.raises(ConnectionRefusedError):
        sntp_query("127.0.0.1", 9, timeout=5)
    with pytest.raises(ConnectionRefusedError):
        tcp_connect("127.0.0.1", 9, timeout=5)


def test_kernel_clock_of_this_machine_is_read_without_changing_it():
    from diagnostics import Host

    clock = Host().kernel_clock()
    assert isinstance(clock.synchronised, bool)
    assert clock.maxerror_us >= 0
