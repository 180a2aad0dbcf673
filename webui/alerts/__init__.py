"""Alerts: the device watches itself against rules and keeps an alert list (SPEC F11)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Give the app its alert watcher, which evaluates the rules while it serves."""
    from webui.alerts import watch

    watch.init_app(app)
