"""Small pieces every API view uses: the JSON body, field errors, admin checks."""

from __future__ import annotations

from typing import Any

from flask import abort, request
from flask_login import current_user
from werkzeug.exceptions import HTTPException

from webui.errors import problem


class FieldError(HTTPException):
    """422 naming the field and the rule it broke."""

    code = 422

    def __init__(self, field: str, rule: str):
        super().__init__(description=f"{field}: {rule}")
        self.field, self.rule = field, rule

    def get_response(self, environ=None, scope=None):
        return problem(422, self.description, errors=[{"field": self.field, "rule": self.rule}])


def json_body() -> dict[str, Any]:
    """The request's JSON object, or 400/415 with a clear detail."""
    if not request.is_json:
        abort(415, description="Send the body as application/json.")
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        abort(400, description="The body must be a JSON object.")
    return data


def require_admin() -> None:
    if not current_user.is_admin:
        abort(403, description="This needs the administrator role.")
