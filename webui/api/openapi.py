"""``/api/v1/openapi.json``: written from the URL map and each view's typed operation.

The summary is the first line of the view's docstring, the description the rest; parameters,
bodies and answers come from the pydantic models the view is checked against.
"""

from __future__ import annotations

import inspect
import re
from http import HTTPStatus

from flask import Flask
from pydantic.json_schema import GenerateJsonSchema
from werkzeug.routing import Rule

from webui.api.contract import SAFE_METHODS, Operation
from webui.limits import MAX_ROW_NUMBER

PARAM = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")
PATH_TYPES = {"int": {"type": "integer", "minimum": 0, "maximum": MAX_ROW_NUMBER},
              "float": {"type": "number"}}
# Werkzeug's default converter: one non-empty path segment.
SEGMENT = {"type": "string", "minLength": 1, "pattern": "^[^/]+$"}
REF = "#/components/schemas/{model}"

TAGS = {
    "device": "Identity, hardware and live usage of the device.",
    "diagnostics": "The diagnostic tests and their runs.",
    "health": "The device's health: the latest result of each diagnostic test.",
    "alerts": "The device's alert list: raised by its rules, cleared when the cause goes, "
              "acknowledged by an administrator with a note.",
    "power": "Restart or shut down, now or later.",
    "connectivity": "How connected the device is to the cloud.",
    "settings": "The settings made on site: device name, time, web proxy and endpoints, each "
                "with where its value comes from.",
    "system": "The host's name, time zone and NTP servers, changed through a backend.",
    "copy logs": "Logs of data copied and uploaded, with their errors explained.",
    "support": "Support packages, tickets, uploads and copies to USB drives.",
    "tokens": "API tokens for scripts and fleet monitors.",
    "users": "Accounts and their roles.",
    "audit": "Who did what, when, from where.",
    "metrics": "Prometheus metrics.",
    "api": "This description.",
}

# Each error status, described once in components.responses and referenced.
ERRORS = {
    400: ("BadRequest", "The body is not a JSON object, is nested too deep, or the CSRF "
                        "header is missing (session callers)."),
    401: ("Unauthorized", "No session or bearer token, or one that is unknown, revoked or "
                          "expired."),
    403: ("Forbidden", "The role does not allow it, the one-time password must be changed "
                       "first, or the connectivity mode refuses remote management."),
    404: ("NotFound", "No such resource."),
    409: ("Conflict", "The resource is in a state that does not allow it (`detail` says which)."),
    413: ("ContentTooLarge", "The request body is larger than the device accepts."),
    415: ("UnsupportedMediaType", "The body is not `application/json`."),
    422: ("UnprocessableContent", "A field or parameter breaks a rule: `errors` names each "
                                  "with its rule."),
    429: ("TooManyRequests", "Too many attempts; `Retry-After` says when to try again."),
    502: ("BadGateway", "A backend of the device (power, upload endpoint) failed."),
    503: ("ServiceUnavailable", "The database is busy or read-only; `Retry-After` says when "
                               "to try again when it is busy."),
    507: ("InsufficientStorage", "No room left on the device's instance volume."),
}

PROBLEM = {
    "type": "object", "title": "Problem",
    "description": "An RFC 9457 problem document; some carry more members (named in the "
                   "operation's description).",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "errors": {"type": "array", "items": {
            "type": "object", "required": ["field", "rule"],
            "properties": {"field": {"type": "string"}, "rule": {"type": "string"}}}},
    },
    "additionalProperties": True,
}
RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before trying again.",
                               "schema": {"type": "integer", "minimum": 0}}}
LOCATION = {"description": "Where to follow the work that was accepted.",
            "schema": {"type": "string"}}


def operations(app: Flask) -> list[tuple[Rule, str, object]]:
    """Every (rule, method, view) the document describes: ``/api/v1`` and ``/metrics``."""
    found = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not (rule.rule.startswith("/api/v1/") or rule.rule == "/metrics"):
            continue
        view = app.view_functions[rule.endpoint]
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((rule, method, view))
    return found


def document(app: Flask) -> dict:
    described = operations(app)
    schemas, refs = _schemas(op for _, _, view in described
                             if (op := getattr(view, "operation", None)) is not None)
    paths: dict[str, dict] = {}
    for rule, method, view in described:
        path = PARAM.sub(lambda m: "{" + m.group(2) + "}", rule.rule)
        paths.setdefault(path, {})[method.lower()] = _operation(rule, method, view, schemas, refs)
    # Query models are spelt out as parameters, so they need no schema of their own.
    for _, _, view in described:
        query = getattr(getattr(view, "operation", None), "query", None)
        if query is not None:
            schemas.pop(_name(refs[(query, "validation")]), None)
    return {
        "openapi": "3.1.0",
        "info": {"title": "edge-webui API", "version": app.config["VERSION"],
                 "description": "Local API of the appliance. Authenticate with "
                                "`Authorization: Bearer <token>` (create tokens under Users), "
                                "or with the session cookie of a signed-in browser plus the "
                                "`X-CSRFToken` header on requests that change something. "
                                "Errors are `application/problem+json` (RFC 9457)."},
        "servers": [{"url": "/"}],
        "tags": [{"name": name, "description": text} for name, text in TAGS.items()],
        "security": [{"bearer": []}, {"session": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer",
                           "description": "An API token (`edge-webui token create`, or Users "
                                          "→ API tokens)."},
                "session": {"type": "apiKey", "in": "cookie", "name": "edge_webui_session"},
                "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRFToken",
                         "description": "The CSRF token of the signed-in page; needed with "
                                        "the session cookie on POST, PUT and DELETE."},
            },
            "schemas": {"Problem": PROBLEM, **schemas},
            "responses": {name: _problem_response(status, text)
                          for status, (name, text) in ERRORS.items()},
        },
    }


def _schemas(declared) -> tuple[dict, dict]:
    """JSON Schemas of every model, named once; ``refs`` maps (model, mode) to its schema."""
    from pydantic import TypeAdapter

    inputs, seen = [], set()
    for op in declared:
        for model, mode in [(op.query, "validation"), (op.body, "validation"),
                            *((answer.model, "serialization") for answer in op.answers.values())]:
            if model is not None and (model, mode) not in seen:
                seen.add((model, mode))
                inputs.append((model, mode, TypeAdapter(model).core_schema))
    generator = GenerateJsonSchema(ref_template=REF)
    refs, definitions = generator.generate_definitions(inputs)
    return definitions, refs


def _operation(rule: Rule, method: str, view, schemas: dict, refs: dict) -> dict:
    doc = inspect.getdoc(view) or rule.endpoint.replace("_", " ")
    summary, _, description = doc.partition("\n")
    declared: Operation | None = getattr(view, "operation", None)
    public = getattr(view, "is_public", False)
    described = {"operationId": f"{rule.endpoint}.{method.lower()}",
                 "summary": summary.strip(),
                 "parameters": _path_parameters(rule)}
    if description.strip():
        described["description"] = description.strip()
    if public:
        described["security"] = []
    elif method not in SAFE_METHODS:
        described["security"] = [{"bearer": []}, {"session": [], "csrf": []}]
    if getattr(view, "admin_only", False):
        described["description"] = ("Administrators only. "
                                    + described.get("description", "")).strip()
    if declared is None:
        described["responses"] = {"200": {"description": "Success"}}
        return described
    described["tags"] = [declared.tag]
    if declared.query is not None:
        described["parameters"] += _query_parameters(declared.query, schemas, refs)
    if declared.body is not None:
        media = {"schema": refs[(declared.body, "validation")]}
        if declared.example is not None:
            media["example"] = declared.example
        described["requestBody"] = {"required": declared.body_required,
                                    "content": {"application/json": media}}
    described["responses"] = {
        **{str(status): _answer(answer, refs) for status, answer in declared.answers.items()},
        **{str(status): {"$ref": f"#/components/responses/{ERRORS[status][0]}"}
           for status in declared.error_statuses(method, public)}}
    return described


def _path_parameters(rule: Rule) -> list[dict]:
    return [{"name": name, "in": "path", "required": True,
             "schema": PATH_TYPES.get(converter or "", SEGMENT)}
            for converter, name in PARAM.findall(rule.rule)]


def _query_parameters(model, schemas: dict, refs: dict) -> list[dict]:
    schema = schemas[_name(refs[(model, "validation")])]
    required = set(schema.get("required", ()))
    parameters = []
    for field, field_schema in schema.get("properties", {}).items():
        parameter = {"name": field, "in": "query", "required": field in required,
                     "schema": _query_schema(field_schema)}
        if "description" in field_schema:
            parameter["description"] = field_schema["description"]
        parameters.append(parameter)
    return parameters


def _query_schema(field_schema: dict) -> dict:
    """A parameter's schema: a query string cannot say null, so "or null" is left out."""
    schema = {k: v for k, v in field_schema.items() if k not in ("description", "title")}
    branches = [b for b in schema.pop("anyOf", []) if b.get("type") != "null"]
    if len(branches) == 1:
        schema.update(branches[0])
    elif branches:
        schema["anyOf"] = branches
    if schema.get("default", "") is None:
        del schema["default"]
    return schema


def _name(ref: dict) -> str:
    return ref["$ref"].rsplit("/", 1)[1]


def _answer(answer, refs: dict) -> dict:
    described: dict = {"description": answer.description}
    if answer.model is not None:
        described["content"] = {answer.media_type: {
            "schema": refs[(answer.model, "serialization")]}}
    if answer.headers:
        described["headers"] = {header: LOCATION if header == "Location" else
                                {"schema": {"type": "string"}} for header in answer.headers}
    return described


def _problem_response(status: int, text: str) -> dict:
    described = {"description": f"{HTTPStatus(status).phrase}: {text}",
                 "content": {"application/problem+json": {
                     "schema": {"$ref": "#/components/schemas/Problem"}}}}
    if status in (429, 503):
        described["headers"] = RETRY_AFTER
    return described
