"""What every template can use: device name, navigation, banners, time formatting."""

from __future__ import annotations

import datetime as dt
import functools
import time
import zoneinfo
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from urllib.parse import quote

from flask import Flask, current_app, has_app_context, request, url_for
from flask_login import current_user
from markupsafe import Markup, escape

from webui import badges, config, shell

# The one format of a time on every page: the device's time zone (its TIME_ZONE setting where
# one was made, else the host's local zone), "2026-07-01 17:30:00 IST", UTC on hover.
LOCAL_FORMAT = "%Y-%m-%d %H:%M:%S %Z"
UTC_FORMAT = "%Y-%m-%d %H:%M:%S UTC"

Moment = float | int | dt.datetime


def _moment(timestamp: Moment) -> dt.datetime:
    """``timestamp`` (seconds since the epoch, or a datetime; naive means device time) in UTC."""
    if isinstance(timestamp, dt.datetime):
        return timestamp.astimezone(dt.UTC)
    return dt.datetime.fromtimestamp(float(timestamp), dt.UTC)


@functools.lru_cache(maxsize=8)
def _zone(name: str) -> dt.tzinfo:
    return zoneinfo.ZoneInfo(name)


def device_zone() -> dt.tzinfo | None:
    """The time zone set for the device (in the UI, the config file or the environment); None
    when none was set, and the host's local zone applies."""
    if not has_app_context():
        return None
    # Once per time shown: the app itself, not each attribute through the proxy.
    settings = current_app._get_current_object().config
    sources = settings.get(config.SOURCES) or {}
    name = settings.get("TIME_ZONE")
    if not name or sources.get("TIME_ZONE", config.DEFAULT) == config.DEFAULT:
        return None
    try:
        return _zone(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


# A list of a hundred times formats each of them: the texts are cut from isoformat(), which is
# the same as strftime with LOCAL_FORMAT and UTC_FORMAT (seconds truncated) at a fraction of
# its cost.
def _clock(moment: dt.datetime, with_date: bool = True) -> str:
    """``moment`` as LOCAL_FORMAT (its own zone's name last), or its time of day only."""
    text = moment.isoformat(" ", "seconds")
    return f"{text[:19]} {moment.tzname() or ''}" if with_date else text[11:19]


def _utc_text(iso: str) -> str:
    """UTC_FORMAT from the isoformat() of a moment in UTC."""
    return f"{iso[:10]} {iso[11:19]} UTC"


def _time_element(iso: str, shown: str, title: str) -> Markup:
    # isoformat() writes digits and punctuation only; the texts shown are escaped. An f-string,
    # as Markup.format (string.Formatter) takes four times as long.
    return Markup(  # noqa: S704 (every interpolated value escaped or an isoformat())
        f'<time datetime="{iso}" title="{escape(title)}">{escape(shown)}</time>')


def local_time(timestamp: Moment | None, with_date: bool = True) -> Markup:
    """A ``<time>`` in the device's time zone, with UTC on hover; ``with_date=False`` for the
    time of day only."""
    if timestamp is None:
        return Markup("—")
    moment = _moment(timestamp)
    iso = moment.isoformat()
    return _time_element(iso, _clock(moment.astimezone(device_zone()), with_date),
                         _utc_text(iso))


# From the largest: the first that fits says how long ago (a minute at least).
AGO_UNITS = (("d", 86400), ("h", 3600), ("min", 60))


def _ago(seconds: float) -> str:
    """``seconds`` in the past (negative: in the future) as a person says it."""
    span = abs(seconds)
    if span < 60:
        return "just now" if seconds >= 0 else "in less than a minute"
    unit, size = next((unit, size) for unit, size in AGO_UNITS if span >= size)
    amount = f"{int(span // size)} {unit}"
    return f"{amount} ago" if seconds >= 0 else f"in {amount}"


def relative_time(timestamp: Moment | None, now: float | None = None) -> Markup:
    """A ``<time>`` shown as "3 min ago" (or "in 5 min"), the local and UTC times on hover."""
    if timestamp is None:
        return Markup("—")
    moment = _moment(timestamp)
    seconds = (time.time() if now is None else now) - moment.timestamp()
    iso = moment.isoformat()
    title = f"{_clock(moment.astimezone(device_zone()))} ({_utc_text(iso)})"
    return _time_element(iso, _ago(seconds), title)


def wording_changes_at(timestamp: Moment, now: float | None = None) -> float:
    """The moment after which ``relative_time(timestamp)`` says something else than now."""
    at = _moment(timestamp).timestamp()
    now = time.time() if now is None else now
    seconds = now - at
    span = abs(seconds)
    size = next((size for _unit, size in AGO_UNITS if span >= size), 60)
    if seconds >= 0:  # "just now", "3 min ago": the next whole unit
        return at + (span // size + 1) * size
    return at - (span // size) * size  # "in 5 min": when the count drops


# While a cached fragment is made: when each relative time in it changes its wording.
_wording_changes: ContextVar[list[float] | None] = ContextVar("wording_changes", default=None)


@contextmanager
def noting_wording_changes() -> Iterator[list[float]]:
    """Collect, while rendering, the moments at which the relative times shown change."""
    changes: list[float] = []
    token = _wording_changes.set(changes)
    try:
        yield changes
    finally:
        _wording_changes.reset(token)


def _noted_relative_time(timestamp: Moment | None, now: float | None = None) -> Markup:
    """The ``relative_time`` filter; it tells a fragment being cached how long it holds."""
    changes = _wording_changes.get()
    if changes is not None and timestamp is not None:
        changes.append(wording_changes_at(timestamp, now))
    return relative_time(timestamp, now)


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
    """A size as people write it: "512 B", "4.2 KiB", "43 KiB", "1.5 GiB"."""
    if size is None:
        return "—"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            # A tenth is worth showing only while it is a noticeable part of the figure.
            return f"{value:.1f} {unit}" if unit != "B" and value < 10 else f"{value:.0f} {unit}"
        value /= 1024
    return f"{size} B"


NAV_GROUP = Markup('<h2 class="nav-group">{}</h2>\n<ul>\n{}</ul>\n')
NAV_LINK = Markup('<li><a href="{}"{}>{}</a></li>\n')
CURRENT = Markup(' aria-current="page"')


def _navigation_pages(admin: bool) -> dict[str | None, Markup]:
    """The navigation of a role, rendered once: for each of its links the HTML with that link
    marked as the current page, and (key None) with none marked."""
    rendered = current_app.extensions.setdefault("navigation_html", {})
    if admin not in rendered:
        groups = shell.navigation(admin)

        def html(current: str | None) -> Markup:
            return Markup("").join(
                NAV_GROUP.format(group, Markup("").join(
                    NAV_LINK.format(href, CURRENT if href == current else "", section.label)
                    for section, href in sections))
                for group, sections in groups.items())

        hrefs = [href for sections in groups.values() for _section, href in sections]
        rendered[admin] = {None: html(None), **{href: html(href) for href in hrefs}}
    return rendered[admin]


def navigation_html(admin: bool, path: str) -> Markup:
    """The left navigation for a user of this role on the page at ``path``."""
    pages = _navigation_pages(admin)
    return pages.get(path) or pages[None]


def _context():
    admin = bool(current_user.is_authenticated and current_user.is_admin)
    config = current_app.config
    return {
        "device_name": config["DEVICE_NAME"],
        "version": config["VERSION"],
        "navigation": lambda: navigation_html(admin, request.path),
        "banners": shell.banners,
    }


# What stands for a row's value while its link is built once for a whole table, and what a
# value may keep unquoted in a path (the URL standard's path-segment set, as Werkzeug's
# converters quote it).
_SLOT = "__row__"
_PATH_SAFE = "!$&'()*+,/:;=@"


def links(endpoint: str, key: str, **values: object) -> Callable[[object], str]:
    """``url_for(endpoint, key=value, **values)`` for each row of a table at the cost of one
    ``url_for``: ``{% set ticket_url = links('support.ticket', 'ticket_id') %}`` then
    ``ticket_url(ticket.id)``, the value quoted as ``url_for`` quotes it in a path. For a
    ``key`` the route takes as text (the default converter), as every id of these tables is."""
    head, tail = url_for(endpoint, **values, **{key: _SLOT}).split(_SLOT)
    return lambda value: f"{head}{quote(str(value), safe=_PATH_SAFE)}{tail}"


def init_app(app: Flask) -> None:
    app.context_processor(_context)
    app.add_template_filter(local_time, "local_time")
    app.add_template_filter(_noted_relative_time, "relative_time")
    app.add_template_filter(duration, "duration")
    app.add_template_filter(file_size, "file_size")
    app.add_template_filter(badges.status_label, "status_label")
    app.add_template_global(badges.status_badge, "status_badge")
    app.add_template_global(badges.job_state, "job_state")
    app.add_template_global(links, "links")
