"""Access policy as decorators and request predicates, free of app imports."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import abort, request
from flask_login import current_user


def public(view: Callable) -> Callable:
    """Mark a view as reachable without signing in."""
    view.is_public = True
    return view


def admin_required(view: Callable) -> Callable:
    @wraps(view)
    def wrapper(*args, **kwargs):
        if not current_user.is_admin:
            abort(403, description="This needs the administrator role.")
        return view(*args, **kwargs)
    wrapper.admin_only = True
    return wrapper


def current_actor():
    """The audit's actor for this request: the signed-in user or token, and its address."""
    from webui.audit import Actor

    name = current_user.actor if current_user.is_authenticated else "anonymous"
    return Actor(name, request.remote_addr)


# The API reference is a page for people, though it lives beside the API.
API_PAGES = ("/api/docs",)


def is_api() -> bool:
    path = request.path
    return (path.startswith("/api/") and not path.startswith(API_PAGES)) or path == "/metrics"


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None
