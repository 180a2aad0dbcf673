from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user

from webui import audit, db
from webui.access import admin_required
from webui.auth import tokens, users
from webui.instance import setup_password
from webui.users import bp
from webui.users.forms import AddUserForm, RoleForm, TokenForm


def _page(status: int = 200, **context):
    conn = db.get_db()
    context.setdefault("add_form", AddUserForm())
    context.setdefault("token_form", TokenForm())
    return render_template("users/page.html", users=users.all_users(conn),
                           tokens=tokens.all_tokens(conn), role_form=RoleForm(),
                           **context), status


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
    password = setup_password()
    try:
        users.create(db.get_db(), form.username.data, password, form.role.data, must_change=True)
    except users.AccountError as exc:
        form.username.errors.append(str(exc))
        return _page(422, add_form=form)
    audit.record("user_add", form.username.data, detail={"role": form.role.data})
    return _page(one_time={"username": form.username.data, "password": password})


def _user_or_404(user_id: int):
    row = users.by_id(db.get_db(), user_id)
    if row is None:
        abort(404, description="No such user.")
    return row


@bp.route("/<int:user_id>/role", methods=["POST"])
@admin_required
def set_role(user_id: int):
    row = _user_or_404(user_id)
    form = RoleForm()
    if not form.validate_on_submit():
        flash("Choose a valid role.", "error")
        return redirect(url_for("users.page"), code=303)
    try:
        users.set_role(db.get_db(), user_id, form.role.data)
    except users.AccountError as exc:
        audit.record("user_role", row["username"], "refused", str(exc))
        flash(f"Not changed: {exc}.", "error")
        return redirect(url_for("users.page"), code=303)
    audit.record("user_role", row["username"], detail={"role": form.role.data})
    flash(f"{row['username']} is now {form.role.data}.", "success")
    return redirect(url_for("users.page"), code=303)


@bp.route("/<int:user_id>/reset", methods=["POST"])
@admin_required
def reset_password(user_id: int):
    row = _user_or_404(user_id)
    password = setup_password()
    users.set_password(db.get_db(), user_id, password, must_change=True)
    audit.record("user_password_reset", row["username"])
    return _page(one_time={"username": row["username"], "password": password})


@bp.route("/<int:user_id>/delete", methods=["POST"])
@admin_required
def delete(user_id: int):
    row = _user_or_404(user_id)
    if row["id"] == current_user.user_id:
        flash("You cannot remove your own account while signed in with it.", "error")
        return redirect(url_for("users.page"), code=303)
    try:
        users.delete(db.get_db(), user_id)
    except users.AccountError as exc:
        audit.record("user_remove", row["username"], "refused", str(exc))
        flash(f"Not removed: {exc}.", "error")
        return redirect(url_for("users.page"), code=303)
    audit.record("user_remove", row["username"])
    flash(f"{row['username']} removed.", "success")
    return redirect(url_for("users.page"), code=303)


@bp.route("/tokens", methods=["POST"])
@admin_required
def create_token():
    form = TokenForm()
    if not form.validate_on_submit():
        return _page(422, token_form=form)
    expires_at = db.now() + form.expires_days.data * 86400 if form.expires_days.data else None
    token_id, token = tokens.create(db.get_db(), form.name.data, form.role.data,
                                    current_user.actor, expires_at)
    audit.record("token_create", form.name.data, detail={"id": token_id, "role": form.role.data})
    return _page(new_token={"name": form.name.data.strip(), "token": token})


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@admin_required
def revoke_token(token_id: int):
    if not tokens.revoke(db.get_db(), token_id):
        abort(404, description="No such active token.")
    audit.record("token_revoke", str(token_id))
    flash("Token revoked.", "success")
    return redirect(url_for("users.page"), code=303)
