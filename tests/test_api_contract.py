"""The OpenAPI document says everything a script needs: typed parameters, bodies and answers,
every status, security, tags, examples; and the checks behind it hold."""

from __future__ import annotations

import pytest

from webui.api import contract, openapi

from conftest import UNDOCUMENTED

STATUSES = {"200", "201", "202", "204", "400", "401", "403", "404", "409", "413", "415", "422",
            "429", "502", "503", "507"}


@pytest.fixture
def document(app):
    with app.test_request_context():
        return openapi.document(app)


def _operations(document):
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def _resolve(document, schema: dict) -> dict:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def test_every_api_route_is_a_typed_operation(app):
    untyped = [f"{method} {rule.rule}" for rule, method, view in openapi.operations(app)
               if getattr(view, "operation", None) is None]
    assert untyped == []


def test_every_body_is_a_typed_object_with_an_example(document):
    for path, method, operation in _operations(document):
        body = operation.get("requestBody")
        if body is None:
            continue
        media = body["content"]["application/json"]
        schema = _resolve(document, media["schema"])
        assert schema.get("properties"), f"{method} {path}: untyped body"
        assert schema.get("additionalProperties") is False, f"{method} {path}"
        assert "example" in media, f"{method} {path}: no example"


def test_every_answer_has_a_schema_and_every_status_is_known(document):
    for path, method, operation in _operations(document):
        responses = operation["responses"]
        assert set(responses) <= STATUSES, f"{method} {path}"
        assert "default" not in responses
        for status, answer in responses.items():
            if "$ref" in answer:
                assert answer["$ref"].startswith("#/components/responses/")
                continue
            assert status.startswith("2"), f"{method} {path} {status}"
            if status == "204":
                assert "content" not in answer
                continue
            (media, described), = answer["content"].items()
            assert described["schema"], f"{method} {path} {status}"
            if status == "202":
                assert "Location" in answer["headers"], f"{method} {path}: 202 without Location"


def test_delete_answers_204_and_lists_page_alike(document):
    for path, method, operation in _operations(document):
        successes = {s for s in operation["responses"] if s.startswith("2")}
        if method == "delete":
            assert successes == {"204"}, path
        answer = operation["responses"].get("200", {}).get("content", {}).get(
            "application/json")
        if answer and set(_resolve(document, answer["schema"]).get("properties", {})) >= {
                "items", "total"}:
            names = {p["name"] for p in operation["parameters"] if p["in"] == "query"}
            assert {"page", "per_page"} <= names, f"{method} {path}"


def test_problems_are_described_once_and_referenced(document):
    responses = document["components"]["responses"]
    for name, response in responses.items():
        schema = response["content"]["application/problem+json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/Problem"}, name
    assert {"title", "status", "detail"} <= set(document["components"]["schemas"]["Problem"][
        "required"])


def test_security_tags_and_version(app, document):
    assert document["info"]["version"] == app.config["VERSION"]
    assert set(document["components"]["securitySchemes"]) == {"bearer", "session", "csrf"}
    tags = {tag["name"] for tag in document["tags"]}
    for path, method, operation in _operations(document):
        assert operation["summary"] and set(operation["tags"]) <= tags, f"{method} {path}"
        if method != "get":
            assert {"session": [], "csrf": []} in operation["security"], f"{method} {path}"


def test_admin_operations_say_so(document):
    create = document["paths"]["/api/v1/tokens"]["post"]
    assert create["description"].startswith("Administrators only.")
    assert "Administrators" not in document["paths"]["/api/v1/status"]["get"].get(
        "description", "")


def test_query_parameters_carry_their_bounds_and_defaults(document):
    parameters = {p["name"]: p for p in document["paths"]["/api/v1/audit"]["get"]["parameters"]}
    assert parameters["per_page"]["schema"] == {"type": "integer", "minimum": 1,
                                                "maximum": 500, "default": 50}
    assert parameters["from"]["schema"] == {"type": "string", "format": "date"}


def test_served_document_is_the_written_one(client, auth, document):
    auth.sign_in_viewer()
    served = client.get("/api/v1/openapi.json")
    assert served.status_code == 200 and served.get_json() == document


def test_an_undocumented_status_is_noticed(client, auth, monkeypatch):
    auth.sign_in_viewer()
    # A viewer may not list tokens: 403 is documented, so nothing is noted.
    assert client.get("/api/v1/tokens").status_code == 403
    assert UNDOCUMENTED == []
    monkeypatch.setattr(contract, "SIGNED_IN_ERRORS", (401, 503))
    try:
        assert client.get("/api/v1/tokens").status_code == 403
        assert UNDOCUMENTED == ["GET /api/v1/tokens answered 403"]
    finally:
        UNDOCUMENTED.clear()
