"""The left navigation, grouped like the seed device's local UI, and the banner slot."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, current_app


@dataclass(frozen=True)
class Section:
    label: str
    endpoint: str
    group: str
    admin_only: bool = False
    kwargs: tuple = ()


def placeholder(label: str, group: str, slug: str, admin_only: bool = False) -> Section:
    return Section(label, "placeholder.page", group, admin_only, (("section", slug),))


SECTIONS: list[Section] = [
    Section("Overview", "dashboard.overview", "Device"),
    Section("Hardware", "dashboard.hardware", "Device"),
    placeholder("Diagnostic tests", "Troubleshooting", "diagnostics"),
    placeholder("Support", "Troubleshooting", "support"),
    placeholder("Copy logs", "Data", "copy-logs"),
    placeholder("Power", "Maintenance", "power"),
    placeholder("Connectivity", "Configuration", "connectivity"),
    Section("Users and tokens", "users.page", "Configuration", admin_only=True),
    Section("Settings", "dashboard.settings", "Configuration"),
    Section("Audit log", "audit.page", "Security"),
]


def replace_section(slug: str, section: Section) -> None:
    """A feature that is built takes the place of its placeholder."""
    for index, existing in enumerate(SECTIONS):
        if dict(existing.kwargs).get("section") == slug or existing.label == section.label:
            SECTIONS[index] = section
            return
    SECTIONS.append(section)


Banner = dict  # {"level": "info"|"warning"|"danger", "text": str, "action": optional dict}


def register_banner(app: Flask, provider: Callable[[], Banner | None]) -> None:
    """``provider()`` answers a banner to show on every page, or None."""
    app.extensions.setdefault("banners", []).append(provider)


def banners() -> list[Banner]:
    shown = []
    for provider in current_app.extensions.get("banners", []):
        banner = provider()
        if banner:
            shown.append(banner)
    return shown
