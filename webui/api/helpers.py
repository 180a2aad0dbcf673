"""Small pieces every API view uses: the JSON body, field errors, admin checks."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, request

from webui.errors import ProblemError
from webui.limits import MAX_ROW_NUMBER, InvalidText, JSONTooDeep, whole_number


class FieldError(ProblemError):
    """422 naming the field and the rule it broke."""

    def __init__(self, field: str, rule: str):
        super().__init__(422, f"{field}: {rule}", errors=[{"field": field, "rule": rule}])
        self.field, self.rule = field, rule


def json_body() -> dict[str, Any]:
    """The request's JSON object, or 400/413/415/422 with a clear detail."""
    if not request.is_json:
        abort(415, description="Send the body as application/json.")
    try:
        data = current_app.json.loads(request.get_data(cache=True))
    except JSONTooDeep as exc:
        abort(400, description=f"The body must have {exc.rule}.")
    except InvalidText as exc:
        raise FieldError(exc.field, exc.rule) from None
    except ValueError:
        data = None
    if not isinstance(data, dict):
        abort(400, description="The body must be a JSON object.")
    return data


def query_number(name: str, default: int, low: int = 0, high: int = MAX_ROW_NUMBER) -> int:
    """A whole-number query parameter within ``low``–``high``; 422 naming it otherwise."""
    text = request.args.get(name)
    if text is None:
        return default
    number = whole_number(text, low, high)
    if number is None:
        raise FieldError(name, f"a whole number from {low} to {high}")
    return number
