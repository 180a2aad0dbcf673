"""The Connectivity page, its banner and overview card, and the remote-management gate."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for

from webui import db, htmx, jobs
from webui.access import admin_required, bearer_token, current_actor, is_api
from webui.connectivity import hooks, policy, state
from webui.connectivity.forms import ModeForm
from webui.errors import found_or_404, problem, status_of

bp = Blueprint("connectivity", __name__, url_prefix="/connectivity")

PAGE = "connectivity/page.html"
CONTENT = "connectivity/_content.html"


def _context(form: ModeForm | None = None, job: state.ChangeJob | None = None,
             change: state.ModeChange | None = None, error: str | None = None) -> dict:
    current = state.mode_state(db.get_db())
    config = current_app.config
    return {"state": current, "form": form or ModeForm(mode=current.mode), "job": job,
            "change": change, "error": error, "modes": policy.MODES, "labels": policy.LABELS,
            "capabilities": policy.CAPABILITIES, "capability_labels": policy.CAPABILITY_LABELS,
            "policy": policy.POLICY, "hook_files": hooks.hook_files(config["HOOKS_DIR"]),
            "hooks_dir": config["HOOKS_DIR"], "hook_timeout": config["HOOK_TIMEOUT"]}


def _page(status: int = 200, **context):
    return render_template(PAGE, **_context(**context)), status


@bp.route("/")
def page():
    """The mode, what each mode allows and the hooks; a change still running shows its progress."""
    latest = state.latest_change(db.get_db())
    return _page(job=latest if latest is not None and latest.active else None)


# Modes that cut off the ways in besides this UI are confirmed first, naming what stops.
CONFIRMED_MODES = frozenset({"fully_disconnected"})


def _what_stops(current: str, requested: str) -> list[str]:
    return [policy.CAPABILITY_LABELS[c] for c in policy.CAPABILITIES
            if policy.allows(c, current) and not policy.allows(c, requested)]


@bp.route("/", methods=["POST"])
@admin_required
def change_mode():
    form = ModeForm()
    if not form.validate_on_submit():
        return _page(422, form=form)
    conn = db.get_db()
    current = state.current_mode(conn)
    stops = _what_stops(current, form.mode.data)
    if (form.mode.data in CONFIRMED_MODES and stops
            and request.form.get("confirmed") != "yes"):
        return render_template("connectivity/confirm.html", form=form, stops=stops,
                               label=policy.LABELS[form.mode.data])
    try:
        job_id = state.start_change(conn, jobs.runner(), form.mode.data, current_actor(),
                                    state.HookSettings.from_config(current_app.config))
    except state.ModeChangeError as exc:
        return _page(status_of(exc), form=form, error=str(exc))
    job = state.wait_for(conn, job_id, state.WAIT_SECONDS)
    if job.active:
        return redirect(url_for("connectivity.change", job_id=job.id), code=303)
    if job.error is not None:
        return _page(status_of(job.error), form=form, error=str(job.error))
    if not job.change.ok:
        return _page(409, form=form, change=job.change)
    flash(f"Connectivity mode: {policy.LABELS[job.change.mode]}.", "success")
    return redirect(url_for("connectivity.page"), code=303)


@bp.route("/changes/<job_id>")
def change(job_id: str):
    """A mode change: in progress (htmx polls it), then its outcome."""
    job = found_or_404(state.change_job(db.get_db(), job_id), "No such connectivity mode change.")
    context = _context(job=job, change=job.change, error=str(job.error) if job.error else None)
    if htmx.is_htmx() and not job.active:
        return htmx.stop_polling(render_template(CONTENT, **context))
    return htmx.render(PAGE, CONTENT, **context)


def remembered_state() -> state.ModeState:
    """The mode in force, from memory (see ``state.remembered_state``)."""
    return state.remembered_state(db.get_db(), current_app.config["INSTANCE"])


def banner() -> dict:
    """The mode, on every page."""
    current = remembered_state()
    level = "info" if current.mode == "fully_connected" else "warning"
    texts = {
        "fully_connected": "Cloud transfer, remote management and support upload are allowed.",
        "partially_disconnected": "Cloud data transfer is blocked; monitoring still works.",
        "fully_disconnected": "Cloud transfer, API tokens, metrics and support upload are "
                              "refused; this web UI is the only way in.",
    }
    return {"level": level, "title": f"Connectivity: {current.label}.",
            "text": texts[current.mode],
            "link": {"url": url_for("connectivity.page"), "label": "Connectivity settings"}}


def card() -> dict:
    """The overview card: the mode and what it allows."""
    current = remembered_state()
    allowances = [(policy.CAPABILITY_LABELS[c], policy.allows(c, current.mode))
                  for c in policy.CAPABILITIES]
    return {"state": current, "allowances": allowances}


def remote_management_gate():
    """Tokens are remote management, /metrics scraping included: they obey the connectivity
    mode (SPEC F5). A signed-in person is the local UI, which always works."""
    if not (is_api() and bearer_token() is not None):
        return None
    allowance = policy.allows("remote_management", remembered_state().mode)
    if allowance:
        return None
    return problem(403, allowance.reason, title="Refused by the connectivity mode")
