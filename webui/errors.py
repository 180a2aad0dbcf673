"""Error answers: pages in the UI's style, ``application/problem+json`` on the API."""

from __future__ import annotations

import errno
import logging

from flask import Flask, Response, current_app, json, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from webui import db
from webui.access import is_api

log = logging.getLogger(__name__)


class ProblemError(HTTPException):
    """An error whose problem document carries extra members (e.g. ``errors`` by field)."""

    def __init__(self, status: int, detail: str, **extra):
        self.code = status
        super().__init__(description=detail)
        self.extra = extra


def problem(status: int, detail: str, title: str | None = None, **extra) -> Response:
    """An RFC 9457 problem document."""
    from http import HTTPStatus

    body = {"type": "about:blank", "title": title or HTTPStatus(status).phrase, "status": status,
            "detail": detail, **extra}
    return Response(json.dumps(body), status=status, mimetype="application/problem+json")


def _answer(status: int, title: str, detail: str) -> Response:
    if is_api() or request.accept_mimetypes.best == "application/json":
        return problem(status, detail, title)
    body = render_template("errors/error.html", status=status, title=title, detail=detail)
    return Response(body, status=status)


def _http_error(exc: HTTPException):
    if isinstance(exc, CSRFError):
        return _answer(400, "Bad Request",
                       f"The form's security token is missing or expired ({exc.description}). "
                       "Reload the page and try again.")
    if isinstance(exc, ProblemError) and is_api():
        return problem(exc.code, exc.description, **exc.extra)
    response = _answer(exc.code or 500, exc.name, exc.description or exc.name)
    if exc.code == 405 and exc.valid_methods:
        response.headers["Allow"] = ", ".join(exc.valid_methods)
    return response


def _storage(problem: db.StorageProblem) -> Response:
    # The storage, not the request, is at fault: say so plainly, with no traceback.
    log.warning("%s %s refused: %s", request.method, request.path, problem)
    monitor = current_app.extensions.get("storage")
    if monitor is not None:
        monitor.noticed(problem)
    status = 507 if isinstance(problem, db.StorageFull) else 503
    titles = {503: "Service Unavailable", 507: "Insufficient Storage"}
    response = _answer(status, titles[status], str(problem))
    if problem.retry_after:
        response.headers["Retry-After"] = str(problem.retry_after)
    return response


# File-system errors that are about the instance storage, not about the request.
_STORAGE_ERRNOS = {errno.ENOSPC: db.StorageFull, errno.EDQUOT: db.StorageFull,
                   errno.EROFS: db.StorageReadOnly}


def _os_error(exc: OSError):
    kind = _STORAGE_ERRNOS.get(exc.errno)
    if kind is None:
        return _unexpected(exc)
    return _storage(kind())


def _unexpected(exc: Exception):
    log.exception("unhandled error on %s %s", request.method, request.path)
    return _http_error(InternalServerError(
        description="Something went wrong on the device. The error is in the web UI log."))


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(db.StorageProblem, _storage)
    app.register_error_handler(OSError, _os_error)
    app.register_error_handler(Exception, _unexpected)
