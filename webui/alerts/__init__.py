"""Alerts: the device watches itself against rules and keeps an alert list (SPEC F11)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Nothing to register yet beyond the alert list kept in the database."""
