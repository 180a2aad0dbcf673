"""Device cookies (OWASP): a browser that signed in before is throttled on its own.

The cookie is signed with the app's secret key and names one account and a random nonce;
failures from it count against that nonce only, so unknown clients cannot lock it out.
"""

from __future__ import annotations

import hashlib
import secrets

from flask import Response, current_app, request
from itsdangerous import BadData, URLSafeTimedSerializer

COOKIE_PREFIX = "edge_webui_device_"
LIFETIME = 365 * 24 * 3600


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="device-cookie",
                                  signer_kwargs={"digest_method": hashlib.sha256})


def cookie_name(username: str) -> str:
    # One cookie per account, so a shared laptop stays known for each account it signed in as.
    return COOKIE_PREFIX + hashlib.sha256(username.lower().encode()).hexdigest()[:16]


def nonce_for(username: str) -> str | None:
    """The nonce of this request's valid device cookie for ``username``, if it has one."""
    value = request.cookies.get(cookie_name(username))
    if not value:
        return None
    try:
        payload = _serializer().loads(value, max_age=LIFETIME)
    except BadData:
        return None
    if not isinstance(payload, dict) or str(payload.get("user", "")).lower() != username.lower():
        return None
    nonce = payload.get("nonce")
    return nonce if isinstance(nonce, str) and nonce else None


def issue(response: Response, username: str) -> None:
    """Give the browser a fresh device cookie for ``username`` (after a good sign-in)."""
    value = _serializer().dumps({"user": username.lower(), "nonce": secrets.token_urlsafe(16)})
    response.set_cookie(cookie_name(username), value, max_age=LIFETIME, path="/", httponly=True,
                        secure=current_app.config["SESSION_COOKIE_SECURE"], samesite="Strict")
