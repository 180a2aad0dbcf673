"""Hostile JSON bodies on every JSON endpoint: deep nesting, lone surrogates, oversize bodies.

Each is refused with a 4xx that names the rule (and the field, for text), never a 500.
"""

from __future__ import annotations

import pytest

from webui.support import usb

from support_helpers import file_ticket

DEEP_ARRAY = "[" * 100_000 + "]" * 100_000
DEEP_OBJECT = '{"a":' * 100_000 + "1" + "}" * 100_000
# 33 levels: one more than the bound, and far too shallow to trouble the parser.
JUST_TOO_DEEP = '{"name": ' + "[" * 32 + "]" * 32 + "}"
JSON = {"Content-Type": "application/json"}


def json_routes(app) -> list[tuple[str, str]]:
    """(method, rule) of every API route that takes a body and no path argument."""
    return sorted((method, rule.rule) for rule in app.url_map.iter_rules()
                  if rule.rule.startswith("/api/") and not rule.arguments
                  for method in (rule.methods or set()) & {"POST", "PUT", "PATCH"})


def send(auth, method: str, path: str, text: str | bytes):
    return auth.api(method, path, data=text, headers=JSON)


def test_every_json_route_refuses_deep_nesting_by_its_rule(app, auth):
    auth.sign_in()
    routes = json_routes(app)
    assert ("POST", "/api/v1/tokens") in routes and ("PUT", "/api/v1/connectivity") in routes
    answers = {}
    for method, path in routes:
        for text in (DEEP_ARRAY, DEEP_OBJECT, JUST_TOO_DEEP):
            response = send(auth, method, path, text)
            answers[method, path, text[:6]] = (response.status_code, response.mimetype,
                                               response.get_json()["detail"])
    rule = "The body must have arrays and objects nested at most 32 levels deep."
    assert answers == {key: (400, "application/problem+json", rule) for key in answers}


def test_nesting_within_the_bound_reaches_the_field_checks(auth):
    auth.sign_in()
    response = send(auth, "POST", "/api/v1/tokens",
                    '{"name": ' + "[" * 31 + "]" * 31 + "}")
    assert response.status_code == 422
    assert [error["field"] for error in response.get_json()["errors"]] == ["name"]


@pytest.mark.parametrize(("text", "field"), [
    (r'{"name": "\ud800"}', "name"),
    (r'{"name": "grafana \udfff"}', "name"),
    (r'{"name": "ok", "role": "\udc80viewer"}', "role"),
    (r'{"name": "ok", "extra": {"deep": ["fine", "\ud83d"]}}', "extra.deep[1]"),
    ('{"name": "ok", "\\ud800key": 1}', "\ufffdkey"),
])
def test_lone_surrogate_is_refused_naming_the_field(app, auth, text, field):
    auth.sign_in()
    response = send(auth, "POST", "/api/v1/tokens", text)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    error = response.get_json()["errors"][0]
    assert error["field"] == field and "lone surrogate" in error["rule"]
    assert auth.api("GET", "/api/v1/tokens").get_json()["items"] == []


def test_a_surrogate_pair_is_an_ordinary_character(auth):
    auth.sign_in()
    response = send(auth, "POST", "/api/v1/tokens", r'{"name": "grafana \ud83d\ude00"}')
    assert response.status_code == 201
    assert response.get_json()["name"] == "grafana \U0001f600"


def test_every_json_route_refuses_a_lone_surrogate(app, auth):
    auth.sign_in()
    answers = {}
    for method, path in json_routes(app):
        response = send(auth, method, path, r'{"\u00e9t\u00e9": "\ud800"}')
        answers[method, path] = response.status_code, response.get_json()["errors"][0]["field"]
    assert answers == {key: (422, "été") for key in answers}


def test_every_json_route_refuses_an_oversize_body(app, auth):
    auth.sign_in()
    body = '{"name": "' + "x" * (2 << 20) + '"}'
    answers = {(method, path): send(auth, method, path, body).status_code
               for method, path in json_routes(app)}
    assert answers == {key: 413 for key in answers}


def test_malformed_json_is_still_a_plain_400(auth):
    auth.sign_in()
    for text in ("{", "[1, 2]", "\"text\"", b"\xff\xfe{}", "1" * 5000):
        response = send(auth, "POST", "/api/v1/tokens", text)
        assert response.status_code == 400
        assert response.get_json()["detail"] == "The body must be a JSON object."


def test_ticket_routes_refuse_deep_nesting_and_lone_surrogates(app, auth):
    auth.sign_in()
    ticket = file_ticket(auth)
    for action in ("upload", "usb"):
        path = f"/api/v1/support/tickets/{ticket['id']}/{action}"
        assert send(auth, "POST", path, DEEP_ARRAY).status_code == 400
        surrogate = send(auth, "POST", path, r'{"mount_point": "\udcff"}')
        assert surrogate.status_code == 422
        assert surrogate.get_json()["errors"][0]["field"] == "mount_point"


@pytest.mark.parametrize("mount_point", [["/media/usb"], {"path": "/media/usb"}])
def test_usb_copy_refuses_a_mount_point_that_is_not_text(app, auth, monkeypatch, mount_point):
    monkeypatch.setattr(usb, "removable_drives", lambda: [])
    auth.sign_in()
    ticket = file_ticket(auth)
    response = auth.api("POST", f"/api/v1/support/tickets/{ticket['id']}/usb",
                        {"mount_point": mount_point})
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "mount_point"
