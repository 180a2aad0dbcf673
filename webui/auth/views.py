from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_user, logout_user

from webui import db
from webui.access import current_actor, public
from webui.auth import devices, lockout, service
from webui.auth.forms import ChangePasswordForm, SignInForm
from webui.auth.users import FIRST_ACCOUNT
from webui.errors import problem
from webui.htmx import redirect_to
from webui.security import session_user

bp = Blueprint("auth", __name__)

# Sign-out empties the browser's cache and storage; its cookies stay, because the device
# cookie must outlive the session (the session cookie is ended by the server).
CLEAR_ON_SIGN_OUT = '"cache", "storage"'


def _safe_next(target: str | None) -> str:
    # Only paths on this site: never an absolute URL or a scheme-relative one.
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return url_for("dashboard.overview")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return url_for("dashboard.overview")
    return target.rstrip("?") or url_for("dashboard.overview")


def _begin(session_id: str) -> None:
    user = session_user(session_id)
    session.clear()
    login_user(user)


@bp.route("/sign-in", methods=["GET", "POST"])
@public
def sign_in():
    form = SignInForm()
    error = retry_at = None
    status = 200
    if form.validate_on_submit():
        username = form.username.data.strip()
        outcome = service.sign_in(db.get_db(), username, form.password.data,
                                  request.remote_addr, devices.nonce_for(username),
                                  current_app.config["LOCKOUT_THRESHOLD"])
        if outcome.session_id:
            _begin(outcome.session_id)
            response = redirect(_safe_next(request.args.get("next")), code=303)
            devices.issue(response, current_user.username)
            return response
        error, retry_at, status = outcome.error, outcome.retry_at, 401
        if retry_at:
            return _refused(form, error, retry_at)
    elif request.method == "POST":
        status = 422
    if current_user.is_authenticated and request.method == "GET":
        return redirect(url_for("dashboard.overview"))
    return render_template("auth/sign_in.html", form=form, error=error,
                           first_account=FIRST_ACCOUNT), status


def _refused(form: SignInForm, error: str, retry_at: float):
    """429 with ``Retry-After``: a problem document for scripts, the sign-in page for people."""
    seconds = lockout.retry_after(retry_at)
    if request.accept_mimetypes.best == "application/json":
        response = problem(429, f"{error} Try again in {seconds} s.", retry_after=seconds)
    else:
        response = make_response(render_template(
            "auth/sign_in.html", form=form, error=error, retry_at=retry_at,
            retry_seconds=seconds, first_account=FIRST_ACCOUNT), 429)
    response.headers["Retry-After"] = str(seconds)
    return response


@bp.route("/sign-out", methods=["POST"])
def sign_out():
    service.sign_out(db.get_db(), current_actor(), current_user.user_id, current_user.username)
    logout_user()
    session.clear()
    flash("You are signed out. Every session of this account has ended.", "info")
    response = redirect_to(url_for("auth.sign_in"))
    response.headers["Clear-Site-Data"] = CLEAR_ON_SIGN_OUT
    return response


@bp.route("/account/password", methods=["GET", "POST"])
def change_password():
    if current_user.via != "session":
        return redirect(url_for("dashboard.overview"))
    form = ChangePasswordForm()
    error = None
    status = 200
    if form.validate_on_submit():
        error, new_session = service.change_password(
            db.get_db(), current_actor(), current_user.user_id, form.current.data, form.new.data,
            current_app.config["DEVICE_NAME"], current_app.config["INSTANCE"])
        if new_session:
            _begin(new_session)
            flash("Password changed. Other sessions of this account have ended.", "success")
            return redirect(url_for("dashboard.overview"), code=303)
        status = 422
    elif request.method == "POST":
        status = 422
    return render_template("auth/change_password.html", form=form, error=error,
                           forced=current_user.must_change_password), status
