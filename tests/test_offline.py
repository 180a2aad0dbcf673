"""`make test` runs the suite in a network namespace that holds only loopback."""

import errno
import os
import socket
from pathlib import Path

import pytest

from diagnostics import Host
from diagnostics.probes.software_update_readiness import update_endpoints
from diagnostics.settings import parse_endpoint
from webui.troubleshooting.service import probe_settings

from conftest import make_app

# Set by the Makefile when it runs the tests inside a fresh network namespace.
IN_NAMESPACE = os.environ.get("EDGE_TEST_NETNS") == "loopback-only"
DOCUMENTATION_ADDRESS = ("192.0.2.1", 9)  # TEST-NET-1: no host anywhere answers it


def routes() -> list[str]:
    """IPv4 and IPv6 routes of this namespace, loopback's own IPv6 entries left out."""
    ipv4 = Path("/proc/net/route").read_text().splitlines()[1:]
    ipv6 = [line for line in Path("/proc/net/ipv6_route").read_text().splitlines()
            if line.split()[-1] != "lo"]
    return ipv4 + ipv6


in_namespace = pytest.mark.skipif(not IN_NAMESPACE, reason="not run by `make test` inside a "
                                  "network namespace (no root or no unshare --net here)")


@in_namespace
def test_only_loopback_exists():
    # Asked of the kernel, not of /sys, which still shows the namespace it was mounted in.
    assert [name for _, name in socket.if_nameindex()] == ["lo"]
    assert routes() == []


@in_namespace
def test_a_connection_off_the_machine_fails_at_once():
    if routes():  # a route would let the packet leave: never send it
        pytest.skip("this namespace has a route")
    with socket.socket() as sock, pytest.raises(OSError) as failure:
        sock.settimeout(5)
        sock.connect(DOCUMENTATION_ADDRESS)
    assert failure.value.errno == errno.ENETUNREACH


@in_namespace
def test_loopback_still_works():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.create_connection(server.getsockname(), timeout=5):
            accepted, _ = server.accept()
            accepted.close()


def test_the_test_apps_aim_every_diagnostic_check_at_loopback(tmp_path):
    app = make_app(tmp_path / "instance")
    try:
        settings = probe_settings(app.config)
    finally:
        app.extensions["jobs"].shutdown()
    targets = [settings.ntp_server, *settings.cloud_endpoints, *update_endpoints(Host(), settings)]
    assert {parse_endpoint(target)[0] for target in targets} == {"127.0.0.1"}
    assert settings.management_interface == "lo"  # no gateway to knock at
