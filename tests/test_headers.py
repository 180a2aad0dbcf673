"""Security headers of every answer, and what the real server (gunicorn) says about itself."""

import http.client
import ssl
from urllib.parse import urlsplit

import pytest

DENIED_FEATURES = ("camera", "microphone", "geolocation", "usb", "payment", "serial", "hid",
                   "display-capture", "clipboard-read")


def features(response) -> dict[str, str]:
    policy = response.headers["Permissions-Policy"]
    return dict(item.strip().split("=", 1) for item in policy.split(","))


@pytest.mark.parametrize("path", ["/sign-in", "/healthz", "/api/v1/status", "/no-such-page"])
def test_every_answer_denies_browser_features_and_cross_origin_reads(client, path):
    response = client.get(path)
    allowed = features(response)
    assert all(allowed[name] == "()" for name in DENIED_FEATURES)
    # The copy buttons of one-time secrets are the only use: the UI's own pages, nothing else.
    assert allowed.pop("clipboard-write") == "(self)"
    assert set(allowed.values()) == {"()"}
    assert response.headers["Cross-Origin-Resource-Policy"] == "same-origin"


def test_static_files_are_same_origin_only(client):
    with client.get("/static/css/app.css") as response:
        assert response.headers["Cross-Origin-Resource-Policy"] == "same-origin"


def test_sign_in_page_and_refusals_are_never_cached(client, auth):
    assert client.get("/sign-in").headers["Cache-Control"] == "no-store"
    assert auth.sign_in(password="wrong password entirely").headers["Cache-Control"] == "no-store"
    api = client.get("/api/v1/status")
    assert api.status_code == 401 and api.headers["Cache-Control"] == "no-store"
    token = client.get("/api/v1/status", headers={"Authorization": "Bearer nonsense"})
    assert token.status_code == 401 and token.headers["Cache-Control"] == "no-store"


def test_sign_out_clears_the_browser_cache_and_storage(client, auth):
    auth.sign_in()
    cleared = auth.post("/sign-out").headers["Clear-Site-Data"]
    assert {part.strip() for part in cleared.split(",")} == {'"cache"', '"storage"'}


def test_real_server_sends_no_server_banner(live_server):
    url = urlsplit(live_server.url)
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    for path in ("/healthz", "/sign-in", "/api/v1/status"):
        connection = http.client.HTTPSConnection(url.hostname, url.port, context=context,
                                                 timeout=10)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
        finally:
            connection.close()
        assert response.getheader("Server") is None, path
        assert response.getheader("Permissions-Policy"), path


def test_real_server_answers_stay_framed_on_one_kept_alive_connection(live_server):
    # Headers and body leave in one write: several answers in a row on one connection, with
    # and without a body, must each end where their framing says.
    url = urlsplit(live_server.url)
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    connection = http.client.HTTPSConnection(url.hostname, url.port, context=context,
                                             timeout=10)
    try:
        answers = []
        for method, path in (("GET", "/healthz"), ("HEAD", "/healthz"),
                             ("GET", "/api/v1/status"), ("GET", "/sign-in"),
                             ("GET", "/healthz")):
            connection.request(method, path)
            response = connection.getresponse()
            answers.append((method, path, response.status, response.read(),
                            response.getheader("Content-Length")))
    finally:
        connection.close()
    for method, path, status, body, length in answers:
        assert status in (200, 401), (method, path, status)
        if method == "HEAD":
            assert body == b""
        else:
            assert body and len(body) == int(length), (method, path)
    assert b'"status"' in answers[0][3] and b'"status"' in answers[-1][3]


class _Socket:
    def __init__(self):
        self.writes: list[bytes] = []

    def sendall(self, data: bytes) -> None:
        self.writes.append(data)


class _Response:
    """gunicorn's Response, as far as the write path reads it."""

    def __init__(self, chunked=False, length=None):
        self.headers_sent, self.chunked, self._omits_body = False, chunked, False
        self.response_length, self.sent = length, 0
        self.sock = _Socket()
        self.headers = [("Content-Type", "application/json")]

    def default_headers(self):
        return ["HTTP/1.1 200 OK\r\n", "Connection: keep-alive\r\n"]

    def send_headers(self):
        self.sock.sendall(b"".join(line.encode() for line in self.default_headers()))
        self.headers_sent = True


def test_headers_and_the_first_body_bytes_leave_in_one_write():
    from webui.server import _write_headers_with_body

    response = _Response(length=5)
    _write_headers_with_body(response, b"hello, and more than the length")
    assert response.sock.writes == [b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n"
                                    b"Content-Type: application/json\r\n\r\nhello"]
    assert response.headers_sent and response.sent == 5


def test_chunked_answers_keep_gunicorns_own_framing(monkeypatch):
    from webui import server

    written = []
    monkeypatch.setattr(server, "_gunicorn_write",
                        lambda response, data: written.append((response, data)))
    response = _Response(chunked=True)
    server._write_headers_with_body(response, b"part")
    assert written == [(response, b"part")] and response.sock.writes == []
