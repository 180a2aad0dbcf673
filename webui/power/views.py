"""The Power page, its confirm step, the restarting page, banners and overview card."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup

from diagnostics import Host, system
from webui import db
from webui.access import admin_required, current_actor
from webui.errors import status_of
from webui.power import service
from webui.power.backends import DryRunBackend, PowerError, SystemdBackend, backend_for
from webui.power.forms import DELAY_LABELS, PowerForm
from webui.templating import local_time

bp = Blueprint("power", __name__, url_prefix="/power")


def configured_backend() -> DryRunBackend | SystemdBackend:
    """The backend ``WEBUI_POWER_BACKEND`` chooses for this app."""
    return backend_for(current_app.config["POWER_BACKEND"])


def overview() -> dict:
    """The power state of this app's device; host files are read under ``POWER_HOST_ROOT``
    (``/``, or a canned tree in tests)."""
    return service.overview(db.get_db(), configured_backend(),
                            current_app.config.get("POWER_HOST_ROOT", "/"))


def _page(status: int = 200, form: PowerForm | None = None, error: str | None = None):
    return render_template("power/page.html", power=overview(), form=form or PowerForm(),
                           error=error, now=db.now()), status


@bp.route("/")
def page():
    return _page()


@bp.route("/confirm")
@admin_required
def confirm():
    form = PowerForm(formdata=request.args, meta={"csrf": False})
    if not form.validate():
        return _page(422, form=form)
    delay = form.delay_minutes.data
    return render_template("power/confirm.html", form=form, backend=configured_backend(),
                           label=service.ACTION_LABELS[form.action.data],
                           when=DELAY_LABELS.get(delay, f"In {delay} minutes"),
                           at=db.now() + delay * 60 if delay else None)


@bp.route("/", methods=["POST"])
@admin_required
def submit():
    form = PowerForm()
    if not form.validate_on_submit():
        return _page(422, form=form)
    try:
        recorded = service.request(db.get_db(), configured_backend(), form.action.data,
                                   form.delay_minutes.data, form.message.data, current_actor())
    except (service.PowerConflict, PowerError) as exc:
        return _page(status_of(exc), form=form, error=str(exc))
    if recorded.immediate:
        return redirect(url_for("power.restarting", action=recorded.action), code=303)
    # When it happens is shown below, in the device's time with a countdown.
    flash(f"The {recorded.label.lower()} is scheduled.", "success")
    return redirect(url_for("power.page"), code=303)


@bp.route("/cancel", methods=["POST"])
@admin_required
def cancel():
    try:
        cancelled = service.cancel(db.get_db(), configured_backend(), current_actor())
    except service.NothingScheduled as exc:
        flash(str(exc), "info")
    except PowerError as exc:
        flash(f"Not cancelled: {exc}", "error")
    else:
        flash(f"The scheduled {cancelled.label.lower()} is cancelled.", "success")
    return redirect(url_for("power.page"), code=303)


@bp.route("/restarting")
def restarting():
    action = request.args.get("action", "restart")
    if action not in service.ACTIONS:
        abort(404)
    return render_template("power/restarting.html", action=action,
                           backend=configured_backend(),
                           boot_id=system.boot_id(Host()))


def scheduled_banner() -> dict | None:
    """A scheduled restart or shut down, on every page, with Cancel for administrators."""
    pending = service.scheduled(db.get_db())
    if pending is None:
        return None
    verb = "restarts" if pending.action == "restart" else "shuts down"
    text = Markup("{} {} at {}, requested by {}.").format(
        current_app.config["DEVICE_NAME"], verb, local_time(pending.at), pending.requested_by)
    if pending.message:
        text += Markup(" Message: “{}”").format(pending.message)
    # One element, so the banner's flex layout keeps the sentence together.
    text = Markup('<span class="banner-text">{}</span>').format(text)
    banner = {"level": "warning", "title": f"{pending.label} scheduled.", "text": text,
              "link": {"url": url_for("power.page"), "label": "Power details"}}
    if current_user.is_admin:
        banner["action"] = {"url": url_for("power.cancel"),
                            "label": f"Cancel {pending.label.lower()}"}
    return banner


def dry_run_banner() -> dict | None:
    """Say on every page that power actions are only simulated."""
    if not configured_backend().simulated:
        return None
    return {"level": "info", "title": "Power actions are simulated.",
            "text": "The dry-run power backend records restart and shut down requests but "
                    "never carries them out."}


def card() -> dict:
    """The overview card: the scheduled action and restart-required reasons."""
    return overview()
