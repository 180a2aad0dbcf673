"""``/api/v1/openapi.json``: the API described from the URL map, so it never lags the code.

Each view's docstring gives the operation's summary (first line) and description (the rest).
"""

from __future__ import annotations

import inspect
import re

from flask import Flask

from webui.limits import MAX_ROW_NUMBER

PARAM = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")
TYPES = {"int": {"type": "integer", "minimum": 0, "maximum": MAX_ROW_NUMBER},
         "float": {"type": "number"}}
PROBLEM = {"description": "Error", "content": {"application/problem+json": {
    "schema": {"$ref": "#/components/schemas/Problem"}}}}


def document(app: Flask) -> dict:
    paths: dict[str, dict] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not (rule.rule.startswith("/api/v1/") or rule.rule == "/metrics"):
            continue
        path = PARAM.sub(lambda m: "{" + m.group(2) + "}", rule.rule)
        parameters = [{"name": name, "in": "path", "required": True,
                       "schema": TYPES.get(converter or "", {"type": "string"})}
                      for converter, name in PARAM.findall(rule.rule)]
        view = app.view_functions[rule.endpoint]
        doc = inspect.getdoc(view) or rule.endpoint.replace("_", " ")
        summary, _, description = doc.partition("\n")
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            operation = {
                "operationId": f"{rule.endpoint}.{method.lower()}",
                "summary": summary.strip(),
                "tags": [rule.rule.split("/")[3] if rule.rule.startswith("/api/") else "metrics"],
                "parameters": parameters,
                "responses": {"200": {"description": "Success"}, "default": PROBLEM},
            }
            if description.strip():
                operation["description"] = description.strip()
            if method in {"POST", "PUT", "PATCH"}:
                operation["requestBody"] = {"content": {"application/json": {
                    "schema": {"type": "object"}}}}
            paths.setdefault(path, {})[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "edge-webui API", "version": app.config["VERSION"],
                 "description": "Local API of the appliance. Authenticate with a session cookie "
                                "plus the X-CSRFToken header, or Authorization: Bearer <token>."},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}, {"session": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "edge_webui_session"},
            },
            "schemas": {"Problem": {"type": "object", "required": ["title", "status", "detail"],
                                    "properties": {
                                        "type": {"type": "string"},
                                        "title": {"type": "string"},
                                        "status": {"type": "integer"},
                                        "detail": {"type": "string"},
                                        "errors": {"type": "array", "items": {
                                            "type": "object", "properties": {
                                                "field": {"type": "string"},
                                                "rule": {"type": "string"}}}}}}},
        },
    }
