from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user

from webui import db, last_seen
from webui.access import admin_required, current_actor
from webui.auth import tokens, users
from webui.errors import found_or_404
from webui.security import checked_tokens
from webui.users import service
from webui.users.forms import AddUserForm, RoleForm, TokenForm

bp = Blueprint("users", __name__, url_prefix="/users")


def _page(status: int = 200, **context):
    conn = db.get_db()
    context.setdefault("add_form", AddUserForm())
    context.setdefault("token_form", TokenForm())
    return render_template("users/page.html", users=users.all_users(conn),
                           tokens=tokens.all_tokens(conn, last_seen.current()),
                           role_form=RoleForm(), **context), status


def _back():
    return redirect(url_for("users.page"), code=303)


def _account(user_id: int):
    return found_or_404(users.by_id(db.get_db(), user_id), "No such user.")


@bp.route("/")
@admin_required
def page():
    return _page()


@bp.route("/", methods=["POST"])
@admin_required
def add():
    form = AddUserForm()
    if not form.validate_on_submit():
        return _page(422, add_form=form)
    try:
        password = service.add_user(db.get_db(), current_actor(), form.username.data,
                                    form.role.data)
    except users.AccountError as exc:
        form.username.errors.append(str(exc))
        return _page(422, add_form=form)
    return _page(one_time={"username": form.username.data, "password": password})


@bp.route("/<int:user_id>/role", methods=["POST"])
@admin_required
def set_role(user_id: int):
    account = _account(user_id)
    form = RoleForm()
    if not form.validate_on_submit():
        flash("Choose a valid role.", "error")
        return _back()
    try:
        service.change_role(db.get_db(), current_actor(), account, form.role.data)
    except users.AccountError as exc:
        flash(f"Not changed: {exc}.", "error")
        return _back()
    flash(f"{account['username']} is now {form.role.data}.", "success")
    return _back()


@bp.route("/<int:user_id>/reset", methods=["POST"])
@admin_required
def reset_password(user_id: int):
    account = _account(user_id)
    password = service.reset_password(db.get_db(), current_actor(), account)
    return _page(one_time={"username": account["username"], "password": password})


@bp.route("/<int:user_id>/delete", methods=["POST"])
@admin_required
def delete(user_id: int):
    account = _account(user_id)
    try:
        service.remove_user(db.get_db(), current_actor(), account, current_user.user_id)
    except users.AccountError as exc:
        flash(f"Not removed: {exc}.", "error")
        return _back()
    flash(f"{account['username']} removed.", "success")
    return _back()


@bp.route("/tokens", methods=["POST"])
@admin_required
def create_token():
    form = TokenForm()
    if not form.validate_on_submit():
        return _page(422, token_form=form)
    new = service.create_token(db.get_db(), current_actor(), form.name.data, form.role.data,
                               form.expires_days.data)
    return _page(new_token={"name": new.name, "token": new.token})


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@admin_required
def revoke_token(token_id: int):
    if not service.revoke_token(db.get_db(), current_actor(), checked_tokens(), token_id):
        abort(404, description="No such active token.")
    flash("Token revoked.", "success")
    return _back()
