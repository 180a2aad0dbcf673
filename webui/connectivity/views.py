from __future__ import annotations

from flask import current_app, flash, redirect, render_template, url_for
from flask_login import current_user

from webui import db
from webui.access import admin_required, bearer_token, is_api
from webui.connectivity import bp, service
from webui.connectivity.forms import ModeForm
from webui.errors import problem


def _page(status: int = 200, form: ModeForm | None = None,
          change: service.ModeChange | None = None, error: str | None = None):
    state = service.state(db.get_db())
    return render_template(
        "connectivity/page.html", state=state, form=form or ModeForm(mode=state.mode),
        change=change, error=error, modes=service.MODES, labels=service.LABELS,
        capabilities=service.CAPABILITIES, capability_labels=service.CAPABILITY_LABELS,
        policy=service.POLICY, hook_files=service.hook_files(current_app.config["HOOKS_DIR"]),
        hooks_dir=current_app.config["HOOKS_DIR"],
        hook_timeout=current_app.config["HOOK_TIMEOUT"]), status


@bp.route("/")
def page():
    return _page()


@bp.route("/", methods=["POST"])
@admin_required
def change_mode():
    form = ModeForm()
    if not form.validate_on_submit():
        return _page(422, form=form)
    try:
        change = service.change(form.mode.data, current_user.actor)
    except service.ModeChangeError as exc:
        return _page(exc.status, form=form, error=str(exc))
    if not change.ok:
        return _page(409, form=form, change=change)
    flash(f"Connectivity mode: {service.LABELS[change.mode]}.", "success")
    return redirect(url_for("connectivity.page"), code=303)


def banner() -> dict:
    """The mode, on every page."""
    state = service.state(db.get_db())
    level = "info" if state.mode == "fully_connected" else "warning"
    texts = {
        "fully_connected": "Cloud transfer, remote management and support upload are allowed.",
        "partially_disconnected": "Cloud data transfer is blocked; monitoring still works.",
        "fully_disconnected": "Cloud transfer, API tokens, metrics and support upload are "
                              "refused; this web UI is the only way in.",
    }
    return {"level": level, "title": f"Connectivity: {state.label}.", "text": texts[state.mode],
            "link": {"url": url_for("connectivity.page"), "label": "Connectivity settings"}}


def card() -> dict:
    """The overview card: the mode and what it allows."""
    state = service.state(db.get_db())
    allowances = [(service.CAPABILITY_LABELS[c], service.allows(c, state.mode))
                  for c in service.CAPABILITIES]
    return {"state": state, "allowances": allowances}


def remote_management_gate():
    """Tokens are remote management, /metrics scraping included: they obey the connectivity
    mode (SPEC F5). A signed-in person is the local UI, which always works."""
    if not (is_api() and bearer_token() is not None):
        return None
    allowance = service.allows("remote_management")
    if allowance:
        return None
    return problem(403, allowance.reason, title="Refused by the connectivity mode")
