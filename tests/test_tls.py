"""TLS of the real server (Mozilla "intermediate"): TLS 1.3, TLS 1.2 with AEAD suites only,
curves X25519, P-256 and P-384."""

import socket
import ssl
from urllib.parse import urlsplit

import pytest

AEAD_TLS12 = ["ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
              "ECDHE-ECDSA-CHACHA20-POLY1305"]
CBC_TLS12 = ("ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA:ECDHE-ECDSA-AES128-SHA256:"
             "ECDHE-ECDSA-AES256-SHA384:AES128-SHA:AES256-SHA")


def client_context(version: ssl.TLSVersion, ciphers: str | None = None) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    # A client willing to speak old protocols, so the refusal is the server's.
    context.set_ciphers((ciphers or "ALL") + ":@SECLEVEL=0")
    context.minimum_version = context.maximum_version = version
    return context


def handshake(server, context: ssl.SSLContext) -> tuple[str, str]:
    url = urlsplit(server.url)
    with (socket.create_connection((url.hostname, url.port), timeout=10) as raw,
          context.wrap_socket(raw, server_hostname=url.hostname) as tls):
        return tls.version(), tls.cipher()[0]


def test_tls_1_3_is_accepted(live_server):
    assert handshake(live_server, client_context(ssl.TLSVersion.TLSv1_3))[0] == "TLSv1.3"


@pytest.mark.parametrize("cipher", AEAD_TLS12)
def test_tls_1_2_with_an_aead_suite_is_accepted(live_server, cipher):
    version, chosen = handshake(live_server, client_context(ssl.TLSVersion.TLSv1_2, cipher))
    assert (version, chosen) == ("TLSv1.2", cipher)


def test_tls_1_2_with_cbc_suites_only_is_refused(live_server):
    with pytest.raises(ssl.SSLError):
        handshake(live_server, client_context(ssl.TLSVersion.TLSv1_2, CBC_TLS12))


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1:DeprecationWarning")
@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1])
def test_tls_before_1_2_is_refused(live_server, version):
    with pytest.raises(ssl.SSLError):
        handshake(live_server, client_context(version))


@pytest.mark.parametrize("curve", ["X25519", "prime256v1", "secp384r1"])
def test_each_intermediate_curve_is_accepted(live_server, curve):
    # TLS 1.3: in TLS 1.2 the offered groups also bind the certificate's curve (P-256).
    context = client_context(ssl.TLSVersion.TLSv1_3)
    context.set_ecdh_curve(curve)  # with OpenSSL 3 the client then offers this group only
    assert handshake(live_server, context)[0] == "TLSv1.3"
