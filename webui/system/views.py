"""Configuration > Host: the host's name, time zone and NTP servers as they are, and changing
them through the configured backend after a confirmation."""

from __future__ import annotations

import shlex

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for

from diagnostics.settings import parse_endpoint
from webui import db
from webui.access import admin_required, current_actor
from webui.system import host_state, service
from webui.system.backends import DryRunBackend, Refused, SystemdBackend, backend_for
from webui.system.forms import FORMS, HostNameForm, NtpForm, TimeZoneForm

bp = Blueprint("system", __name__, url_prefix="/host")

# What confirming a change asks: question, button.
QUESTIONS = {"hostname": ("Set the host name to {value}?", "Set host name"),
             "timezone": ("Set the host time zone to {value}?", "Set time zone"),
             "ntp": ("Use {value} as the host's NTP servers?", "Apply NTP servers")}
APPLY_ENDPOINTS = {"hostname": "system.set_host_name", "timezone": "system.set_time_zone",
                   "ntp": "system.set_ntp_servers"}


def configured_backend() -> DryRunBackend | SystemdBackend:
    """The backend ``WEBUI_SYSTEM_BACKEND`` chooses, acting under ``SYSTEM_HOST_ROOT`` (``/``,
    or a temporary tree in tests)."""
    config = current_app.config
    return backend_for(config["SYSTEM_BACKEND"], config.get("SYSTEM_HOST_ROOT", "/"))


def _configured_ntp_servers() -> list[str]:
    config = current_app.config
    servers = config.get("NTP_SERVERS") or [config["NTP_SERVER"]]
    try:
        return [parse_endpoint(server, default_port=123)[0] for server in servers if server]
    except ValueError:
        return []


def _prefilled(state: host_state.HostState) -> dict:
    config = current_app.config
    ntp = _configured_ntp_servers()
    return {"hostname": HostNameForm(host_name=config["DEVICE_NAME"]),
            "timezone": TimeZoneForm(time_zone=config.get("TIME_ZONE") or state.time_zone),
            "ntp": NtpForm(primary=ntp[0] if ntp else "",
                           secondary=ntp[1] if len(ntp) > 1 else "")}


def _page(status: int = 200, operation: str | None = None, form=None):
    backend = configured_backend()
    state = host_state.read(backend.root)
    forms = _prefilled(state)
    if operation is not None:
        forms[operation] = form
    return render_template("system/page.html", state=state, backend=backend, forms=forms,
                           last=service.last_change(db.get_db()), shell_join=shlex.join), status


def _asked(operation: str):
    """The form of ``operation`` filled from the query string, which the confirmation keeps."""
    return FORMS[operation](formdata=request.args, meta={"csrf": False})


def _consequence(change, backend) -> str:
    commands = "; ".join(shlex.join(argv) for argv in change.commands)
    files = ", ".join(path for path, _content in change.files)
    does = f"writes {files}, then runs {commands}" if files else f"runs {commands}"
    if backend.simulated:
        return (f"The dry-run backend changes nothing on the host: it records that it {does}, "
                "and shows it on the Host page.")
    return f"The systemd backend {does} on this device now."


def _confirm(operation: str):
    form = _asked(operation)
    if not form.validate():
        return _page(422, operation, form)
    backend = configured_backend()
    try:
        change = service.plan(operation, form.value, backend.root)
    except Refused as exc:
        return _page(422, operation, _with_error(form, exc))
    question, button = QUESTIONS[operation]
    asked = {f.name: f.data for f in form}
    return render_template("confirm.html", question=question.format(value=change.value),
                           consequence=_consequence(change, backend),
                           action=url_for(APPLY_ENDPOINTS[operation], **asked),
                           button=button, back=url_for("system.page"))


def _with_error(form, exc: Refused):
    next(iter(form)).errors = [f"The {exc.field} must be {exc.rule}."]
    return form


def _apply(operation: str):
    # The service checks the value again, and audits a refusal.
    form = _asked(operation)
    try:
        outcome = service.apply(db.get_db(), configured_backend(), operation, form.value,
                                current_actor())
    except Refused as exc:
        return _page(422, operation, _with_error(form, exc))
    label = service.LABELS[operation]
    if not outcome.ok:
        flash(f"The {label} was not changed: {outcome.error}", "error")
    elif outcome.simulated:
        flash(f"Dry run: the {label} was not changed; what would be done is shown below.",
              "info")
    else:
        flash(f"Changed the host's {label} to {outcome.change.value}.", "success")
    return redirect(url_for("system.page"), code=303)


@bp.route("/")
@admin_required
def page():
    return _page()


@bp.route("/hostname/confirm")
@admin_required
def confirm_host_name():
    return _confirm("hostname")


@bp.route("/hostname", methods=["POST"])
@admin_required
def set_host_name():
    return _apply("hostname")


@bp.route("/timezone/confirm")
@admin_required
def confirm_time_zone():
    return _confirm("timezone")


@bp.route("/timezone", methods=["POST"])
@admin_required
def set_time_zone():
    return _apply("timezone")


@bp.route("/ntp/confirm")
@admin_required
def confirm_ntp_servers():
    return _confirm("ntp")


@bp.route("/ntp", methods=["POST"])
@admin_required
def set_ntp_servers():
    return _apply("ntp")
