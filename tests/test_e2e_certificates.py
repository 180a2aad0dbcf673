"""The running server presents a new certificate on fresh TLS connections as soon as it is
installed, with no restart, and keeps the old one in service when a new pair cannot be loaded."""

from __future__ import annotations

import hashlib
import http.client
import io
import re
import socket
import ssl
import time

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from diagnostics import tls
from webui import instance

from e2e_support import E2E_ADMIN_PASSWORD, start_server

# The server's certificate changes under the tests: it is not verified, on purpose.
pytestmark = [pytest.mark.e2e,
              pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")]

CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
SETTLE_ATTEMPTS = 50


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    started = start_server(tmp_path_factory.mktemp("certificates"))
    yield started
    started.stop()


def address(server) -> tuple[str, int]:
    host, port = server.url.removeprefix("https://").rsplit(":", 1)
    return host, int(port)


def unverified() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def served_fingerprint(server) -> str:
    """The SHA-256 fingerprint of the certificate a fresh TLS connection is given."""
    with socket.create_connection(address(server), timeout=10) as raw, \
            unverified().wrap_socket(raw) as conn:
        return hashlib.sha256(conn.getpeercert(binary_form=True)).digest().hex(":").upper()


def file_fingerprint(server) -> str:
    return tls.read_pem((server.instance / "tls" / "cert.pem").read_bytes())[0] \
        .sha256_fingerprint


@pytest.fixture(scope="module")
def admin(server):
    session = requests.Session()
    session.verify = False
    session.trust_env = False  # no CA bundle or proxy from the environment: loopback only
    session.headers["Referer"] = server.url + "/"  # CSRF over HTTPS checks the referrer
    token = CSRF.search(session.get(server.url + "/sign-in", timeout=10).text).group(1)
    signed_in = session.post(server.url + "/sign-in", timeout=10, data={
        "username": "admin", "password": E2E_ADMIN_PASSWORD, "csrf_token": token})
    assert signed_in.ok
    return session


def csrf(admin, server) -> str:
    return CSRF.search(admin.get(server.url + "/certificates/", timeout=10).text).group(1)


def test_the_console_shows_the_fingerprint_the_server_presents(server):
    assert f"SHA-256 fingerprint: {served_fingerprint(server)}" in server.log.read_text()


def test_a_generated_certificate_is_served_at_once_without_a_restart(server, admin):
    before = served_fingerprint(server)
    # A connection opened before the change carries on with the certificate it was given.
    kept = http.client.HTTPSConnection(*address(server), context=unverified(), timeout=10)
    kept.request("GET", "/healthz")
    assert kept.getresponse().read() is not None
    confirm = admin.get(server.url + "/certificates/generate/confirm", timeout=10)
    token = CSRF.search(confirm.text).group(1)
    done = admin.post(server.url + "/certificates/generate", data={"csrf_token": token},
                      timeout=10)
    assert done.ok and file_fingerprint(server) in done.text
    assert served_fingerprint(server) == file_fingerprint(server) != before
    kept.request("GET", "/healthz")
    assert kept.getresponse().status == 200
    kept.close()
    assert server.process.poll() is None


def test_an_uploaded_certificate_is_served_at_once(server, admin):
    cert, key = instance.self_signed_certificate("edge-e2e")
    answer = admin.post(server.url + "/certificates/upload", timeout=10,
                        data={"csrf_token": csrf(admin, server), "format": "pem"},
                        files={"certificate": ("cert.pem", io.BytesIO(cert)),
                               "key": ("key.pem", io.BytesIO(key))})
    assert answer.ok
    assert served_fingerprint(server) == tls.read_pem(cert)[0].sha256_fingerprint


def test_a_refused_upload_leaves_the_certificate_in_service(server, admin):
    before = served_fingerprint(server)
    cert, _ = instance.self_signed_certificate("edge-e2e")
    _, other_key = instance.self_signed_certificate("edge-e2e")
    answer = admin.post(server.url + "/certificates/upload", timeout=10,
                        data={"csrf_token": csrf(admin, server), "format": "pem"},
                        files={"certificate": ("cert.pem", io.BytesIO(cert + other_key))})
    assert answer.status_code == 422 and "does not match" in answer.text
    assert served_fingerprint(server) == before == file_fingerprint(server)


def test_a_broken_pair_on_disk_leaves_the_old_certificate_in_service(server):
    before = served_fingerprint(server)
    key_path = server.instance / "tls" / "key.pem"
    # Another key in place of the right one: the pair no longer loads.
    other = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())
    key_path.write_bytes(other)
    assert served_fingerprint(server) == before
    status, _ = server.get("/healthz")
    assert status == 200
    for _ in range(SETTLE_ATTEMPTS):  # the worker's log line reaches the file a little later
        if "stays in service" in server.log.read_text():
            break
        time.sleep(0.1)
    assert "the previous one stays in service" in server.log.read_text()
