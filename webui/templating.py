"""What every template can use: device name, navigation, banners, time formatting."""

from __future__ import annotations

import datetime as dt

from flask import Flask, current_app
from flask_login import current_user
from markupsafe import Markup, escape

from webui import shell


def local_time(timestamp: float | None, with_date: bool = True) -> Markup:
    """A ``<time>`` in the device's time zone, with UTC on hover."""
    if timestamp is None:
        return Markup("—")
    moment = dt.datetime.fromtimestamp(float(timestamp), dt.UTC)
    local = moment.astimezone()
    shown = local.strftime("%Y-%m-%d %H:%M:%S %Z" if with_date else "%H:%M:%S")
    utc = moment.strftime("%Y-%m-%d %H:%M:%S UTC")
    # Every interpolated value is either escaped or made by strftime/isoformat here.
    return Markup(f'<time datetime="{moment.isoformat()}" title="{utc}">{escape(shown)}</time>')  # noqa: S704


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = int(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h {minutes} min"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


def file_size(size: int | None) -> str:
    if size is None:
        return "—"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def _context():
    admin = current_user.is_authenticated and current_user.is_admin
    return {
        "device_name": current_app.config["DEVICE_NAME"],
        "version": current_app.config["VERSION"],
        "nav_groups": shell.navigation(bool(admin)),
        "banners": shell.banners,
    }


def init_app(app: Flask) -> None:
    app.context_processor(_context)
    app.add_template_filter(local_time, "local_time")
    app.add_template_filter(duration, "duration")
    app.add_template_filter(file_size, "file_size")
