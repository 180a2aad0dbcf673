"""htmx helpers: tell partial from full requests and redirect the way htmx understands."""

from __future__ import annotations

from flask import Response, redirect, render_template, request


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true" and not request.headers.get(
        "HX-History-Restore-Request")


def render(page: str, fragment: str, status: int = 200, **context) -> Response:
    """The whole page, or for htmx the fragment the page itself includes."""
    body = render_template(fragment if is_htmx() else page, **context)
    response = Response(body, status=status)
    response.headers["Vary"] = "HX-Request"
    return response


# htmx stops polling an element when a poll answers 286.
STOP_POLLING = 286


def stop_polling(body: str) -> Response:
    """The last answer to a poll: htmx swaps it in and stops asking."""
    return Response(body, status=STOP_POLLING)


def redirect_to(url: str) -> Response:
    """A redirect a browser or htmx follows (htmx needs HX-Redirect on a 200)."""
    if is_htmx():
        response = Response("", status=200)
        response.headers["HX-Redirect"] = url
        return response
    return redirect(url, code=303)
