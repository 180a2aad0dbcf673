"""Who hears of the audit entries an app records: each app keeps its own listeners."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, current_app, has_app_context

EXTENSION = "audit_listeners"


def on_record(app: Flask, listener: Callable[[str, str], None]) -> None:
    """Call ``listener(action, outcome)`` after each entry recorded inside ``app``."""
    app.extensions.setdefault(EXTENSION, []).append(listener)


def notify(action: str, outcome: str) -> None:
    """Tell the listeners of the app in context; entries written outside any app (the
    console) reach none."""
    if has_app_context():
        for listener in current_app.extensions.get(EXTENSION, ()):
            listener(action, outcome)
