"""The web proxy: which hosts bypass it, the CONNECT tunnel through a real proxy on loopback,
and the cloud and update checks going through it as soon as the admin sets it."""

from __future__ import annotations

import socket

import pytest

from diagnostics import Host, ProbeSettings, Status
from diagnostics.probes import internet_connectivity, software_update_readiness
from diagnostics.proxy import Proxy, ProxyError, applies, tunnel

from conftest import AuthActions, finished
from network_peers import ConnectProxy

CLOUD = "management.cloud.example"
PASSWORD = "proxy pass 0c4a"


@pytest.mark.parametrize(("no_proxy", "host", "bypassed"), [
    ((), "api.example.com", False),
    (("api.example.com",), "api.example.com", True),
    (("api.example.com",), "API.Example.com.", True),
    (("example.com",), "api.example.com", True),
    ((".example.com",), "api.example.com", True),
    ((".example.com",), "example.com", True),
    (("example.com",), "notexample.com", False),
    (("example.com",), "example.com.evil.net", False),
    (("10.0.0.0/8",), "10.20.30.40", True),
    (("10.0.0.0/8",), "11.0.0.1", False),
    (("192.168.1.5",), "192.168.1.5", True),
    (("1.5",), "192.168.1.5", False),  # a name suffix never matches part of an address
    (("2001:db8::1",), "[2001:db8::1]", True),
    (("*",), "anything.example", True),
])
def test_the_no_proxy_list(no_proxy, host, bypassed):
    proxy = Proxy("proxy.example", 3128, no_proxy=no_proxy)
    assert proxy.bypasses(host) is bypassed
    assert applies(proxy, host) is not bypassed


def test_a_proxy_from_its_url_with_credentials():
    proxy = Proxy.from_url("http://proxy.example:3128", "ed ge", "p@ss:word", [".lan"])
    assert (proxy.host, proxy.port, proxy.no_proxy) == ("proxy.example", 3128, (".lan",))
    assert proxy.url() == "http://ed%20ge:p%40ss%3Aword@proxy.example:3128"
    assert proxy.authorization() == "Basic ZWQgZ2U6cEBzczp3b3Jk"
    assert "p@ss" not in repr(proxy)
    assert Proxy.from_url("") is None
    assert Proxy.from_url("http://proxy.example:3128").authorization() is None
    for bad in ("https://proxy.example:3128", "http://proxy.example", "proxy.example:3128"):
        with pytest.raises(ValueError):
            Proxy.from_url(bad)


@pytest.fixture
def service():
    """A TCP service on loopback that accepts and says hello."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(5)
    yield listener
    listener.close()


@pytest.fixture
def proxy(service):
    peer = ConnectProxy(routes={f"{CLOUD}:443": service.getsockname()},
                        credentials=("edge", PASSWORD))
    yield peer
    peer.stop()


def as_proxy(peer: ConnectProxy, password=PASSWORD, no_proxy=()) -> Proxy:
    return Proxy.from_url(peer.url, "edge", password, no_proxy)


def test_the_tunnel_carries_bytes_both_ways(proxy, service):
    with tunnel(as_proxy(proxy), CLOUD, 443, 5) as sock:
        peer, _ = service.accept()
        with peer:
            peer.sendall(b"hello")
            assert sock.recv(5) == b"hello"
            sock.sendall(b"there")
            assert peer.recv(5) == b"there"
    assert proxy.targets == [f"{CLOUD}:443"]


def test_the_proxy_asking_for_credentials_is_named(proxy):
    with pytest.raises(ProxyError, match=r"answered 407 .*user and password"):
        tunnel(as_proxy(proxy, password="wrong"), CLOUD, 443, 5)
    assert proxy.tunnels == [(f"{CLOUD}:443", 407)]


def test_a_proxy_that_is_not_there_is_named():
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with pytest.raises(ProxyError, match=rf"the proxy 127.0.0.1:{port} cannot be reached"):
        tunnel(Proxy("127.0.0.1", port), CLOUD, 443, 2)


def test_the_cloud_check_goes_through_the_proxy(proxy):
    settings = ProbeSettings(cloud_endpoints=(f"{CLOUD}:443",), proxy=as_proxy(proxy))
    result = internet_connectivity.run(Host(), settings)
    assert result.status is Status.HEALTHY, result.summary
    [endpoint] = result.details["endpoints"]
    assert endpoint["reachable"] and endpoint["via_proxy"] == proxy.url.removeprefix("http://")
    assert proxy.targets == [f"{CLOUD}:443"]


def test_the_no_proxy_list_reaches_an_endpoint_directly(proxy, service):
    port = service.getsockname()[1]
    settings = ProbeSettings(cloud_endpoints=(f"127.0.0.1:{port}",),
                             proxy=as_proxy(proxy, no_proxy=["127.0.0.1"]))
    result = internet_connectivity.run(Host(), settings)
    assert result.status is Status.HEALTHY, result.summary
    assert "via_proxy" not in result.details["endpoints"][0]
    assert proxy.tunnels == []


def test_a_refusing_proxy_makes_the_cloud_check_unhealthy(proxy):
    settings = ProbeSettings(cloud_endpoints=(f"{CLOUD}:443",),
                             proxy=as_proxy(proxy, password="wrong"))
    result = internet_connectivity.run(Host(), settings)
    assert result.status is Status.UNHEALTHY
    assert "answered 407" in result.summary


def test_the_update_check_goes_through_the_proxy(proxy):
    settings = ProbeSettings(update_endpoints=(f"{CLOUD}:443",), proxy=as_proxy(proxy))
    result = software_update_readiness.run(Host(), settings)
    [source] = result.details["update_sources"]
    assert source["reachable"] and "via_proxy" in source
    assert proxy.targets == [f"{CLOUD}:443"]


def test_a_proxy_set_in_the_api_is_used_by_the_next_run(site_app, proxy):
    admin = AuthActions(site_app.test_client())
    admin.sign_in()
    answer = admin.api("PATCH", "/api/v1/settings", {
        "proxy_url": proxy.url, "proxy_user": "edge", "proxy_password": PASSWORD,
        "cloud_endpoints": [f"{CLOUD}:443"]})
    assert answer.status_code == 200, answer.get_json()
    started = admin.api("POST", "/api/v1/diagnostics/runs", {"tests": ["internet_connectivity"]})
    assert started.status_code == 202, started.get_json()
    run = finished(admin.client, f"/api/v1/diagnostics/runs/{started.get_json()['id']}")
    [result] = run["results"]
    assert result["status"] == "healthy", result["summary"]
    assert proxy.targets == [f"{CLOUD}:443"]
    assert PASSWORD not in str(run)
