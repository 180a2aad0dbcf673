"""Who may do what: sign-in gate, roles, CSRF, security headers.

Every endpoint needs a signed-in user unless its view is marked ``@public``; the gate runs
before any view, so a new route is protected without remembering to.
"""

from __future__ import annotations

from flask import Flask, abort, current_app, request, url_for
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFProtect

from webui import db, last_seen, shell
from webui.access import bearer_token, is_api
from webui.auth import sessions, tokens
from webui.auth.users import User
from webui.htmx import is_htmx, redirect_to

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Endpoints a user with a forced password change may still reach.
PASSWORD_CHANGE_ALLOWED = frozenset({"auth.change_password", "auth.sign_out", "static", "healthz"})

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
       "object-src 'none'")


def session_user(session_id: str) -> User | None:
    """The user of a live session, within this app's idle and absolute limits."""
    config = current_app.config
    return sessions.load(db.get_db(), session_id, last_seen.current(),
                         config["SESSION_IDLE_MINUTES"] * 60, config["SESSION_MAX_HOURS"] * 3600)


def checked_tokens() -> tokens.CheckedTokens:
    """This app's memory of recently checked tokens (a revoke empties it)."""
    return current_app.extensions["checked_tokens"]


def _load_token(_request) -> User | None:
    token = bearer_token()
    if token is None or not is_api():
        return None
    return tokens.load(db.get_db(), token, request.remote_addr, checked_tokens(),
                       last_seen.current())


def _unauthorized():
    if is_api():
        abort(401, description="Sign in or send 'Authorization: Bearer <token>'.")
    next_path = request.full_path.rstrip("?") if request.method == "GET" else None
    target = url_for("auth.sign_in", next=next_path)
    return redirect_to(target)


def _view_is_public() -> bool:
    if request.endpoint == "static":
        return True
    view = current_app_view()
    return view is None or getattr(view, "is_public", False)


def current_app_view():
    if request.endpoint is None:
        return None
    return current_app.view_functions.get(request.endpoint)


def _gate():
    if request.endpoint is None:
        return None  # 404/405 answer on their own
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if limit and (request.content_length or 0) > limit:
        abort(413, description=f"The request is larger than {limit // 1024} KiB.")
    for gate in shell.of(current_app).gates:
        answer = gate()
        if answer is not None:
            return answer
    if not _view_is_public():
        if bearer_token() is not None and is_api() and not current_user.is_authenticated:
            abort(401, description="The token is unknown, revoked or expired.")
        if not current_user.is_authenticated:
            return current_app.login_manager.unauthorized()
        if current_user.must_change_password and request.endpoint not in PASSWORD_CHANGE_ALLOWED:
            if is_api():
                abort(403, description="Change the one-time password before using the API.")
            return redirect_to(url_for("auth.change_password"))
    if request.method not in SAFE_METHODS and not (
            current_user.is_authenticated and current_user.via == "token"):
        current_app.extensions["csrf"].protect()
    return None


# Every browser feature the UI does not use is denied to it and to anything it might embed;
# writing to the clipboard is its own pages' only (the copy buttons of one-time secrets).
PERMISSIONS_POLICY = "clipboard-write=(self), " + ", ".join(f"{feature}=()" for feature in (
    "accelerometer", "autoplay", "camera", "clipboard-read",
    "display-capture", "encrypted-media", "fullscreen", "gamepad", "geolocation", "gyroscope",
    "hid", "identity-credentials-get", "idle-detection", "local-fonts", "magnetometer",
    "microphone", "midi", "otp-credentials", "payment", "picture-in-picture",
    "publickey-credentials-create", "publickey-credentials-get", "screen-wake-lock", "serial",
    "storage-access", "usb", "window-management", "xr-spatial-tracking"))

BASE_HEADERS = (("Content-Security-Policy", CSP), ("X-Content-Type-Options", "nosniff"),
                ("Referrer-Policy", "same-origin"), ("X-Frame-Options", "DENY"),
                ("Cross-Origin-Opener-Policy", "same-origin"),
                ("Cross-Origin-Resource-Policy", "same-origin"),
                ("Permissions-Policy", PERMISSIONS_POLICY))
# Never cached besides signed-in pages: the sign-in form (it carries a CSRF token) and any 401.
NO_STORE_ENDPOINTS = frozenset({"auth.sign_in"})


def _no_store(response) -> bool:
    if request.endpoint in NO_STORE_ENDPOINTS or response.status_code == 401:
        return True
    # Public answers (/healthz above all) never look up a session: they never wait on the
    # database.
    return not _view_is_public() and current_user.is_authenticated


HSTS = ("Strict-Transport-Security", "max-age=31536000")
# Made once: every answer carries them, so they are added as the answer leaves, with no
# per-request work beyond one list concatenation.
PLAIN_HEADERS = list(BASE_HEADERS)
SECURE_HEADERS = [*BASE_HEADERS, HSTS]


class SecurityHeaders:
    """WSGI middleware: the headers every answer carries, error pages included."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        extra = SECURE_HEADERS if environ.get("wsgi.url_scheme") == "https" else PLAIN_HEADERS

        def start(status, headers, exc_info=None):
            return start_response(status, headers + extra, exc_info)

        return self.wsgi_app(environ, start)


def _headers(response):
    """The headers that depend on the request: caching and the htmx variant."""
    if _no_store(response):
        response.headers.setdefault("Cache-Control", "no-store")
    if is_htmx():
        response.headers.add("Vary", "HX-Request")
    return response


def init_app(app: Flask) -> None:
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    app.config["SESSION_COOKIE_NAME"] = "edge_webui_session"
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Strict"
    app.config["SESSION_COOKIE_SECURE"] = bool(app.config.get("TLS"))
    login_manager = LoginManager(app)
    login_manager.session_protection = None  # sessions are server-side; see webui.auth.sessions
    login_manager.user_loader(session_user)
    login_manager.request_loader(_load_token)
    login_manager.unauthorized_handler(_unauthorized)
    CSRFProtect(app)
    app.extensions["checked_tokens"] = tokens.CheckedTokens()
    app.before_request(_gate)
    app.after_request(_headers)
    app.wsgi_app = SecurityHeaders(app.wsgi_app)
