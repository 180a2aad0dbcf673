from __future__ import annotations

from pathlib import Path

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for

from webui import audit, db, htmx
from webui.access import admin_required, current_actor
from webui.errors import found_or_404
from webui.limits import MAX_ROW_NUMBER
from webui.notifications import channels, delivery
from webui.notifications.channels import KIND_LABELS, KINDS, ChannelError, ChannelNotFound
from webui.notifications.forms import FORMS, ToggleForm

bp = Blueprint("notifications", __name__, url_prefix="/notifications")

STATE_LABELS = {"pending": "Pending", "sent": "Sent", "failed": "Failed",
                "suppressed": "Suppressed"}


def _instance() -> Path:
    return Path(current_app.config["INSTANCE"])


def _channel(channel_id: int) -> channels.Channel:
    try:
        return channels.get(db.get_db(), channel_id)
    except ChannelNotFound:
        return found_or_404(None, "No such notification channel.")


def _back(**args):
    return redirect(url_for("notifications.page", **args), code=303)


def _asked_test() -> int | None:
    """The test whose outcome the page shows: ``?test=<id>``, ignored unless a row number."""
    asked = request.args.get("test", "")
    if not asked.isdigit() or len(asked) > len(str(MAX_ROW_NUMBER)):
        return None
    return int(asked) if int(asked) <= MAX_ROW_NUMBER else None


def _test_row(delivery_id: int | None):
    row = delivery.get(db.get_db(), delivery_id) if delivery_id else None
    return row if row is not None and row["event"] == "test" else None


@bp.route("/")
@admin_required
def page():
    conn = db.get_db()
    test = _test_row(_asked_test())
    return render_template("notifications/page.html", channels=channels.all_channels(conn),
                           deliveries=delivery.recent(conn), test=test,
                           test_channel=_channel(test["channel_id"]) if test else None,
                           kinds=KINDS, kind_labels=KIND_LABELS, states=STATE_LABELS,
                           toggle=ToggleForm())


@bp.route("/tests/<int:delivery_id>")
@admin_required
def test_outcome(delivery_id: int):
    """The outcome of a test notification; the page polls it until it is known."""
    test = found_or_404(_test_row(delivery_id), "No such test notification.")
    body = render_template("notifications/_test.html", test=test,
                           test_channel=_channel(test["channel_id"]), states=STATE_LABELS)
    return body if test["state"] == "pending" else htmx.stop_polling(body)


def _sentence(exc: Exception) -> str:
    text = str(exc)
    return f"{text[:1].upper()}{text[1:]}."


def _form_page(form, kind: str, channel=None, status: int = 200):
    return render_template("notifications/form.html", form=form, kind=kind,
                           kind_label=KIND_LABELS[kind], channel=channel), status


@bp.route("/new/<kind>")
@admin_required
def new(kind: str):
    found_or_404(kind if kind in KINDS else None, "No such kind of channel.")
    return _form_page(FORMS[kind](), kind)


@bp.route("/new/<kind>", methods=["POST"])
@admin_required
def add(kind: str):
    found_or_404(kind if kind in KINDS else None, "No such kind of channel.")
    form = FORMS[kind]()
    if not form.validate_on_submit():
        return _form_page(form, kind, status=422)
    try:
        channel = channels.add(db.get_db(), _instance(), current_actor(), kind=kind,
                               settings=form.settings(), secret=form.secret(),
                               **form.values())
    except ChannelError as exc:
        form.name.errors.append(_sentence(exc))
        return _form_page(form, kind, status=422)
    flash(f"Channel {channel.name} added.", "success")
    return _back()


@bp.route("/<int:channel_id>/edit")
@admin_required
def edit(channel_id: int):
    channel = _channel(channel_id)
    return _form_page(FORMS[channel.kind].of(channel), channel.kind, channel)


@bp.route("/<int:channel_id>/edit", methods=["POST"])
@admin_required
def change(channel_id: int):
    channel = _channel(channel_id)
    form = FORMS[channel.kind]()
    if not form.validate_on_submit():
        return _form_page(form, channel.kind, channel, 422)
    try:
        channels.update(db.get_db(), _instance(), current_actor(), channel,
                        settings=form.settings(), secret=form.secret(), **form.values())
    except ChannelError as exc:
        form.name.errors.append(_sentence(exc))
        return _form_page(form, channel.kind, channel, 422)
    flash(f"Channel {form.name.data} saved.", "success")
    return _back()


def _checked_post() -> bool:
    if ToggleForm().validate_on_submit():
        return True
    flash("The form had expired; try again.", "error")
    return False


def _set_enabled(channel_id: int, enabled: bool):
    channel = _channel(channel_id)
    if _checked_post():
        channels.set_enabled(db.get_db(), current_actor(), channel, enabled)
        flash(f"Channel {channel.name} {'enabled' if enabled else 'disabled'}.", "success")
    return _back()


@bp.route("/<int:channel_id>/enable", methods=["POST"])
@admin_required
def enable(channel_id: int):
    return _set_enabled(channel_id, True)


@bp.route("/<int:channel_id>/disable", methods=["POST"])
@admin_required
def disable(channel_id: int):
    return _set_enabled(channel_id, False)


@bp.route("/<int:channel_id>/test", methods=["POST"])
@admin_required
def send_test(channel_id: int):
    """Queue a test notification: the page shows its real outcome once the deliverer has
    tried it (the request never waits for it)."""
    channel = _channel(channel_id)
    if not _checked_post():
        return _back()
    conn = db.get_db()
    deliverer = delivery.deliverer(current_app)
    delivery_id = delivery.queue_test(conn, current_app.config, channel, deliverer.clock())
    audit.record(conn, current_actor(), "notification_test", channel.name,
                 detail={"delivery": delivery_id})
    deliverer.wake.set()
    return _back(test=delivery_id)


@bp.route("/<int:channel_id>/delete/confirm")
@admin_required
def confirm_delete(channel_id: int):
    channel = _channel(channel_id)
    return render_template(
        "confirm.html", question=f"Remove the channel {channel.name}?",
        consequence=f"Alerts are no longer sent to {channel.destination}, and the record of "
                    "its deliveries goes with it. The audit log keeps the change.",
        action=url_for("notifications.delete", channel_id=channel.id), button="Remove channel",
        danger=True, back=url_for("notifications.page"))


@bp.route("/<int:channel_id>/delete", methods=["POST"])
@admin_required
def delete(channel_id: int):
    channel = _channel(channel_id)
    if _checked_post():
        channels.delete(db.get_db(), current_actor(), channel)
        flash(f"Channel {channel.name} removed with its deliveries.", "success")
    return _back()
