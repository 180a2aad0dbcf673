"""The shell every feature plugs into: navigation, banners, overview cards, request gates and
start-up clean-ups.

A feature's ``init_app(app)`` declares what it adds with the ``add_*`` functions below. The
registries live in ``app.extensions["shell"]``: two apps in one process share nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app, session, url_for

# The groups of the left navigation, in the order Azure Stack Edge's local UI shows them.
GROUPS = ("Device", "Troubleshooting", "Data", "Maintenance", "Configuration", "Security")

# {"level": "info"|"warning"|"danger", "title", "text", optional "action"/"link"/"dismissible"};
# an info banner may be dismissed for the session unless it says "dismissible": False.
Banner = dict
DISMISSED = "dismissed_banners"  # the session's list of dismissed banner titles
BannerProvider = Callable[[], Banner | None]
CardProvider = Callable[[], dict[str, Any] | None]


@dataclass(frozen=True)
class Section:
    """One entry of the left navigation."""

    label: str
    endpoint: str
    group: str
    order: int
    admin_only: bool = False


@dataclass
class Shell:
    sections: list[Section] = field(default_factory=list)
    banners: list[BannerProvider] = field(default_factory=list)
    cards: list[tuple[str, CardProvider]] = field(default_factory=list)
    gates: list[Callable[[], Any]] = field(default_factory=list)
    cleanups: list[Callable[[], None]] = field(default_factory=list)
    # The navigation for each role, built once: its links never change while the app runs.
    links: dict[bool, dict[str, list[tuple[Section, str]]]] = field(default_factory=dict)


def of(app: Flask) -> Shell:
    return app.extensions.setdefault("shell", Shell())


def add_section(app: Flask, label: str, endpoint: str, group: str, order: int,
                admin_only: bool = False) -> None:
    """A navigation entry: ``order`` places it within its group."""
    if group not in GROUPS:
        raise ValueError(f"navigation group must be one of {', '.join(GROUPS)}")
    of(app).sections.append(Section(label, endpoint, group, order, admin_only))


def add_banner(app: Flask, provider: BannerProvider) -> None:
    """``provider()`` answers a banner to show on every page, or None."""
    of(app).banners.append(provider)


def add_card(app: Flask, template: str, provider: CardProvider) -> None:
    """An overview card: ``template`` rendered with ``provider()`` (None hides the card)."""
    of(app).cards.append((template, provider))


def add_gate(app: Flask, gate: Callable[[], Any]) -> None:
    """A check run before every request's sign-in check; an answer it returns is sent as is."""
    of(app).gates.append(gate)


def add_cleanup(app: Flask, cleanup: Callable[[], None]) -> None:
    """Work done once at start-up, after every feature is registered (leftovers of a crash)."""
    of(app).cleanups.append(cleanup)


def navigation(admin: bool) -> dict[str, list[tuple[Section, str]]]:
    """The sections a user of this role sees, by group, with their links."""
    shell = of(current_app)
    if admin not in shell.links:
        visible = sorted((s for s in shell.sections if admin or not s.admin_only),
                         key=lambda s: (GROUPS.index(s.group), s.order))
        groups: dict[str, list[tuple[Section, str]]] = {}
        for section in visible:
            groups.setdefault(section.group, []).append((section, url_for(section.endpoint)))
        shell.links[admin] = groups
    return shell.links[admin]


def dismissible(banner: Banner) -> bool:
    return banner.get("dismissible", banner["level"] == "info")


def banners() -> list[Banner]:
    """The banners to show on this page: every provider's, less those dismissed."""
    dismissed = session.get(DISMISSED, ())
    shown = (banner for provider in of(current_app).banners if (banner := provider()))
    kept = [banner for banner in shown
            if not (dismissible(banner) and banner["title"] in dismissed)]
    return [{**banner, "dismissible": dismissible(banner), "number": number}
            for number, banner in enumerate(kept, start=1)]


def dismiss_banner(title: str) -> bool:
    """Hide the banner titled ``title`` until the session ends; False if it cannot be hidden."""
    if not any(dismissible(b) and b["title"] == title
               for provider in of(current_app).banners if (b := provider())):
        return False
    dismissed = session.get(DISMISSED, [])
    if title not in dismissed:  # the session cookie never grows past the banners there are
        session[DISMISSED] = [*dismissed, title]
    return True


def cards() -> list[tuple[str, dict[str, Any]]]:
    return [(template, context) for template, provider in of(current_app).cards
            if (context := provider()) is not None]
