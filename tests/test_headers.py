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
