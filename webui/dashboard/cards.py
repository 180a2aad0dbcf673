"""The overview's cards, each rendered again only when what it shows changes.

A card is a pure function of its data, the time zone and, where it says "3 min ago", the
time: its HTML is kept with the data it was made from, the time zone's fingerprint and the
moment its first relative time changes wording, and reused while all three still hold. The
live-usage card is kept for the sampler's latest sample.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import current_app
from markupsafe import Markup

from webui import templating
from webui.dashboard import usage

# Two moments half a year apart: their local times tell one time zone (and its summer time)
# from another.
ZONE_MOMENTS = (1_700_000_000, 1_715_000_000)


def zone_fingerprint() -> tuple:
    """The offsets and names the time zone in use gives those moments."""
    zone = templating.device_zone()
    return tuple((local.utcoffset(), local.tzname()) for local in (
        dt.datetime.fromtimestamp(moment, dt.UTC).astimezone(zone) for moment in ZONE_MOMENTS))


@dataclass
class _Kept:
    data: Any
    zone: tuple[str, ...]
    until: float
    html: Markup


class CardCache:
    """One app's rendered cards, by template."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: dict[str, _Kept] = {}
        self._usage: tuple[object, int, Markup] | None = None

    def card(self, template: str, data: Any, now: float, zone: tuple[str, ...],
             render: Callable[[str, Any], str]) -> Markup:
        kept = self._kept.get(template)
        if kept is not None and now < kept.until and kept.zone == zone and _same(kept.data,
                                                                                  data):
            return kept.html
        with templating.noting_wording_changes() as changes:
            # The output of an autoescaping template: already safe.
            html = Markup(render(template, data))  # noqa: S704
        with self._lock:
            self._kept[template] = _Kept(data, zone, min(changes, default=float("inf")), html)
        return html

    def usage(self, sampler: usage.UsageSampler, render: Callable[[], str]) -> Markup:
        """The live-usage card, made again only when the sampler has a new sample."""
        samples = sampler.samples
        latest = samples[-1] if samples else None
        kept = self._usage
        if kept is not None and kept[0] is latest and kept[1] == len(samples):
            return kept[2]
        html = Markup(render())  # noqa: S704 (an autoescaping template's output)
        self._usage = (latest, len(samples), html)
        return html


def _same(kept: Any, data: Any) -> bool:
    try:
        return bool(kept == data)
    except Exception:  # data that cannot be compared is never taken for the same
        return False


def cache() -> CardCache:
    return current_app.extensions["overview_cards"]


def render_card(template: str, data: Any) -> str:
    # Cards use only their data, macros and the environment's globals (url_for).
    return current_app.jinja_env.get_template(template).render(card=data)


def rendered(cards: list[tuple[str, Any]], now: float) -> list[Markup]:
    """Each card's HTML, from memory while its data is unchanged."""
    kept, zone = cache(), zone_fingerprint()
    return [kept.card(template, data, now, zone, render_card) for template, data in cards]
