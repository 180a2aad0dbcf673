"""Error answers: pages in the UI's style, ``application/problem+json`` on the API."""

from __future__ import annotations

import errno
import logging
from http import HTTPStatus

from flask import Flask, Response, current_app, json, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError, NotFound

from webui import db
from webui.access import is_api

log = logging.getLogger(__name__)


class ProblemError(HTTPException):
    """An error whose problem document carries extra members (e.g. ``errors`` by field)."""

    def __init__(self, status: int, detail: str, **extra):
        self.code = status
        super().__init__(description=detail)
        self.extra = extra


def found_or_404(value, description: str = "Not found."):
    """``value``, or a 404 with ``description`` when it is None."""
    if value is None:
        raise NotFound(description=description)
    return value


def problem(status: int, detail: str, title: str | None = None, **extra) -> Response:
    """An RFC 9457 problem document."""
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


def domain_statuses() -> dict[type[Exception], int]:
    """Every domain exception and the status it is answered with, in pages and the API alike.

    Services raise these without knowing HTTP; a view that shows the message inside its own
    page asks :func:`status_of` for the status.
    """
    from diagnostics import UnknownTests
    from diagnostics.collect import InsufficientSpace
    from diagnostics.copylogs import CopyLogError
    from webui.auth.users import AccountError
    from webui.connectivity.state import ModeChangeError, ModeChangeInProgress
    from webui.copylogs.export import DownloadRefused
    from webui.copylogs.model import InvalidFilter
    from webui.jobs import JobConflict
    from webui.power.backends import PowerError
    from webui.power.service import NothingScheduled, PowerConflict
    from webui.support.packages import OptionProblem, PackageBusy
    from webui.support.tickets import SizeNotConfirmed, TicketError, UploadBlocked
    from webui.support.upload import EndpointUnusable, UploadError
    from webui.support.usb import DriveFull, UsbError

    return {
        AccountError: 422, OptionProblem: 422, InvalidFilter: 422, UnknownTests: 422,
        JobConflict: 409, PackageBusy: 409, PowerConflict: 409, ModeChangeInProgress: 409,
        CopyLogError: 409, UsbError: 409, UploadBlocked: 409, SizeNotConfirmed: 409,
        EndpointUnusable: 409,
        DownloadRefused: 404, NothingScheduled: 404,
        InsufficientSpace: 507, DriveFull: 507,
        ModeChangeError: 503, TicketError: 503, UploadError: 502, PowerError: 502,
    }


def status_of(exc: Exception) -> int:
    """The status a domain exception is answered with (its nearest listed class decides)."""
    statuses = current_app.extensions["error_statuses"]
    return next((statuses[kind] for kind in type(exc).__mro__ if kind in statuses), 500)


def _domain_error(exc: Exception) -> Response:
    status = status_of(exc)
    extra = {}
    if getattr(exc, "field", None) and getattr(exc, "rule", None):
        extra["errors"] = [{"field": exc.field, "rule": exc.rule}]
    if is_api() or request.accept_mimetypes.best == "application/json":
        return problem(status, str(exc), **extra)
    return _answer(status, HTTPStatus(status).phrase, str(exc))


def init_app(app: Flask) -> None:
    app.extensions["error_statuses"] = statuses = domain_statuses()
    for kind in statuses:
        app.register_error_handler(kind, _domain_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(db.StorageProblem, _storage)
    app.register_error_handler(OSError, _os_error)
    app.register_error_handler(Exception, _unexpected)
