from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user

from webui import db, last_seen
from webui.access import admin_required, current_actor
from webui.auth import tokens, users
from webui.errors import found_or_404
from webui.security import checked_tokens
from webui.users import service
from webui.users.forms import AddUserForm, RoleForm, TokenForm

bp = Blueprint("users", __name__, url_prefix="/users")


def _secrets() -> service.OneTimeSecrets:
    return current_app.extensions.setdefault("users.one_time_secrets", service.OneTimeSecrets())


def _page(status: int = 200, **context):
    conn = db.get_db()
    context.setdefault("add_form", AddUserForm())
    context.setdefault("token_form", TokenForm())
    return render_template("users/page.html", users=users.all_users(conn),
                           tokens=tokens.all_tokens(conn, last_seen.current()),
                           role_form=RoleForm(), **context), status


def _back():
    return redirect(url_for("users.page"), code=303)


def _show_once(**secret):
    """Back to the page, which shows ``secret`` once; a reload shows the page without it."""
    _secrets().hold(current_user.session_id, secret)
    return _back()


def _account(user_id: int):
    return found_or_404(users.by_id(db.get_db(), user_id), "No such user.")


def _live_token(token_id: int) -> dict:
    listed = tokens.all_tokens(db.get_db(), last_seen.current())
    live = next((t for t in listed if t["id"] == token_id and not t["revoked_at"]), None)
    return found_or_404(live, "No such active token.")


# Confirmations live at their own URLs: a GET rule on an action's URL would turn a POST with an
# id beyond 64 bits into 405 instead of 404.
def _confirm(question: str, consequence: str, action: str, button: str, danger: bool = False):
    return render_template("confirm.html", question=question, consequence=consequence,
                           action=action, button=button, danger=danger,
                           back=url_for("users.page"))


@bp.route("/")
@admin_required
def page():
    return _page(**(_secrets().take(current_user.session_id) or {}))


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
    return _show_once(one_time={"username": form.username.data, "password": password})


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


# What asking before a change of an account says: question, consequence, endpoint, button.
ACCOUNT_CHANGES = {
    "reset": ("Reset the password of {name}?", "{name} gets a one-time password, shown once on "
              "the next page, and is signed out everywhere.", "users.reset_password",
              "Reset password"),
    "delete": ("Remove the user {name}?", "{name} can no longer sign in, and their sessions end. "
               "The audit log keeps what they did.", "users.delete", "Remove user"),
}


@bp.route("/<int:user_id>/<change>/confirm")
@admin_required
def confirm_account_change(user_id: int, change: str):
    asked = found_or_404(ACCOUNT_CHANGES.get(change), "No such change of an account.")
    name = _account(user_id)["username"]
    question, consequence, endpoint, button = asked
    return _confirm(question.format(name=name), consequence.format(name=name),
                    url_for(endpoint, user_id=user_id), button, danger=change == "delete")


@bp.route("/<int:user_id>/reset", methods=["POST"])
@admin_required
def reset_password(user_id: int):
    account = _account(user_id)
    password = service.reset_password(db.get_db(), current_actor(), account)
    return _show_once(one_time={"username": account["username"], "password": password})


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
    return _show_once(new_token={"name": new.name, "token": new.token})


@bp.route("/tokens/<int:token_id>/revoke/confirm")
@admin_required
def confirm_revoke_token(token_id: int):
    token = _live_token(token_id)
    return _confirm(f"Revoke the token {token['name']}?",
                    f"Scripts and tools that use it ({token['role']}) are refused from now on; "
                    "this cannot be undone.",
                    url_for("users.revoke_token", token_id=token_id), "Revoke token", danger=True)


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@admin_required
def revoke_token(token_id: int):
    if not service.revoke_token(db.get_db(), current_actor(), checked_tokens(), token_id):
        abort(404, description="No such active token.")
    flash("Token revoked.", "success")
    return _back()
