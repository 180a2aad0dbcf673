"""Small pieces every API view uses: the JSON body, field errors, admin checks."""

from __future__ import annotations

from typing import Any

from flask import abort, request
from flask_login import current_user

from webui.errors import ProblemError


class FieldError(ProblemError):
    """422 naming the field and the rule it broke."""

    def __init__(self, field: str, rule: str):
        super().__init__(422, f"{field}: {rule}", errors=[{"field": field, "rule": rule}])
        self.field, self.rule = field, rule


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
