"""Typed API operations: pydantic models for the query, the body and every answer.

``@operation`` checks what comes in against the models, checks what goes out against them, and
``webui.api.openapi`` writes ``/api/v1/openapi.json`` from the same models: the document cannot
say one thing while the code does another.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import wraps
from typing import Annotated, Any, Generic, TypeVar

from flask import Response, request
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter, ValidationError

from webui.api.helpers import FieldError, json_body
from webui.errors import ProblemError
from webui.limits import MAX_ROW_NUMBER, whole_number

JSON = "application/json"
# Statuses any signed-in operation can answer: no or a bad credential, a role or a
# connectivity mode that refuses it, the database busy or read-only.
SIGNED_IN_ERRORS = (401, 403, 503)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# What a JSON body adds: malformed (400, a missing CSRF header too), too large, not JSON,
# against the rules, and no room to store what it asks for.
BODY_ERRORS = (400, 413, 415, 422, 507)


# Every model is built on its first use, not at import: a worker starts faster and holds in
# memory only the schemas of the operations that have been called.
class Strict(BaseModel):
    """A request model: unknown fields are refused, as a typo would otherwise go unnoticed."""

    model_config = ConfigDict(extra="forbid", defer_build=True)


class Out(BaseModel):
    """An answer model: what is sent is what is documented, no more."""

    model_config = ConfigDict(extra="forbid", defer_build=True)


def _whole_number_text(value: Any) -> Any:
    # Query values are text: only plain digits are a number ("5.0", "+5" or "5_0" are not).
    if isinstance(value, str):
        number = whole_number(value, 0, MAX_ROW_NUMBER)
        if number is None:
            raise ValueError("a whole number written with digits only")
        return number
    return value


QueryNumber = Annotated[int, BeforeValidator(_whole_number_text)]


class Paging(Strict):
    """``page`` (from 1) and ``per_page``: every list of the API pages the same way."""

    model_config = ConfigDict(extra="ignore")
    page: QueryNumber = Field(1, ge=1, le=1_000_000, description="Page number, from 1.")
    per_page: QueryNumber = Field(50, ge=1, le=500, description="Items per page.")

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


Item = TypeVar("Item")


class Page(Out, Generic[Item]):
    """One page of a list: its items, the total across pages, and where this page is."""

    total: int = Field(ge=0, description="Items across all pages.")
    page: int = Field(ge=1)
    per_page: int = Field(ge=1)
    items: list[Item]

    @classmethod
    def of(cls, paging: Paging, total: int, items: Iterable[Any]) -> Page:
        return cls(total=total, page=paging.page, per_page=paging.per_page, items=list(items))

    @classmethod
    def sliced(cls, paging: Paging, everything: list[Any]) -> Page:
        """A page cut from a list that is small enough to hold whole."""
        return cls.of(paging, len(everything),
                      everything[paging.offset:paging.offset + paging.per_page])


@dataclass(frozen=True)
class Answer:
    """One documented answer: its body model (None: no body), media type and headers."""

    model: Any = None
    description: str = "Success"
    media_type: str = JSON
    headers: tuple[str, ...] = ()

    def adapter(self) -> TypeAdapter:
        return _adapter(self.model)


_ADAPTERS: dict[Any, TypeAdapter] = {}


def _adapter(model: Any) -> TypeAdapter:
    adapter = _ADAPTERS.get(model)
    if adapter is None:
        adapter = _ADAPTERS[model] = TypeAdapter(model)
    return adapter


@dataclass(frozen=True)
class Reply:
    """A view's answer when it is not the operation's usual one: another status, a Location."""

    body: Any
    status: int
    location: str | None = None


@dataclass
class Operation:
    """What ``/api/v1/openapi.json`` says of one view, and what its wrapper enforces."""

    tag: str
    answers: dict[int, Answer]
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    body_required: bool = True
    errors: tuple[int, ...] = ()
    example: dict | None = None

    @property
    def success(self) -> int:
        return min(self.answers)

    def statuses(self, method: str, public: bool) -> set[int]:
        """Every status the operation can answer, successes and errors."""
        return set(self.answers) | set(self.error_statuses(method, public))

    def error_statuses(self, method: str, public: bool) -> list[int]:
        statuses = set(self.errors)
        if not public:
            statuses.update(SIGNED_IN_ERRORS)
            if method not in SAFE_METHODS:
                statuses.add(400)  # a session caller without the CSRF header
        if self.body is not None:
            statuses.update(BODY_ERRORS)
        if self.query is not None:
            statuses.add(422)
        return sorted(statuses)


def operation(tag: str, answers: dict[int, Any] | Any = None, *, query=None, body=None,
              body_required: bool = True, errors: Iterable[int] = (),
              example: dict | None = None) -> Callable:
    """Declare a view as an API operation of ``tag``.

    ``answers`` maps each success status to an :class:`Answer` or a bare model (JSON); a bare
    model means ``{200: model}``. The view receives ``query=`` and ``body=`` as validated
    models and returns a model, a dict the answer's model accepts, a :class:`Reply`, or a
    ready Response (a download).
    """
    if not isinstance(answers, dict):
        answers = {200: answers}
    declared = Operation(
        tag=tag, query=query, body=body, body_required=body_required, errors=tuple(errors),
        example=example,
        answers={status: answer if isinstance(answer, Answer) else Answer(answer)
                 for status, answer in answers.items()})

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def run(**path):
            if declared.query is not None:
                path["query"] = _validated(declared.query, request.args.to_dict(), strict=False)
            if declared.body is not None:
                path["body"] = _body(declared)
            return _respond(declared, view(**path))

        run.operation = declared
        return run
    return decorate


def _body(declared: Operation) -> BaseModel:
    if not declared.body_required and not request.get_data(cache=True):
        return declared.body()
    return _validated(declared.body, _whole_floats_as_int(json_body()), strict=True)


def _whole_floats_as_int(value: Any) -> Any:
    """JSON does not tell 994 from 994.0, so neither may we (nesting is bounded at 32)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _whole_floats_as_int(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_whole_floats_as_int(item) for item in value]
    return value


def _validated(model: type[BaseModel], data: dict, *, strict: bool) -> BaseModel:
    try:
        return model.model_validate(data, strict=strict)
    except ValidationError as exc:
        raise _field_errors(exc) from None


def _field_errors(exc: ValidationError) -> ProblemError:
    errors = [{"field": ".".join(str(part) for part in error["loc"]) or "body",
               "rule": _rule(error)} for error in exc.errors(include_url=False)]
    if len(errors) == 1:
        return FieldError(errors[0]["field"], errors[0]["rule"])
    return ProblemError(422, "; ".join(f"{e['field']}: {e['rule']}" for e in errors),
                        errors=errors)


def _rule(error: dict) -> str:
    if error["type"] == "extra_forbidden":
        return "not a field of this request"
    if error["type"] == "missing":
        return "required"
    message = error["msg"]
    return message.removeprefix("Value error, ")


def _respond(declared: Operation, result: Any) -> Response:
    if isinstance(result, Response):
        return result
    status, location = declared.success, None
    if isinstance(result, Reply):
        result, status, location = result.body, result.status, result.location
    answer = declared.answers[status]
    if answer.model is None:
        response = Response(status=status)
        response.headers.remove("Content-Type")
    else:
        adapter = answer.adapter()
        typed = isinstance(answer.model, type) and isinstance(result, answer.model)
        checked = result if typed else adapter.validate_python(result)
        response = Response(adapter.dump_json(checked, by_alias=True), status=status,
                            mimetype=answer.media_type)
    if location is not None:
        response.headers["Location"] = location
    return response

