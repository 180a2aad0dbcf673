"""Every route, enumerated from the URL map: sign-in required, CSRF enforced, headers set."""

import re
import tempfile
from pathlib import Path

import pytest

from conftest import make_app

PUBLIC = {"auth.sign_in", "static", "dashboard.healthz"}
SAMPLE = {"int": "1", "default": "x", "string": "x", "path": "x", "float": "1.0"}
STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}


def _url(rule) -> str:
    def fill(match):
        converter = match.group(1) or "default"
        return SAMPLE.get(converter, "x")
    return re.sub(r"<(?:(\w+)(?:\([^)]*\))?:)?\w+>", fill, rule.rule)


def _rules(methods):
    with tempfile.TemporaryDirectory() as instance:
        rules = list(make_app(instance).url_map.iter_rules())
    found = []
    for rule in rules:
        for method in sorted((rule.methods or set()) & methods):
            found.append((rule.endpoint, method, _url(rule)))
    return found


GET_ROUTES = [r for r in _rules({"GET"}) if r[0] not in PUBLIC]
CHANGE_ROUTES = _rules(STATE_CHANGING)


@pytest.mark.parametrize(("endpoint", "method", "url"),
                         GET_ROUTES + [r for r in CHANGE_ROUTES if r[0] not in PUBLIC],
                         ids=lambda v: str(v))
def test_signed_out_is_sent_to_sign_in(client, endpoint, method, url):
    response = client.open(url, method=method)
    if url.startswith("/api/v1/") or url == "/metrics":
        assert response.status_code == 401
        assert response.mimetype == "application/problem+json"
    elif method == "GET":
        assert response.status_code in (302, 303)
        assert "/sign-in" in response.headers["Location"]
    else:
        assert response.status_code in (302, 303, 400)


@pytest.mark.parametrize(("endpoint", "method", "url"), CHANGE_ROUTES, ids=lambda v: str(v))
def test_state_change_without_csrf_is_refused(client, auth, endpoint, method, url):
    if endpoint != "auth.sign_in":
        auth.sign_in()
    response = client.open(url, method=method, data={"x": "1"})
    assert response.status_code == 400
    assert "token" in response.get_data(as_text=True).lower()


def test_viewer_cannot_reach_admin_pages(client, auth):
    auth.sign_in_viewer()
    assert client.get("/users/").status_code == 403
    assert auth.post("/users/", {"username": "sneaky", "role": "administrator"}).status_code == 403
    assert auth.api("POST", "/api/v1/tokens", {"name": "x"}).status_code == 403
    assert client.get("/audit").status_code == 200


def test_viewer_does_not_see_users_in_navigation(client, auth):
    auth.sign_in_viewer()
    page = client.get("/").get_data(as_text=True)
    assert "Users and tokens" not in page
    assert "Audit log" in page


@pytest.mark.parametrize("url", ["/sign-in", "/healthz", "/static/css/app.css", "/missing"])
def test_security_headers_on_every_response(client, url):
    with client.get(url) as response:
        headers = response.headers
    csp = headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"]


def test_static_files_are_public(client):
    with client.get("/static/css/app.css") as response:
        assert response.status_code == 200 and response.mimetype == "text/css"


def test_healthz_is_public_and_says_boot_id(client):
    body = client.get("/healthz").get_json()
    assert body["status"] == "ok"
    assert body["boot_id"] == Path("/proc/sys/kernel/random/boot_id").read_text().strip()


def test_error_pages_html_and_problem_json(client, auth):
    auth.sign_in()
    page = client.get("/no/such/page")
    assert page.status_code == 404 and "404" in page.get_data(as_text=True)
    api = client.get("/api/v1/no/such")
    assert api.status_code == 404 and api.mimetype == "application/problem+json"
    wrong = client.put("/api/v1/status")
    assert wrong.status_code in (400, 405)


def test_oversized_body_is_413(client, auth):
    auth.sign_in()
    response = client.post("/sign-in", data={"username": "x" * (2 << 20)})
    assert response.status_code == 413


def test_templates_have_no_inline_script_or_style():
    templates = sorted((Path(__file__).resolve().parent.parent / "templates").rglob("*.html"))
    assert len(templates) > 10  # the scan found the repository's templates
    for path in templates:
        text = path.read_text()
        assert "<style" not in text, path
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), path
        assert " style=" not in text, path
        assert not re.search(r"\son[a-z]+=", text), path
