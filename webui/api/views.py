from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, current_app, jsonify, request, url_for

from diagnostics.hardware import inventory as hardware_inventory
from webui import db, last_seen
from webui.access import admin_required, current_actor
from webui.api import openapi
from webui.api.helpers import FieldError, json_body, query_number
from webui.audit import service as audit_trail
from webui.auth import tokens, users
from webui.dashboard import service as dashboard
from webui.dashboard.usage import sampler as usage_sampler
from webui.security import checked_tokens
from webui.users import service as accounts

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.route("/openapi.json")
def openapi_document():
    """This API's OpenAPI 3.1 description."""
    return jsonify(openapi.document(current_app))


@bp.route("/status")
def status():
    """Device name, software version, uptime and boot id."""
    return jsonify(dashboard.status(current_app.config["DEVICE_NAME"],
                                    current_app.config["VERSION"]))


@bp.route("/hardware")
def hardware():
    """Hardware inventory: disks, network ports, USB, accelerators, power supplies, sensors."""
    return jsonify(hardware_inventory())


@bp.route("/usage")
def usage():
    """Live usage: the latest sample and the last ten minutes (one sample every 2 s)."""
    history = usage_sampler(current_app).history()
    return jsonify(latest=history[-1].to_dict() if history else None,
                   history=[s.to_dict() for s in history])


@bp.route("/tokens")
@admin_required
def list_tokens():
    """API tokens with their role, expiry and last use (never the token itself)."""
    listed = tokens.all_tokens(db.get_db(), last_seen.current())
    return jsonify(tokens=[tokens.token_dict(token) for token in listed])


@bp.route("/tokens", methods=["POST"])
@admin_required
def create_token():
    """Create a token ``{name, role, expires_days}``; the answer shows it once."""
    body = json_body()
    name = body.get("name")
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 64:
        raise FieldError("name", "a text of 1–64 characters")
    role = body.get("role", "viewer")
    if role not in users.ROLES:
        raise FieldError("role", f"one of {', '.join(users.ROLES)}")
    days = body.get("expires_days")
    if days is not None and (not isinstance(days, int) or isinstance(days, bool)
                             or not 1 <= days <= 3650):
        raise FieldError("expires_days", "a whole number of days from 1 to 3650, or null")
    new = accounts.create_token(db.get_db(), current_actor(), name, role, days)
    response = jsonify(id=new.id, name=new.name, role=new.role, expires_at=new.expires_at,
                       token=new.token)
    response.status_code = 201
    return response


@bp.route("/tokens/<int:token_id>", methods=["DELETE"])
@admin_required
def revoke_token(token_id: int):
    """Revoke a token."""
    if not accounts.revoke_token(db.get_db(), current_actor(), checked_tokens(), token_id):
        abort(404, description="No such active token.")
    return "", 204


@bp.route("/users")
@admin_required
def list_users():
    """Accounts and their roles."""
    fields = ("id", "username", "role", "must_change_password", "created_at",
              "password_changed_at")
    return jsonify(users=[{f: r[f] for f in fields} for r in users.all_users(db.get_db())])


@bp.route("/audit")
def audit_log():
    """Audit entries, newest first; filters ``user``, ``action``, ``from``, ``to`` (dates).

    Paged by ``limit`` (1–1000, default 100) and ``offset`` (default 0); 422 names a parameter
    out of range.
    """
    filters, errors = audit_trail.filters_from(request.args)
    if errors:
        field, rule = next(iter(errors.items()))
        raise FieldError(field, rule)
    limit = query_number("limit", 100, 1, 1000)
    offset = query_number("offset", 0)
    total, rows = audit_trail.query(db.get_db(), **filters, limit=limit, offset=offset)
    entries = []
    for row in rows:
        entry = dict(row)
        entry["at"] = dt.datetime.fromtimestamp(entry["at"], dt.UTC).isoformat()
        entries.append(entry)
    return jsonify(total=total, entries=entries, csv=url_for("audit.export"))
