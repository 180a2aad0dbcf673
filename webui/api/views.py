from __future__ import annotations

from flask import Blueprint, abort, current_app

from diagnostics.hardware import inventory as hardware_inventory
from webui import db, last_seen
from webui.access import admin_required, current_actor
from webui.api import openapi, schemas
from webui.api.contract import Answer, Page, Paging, Reply, operation
from webui.audit import service as audit_trail
from webui.auth import tokens, users
from webui.dashboard import service as dashboard
from webui.dashboard.usage import sampler as usage_sampler
from webui.security import checked_tokens
from webui.users import service as accounts

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.route("/openapi.json")
@operation("api", Answer(dict, "The OpenAPI 3.1 document."))
def openapi_document():
    """This API's OpenAPI 3.1 description."""
    return openapi.document(current_app)


@bp.route("/status")
@operation("device", schemas.Status)
def status():
    """Device name, software version, uptime and boot id."""
    return dashboard.status(current_app.config["DEVICE_NAME"], current_app.config["VERSION"])


@bp.route("/hardware")
@operation("device", schemas.Hardware)
def hardware():
    """Hardware inventory: disks, network ports, USB, accelerators, power supplies, sensors."""
    return hardware_inventory()


@bp.route("/usage")
@operation("device", schemas.Usage)
def usage():
    """Live usage: the latest sample and the last ten minutes (one sample every 2 s)."""
    history = usage_sampler(current_app).history()
    return {"latest": history[-1].to_dict() if history else None,
            "history": [s.to_dict() for s in history]}


@bp.route("/tokens")
@admin_required
@operation("tokens", Page[schemas.Token], query=Paging)
def list_tokens(query: Paging):
    """API tokens with their role, expiry and last use (never the token itself).

    Live tokens first, newest first.
    """
    listed = tokens.all_tokens(db.get_db(), last_seen.current())
    return Page[schemas.Token].sliced(query, [tokens.token_dict(t) for t in listed])


@bp.route("/tokens", methods=["POST"])
@admin_required
@operation("tokens", {201: Answer(schemas.CreatedToken, "The token, shown this once.")},
           body=schemas.NewToken,
           example={"name": "fleet monitor", "role": "viewer", "expires_days": 365})
def create_token(body: schemas.NewToken):
    """Create a token; the answer shows it once."""
    new = accounts.create_token(db.get_db(), current_actor(), body.name, body.role,
                                body.expires_days)
    return Reply({"id": new.id, "name": new.name, "role": new.role,
                  "expires_at": new.expires_at, "token": new.token}, 201)


@bp.route("/tokens/<int:token_id>", methods=["DELETE"])
@admin_required
@operation("tokens", {204: Answer(description="Revoked.")}, errors=[404])
def revoke_token(token_id: int):
    """Revoke a token; 404 when no active token has that id."""
    if not accounts.revoke_token(db.get_db(), current_actor(), checked_tokens(), token_id):
        abort(404, description="No such active token.")
    return Reply(None, 204)


@bp.route("/users")
@admin_required
@operation("users", Page[schemas.User], query=Paging)
def list_users(query: Paging):
    """Accounts and their roles, by user name."""
    return Page[schemas.User].sliced(query, [
        {field: row[field] for field in schemas.User.model_fields}
        for row in users.all_users(db.get_db())])


@bp.route("/audit")
@operation("audit", Page[schemas.AuditEntry], query=schemas.AuditQuery)
def audit_log(query: schemas.AuditQuery):
    """Audit entries, newest first, filtered by user, action and days.

    The same entries as CSV: `GET /audit/export` with the same filters.
    """
    filters, _ = audit_trail.filters_from(
        {"user": query.user, "action": query.action,
         "from": query.from_ and query.from_.isoformat(), "to": query.to and query.to.isoformat()})
    total, rows = audit_trail.query(db.get_db(), **filters, limit=query.per_page,
                                    offset=query.offset)
    return Page[schemas.AuditEntry].of(query, total, [dict(row) for row in rows])
