"""Counters of audited events (sign-ins, lockouts, support packages and tickets) since start.

Every such event is recorded in the audit log; the app's audit listener counts it here, in a
registry of the app's own, so that two apps in one process never share a count. The counters
start at zero with the process, which ``rate()`` and ``increase()`` take in their stride.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask
from prometheus_client import CollectorRegistry, Counter

from webui import audit

EXTENSION = "metrics_counters"


@dataclass(frozen=True)
class Counted:
    """An audited action as a counter: its name, help, and the outcomes shown from the start."""

    name: str
    documentation: str
    outcomes: tuple[str, ...]


# By audit action; outcomes are the ones the features record, so the labels stay few.
COUNTED = {
    "sign_in": Counted("edge_sign_ins", "Sign-ins by outcome since the service started "
                       "(failure: wrong name or password; refused: while locked out)",
                       ("success", "failure", "refused")),
    "lockout": Counted("edge_sign_in_lockouts", "Lockouts after repeated failed sign-ins "
                       "since the service started", ("locked",)),
    "support_package_create": Counted(
        "edge_support_packages", "Support packages asked for since the service started, "
        "by outcome", ("success", "failure", "refused", "cancelled")),
    "support_ticket_create": Counted(
        "edge_support_tickets", "Support tickets opened since the service started, by outcome",
        ("success", "failure", "refused")),
    "support_ticket_upload": Counted(
        "edge_support_ticket_uploads", "Support ticket bundles sent to support since the "
        "service started, by outcome", ("success", "failure", "refused")),
    "support_ticket_usb_copy": Counted(
        "edge_support_ticket_usb_copies", "Support ticket bundles copied to a USB drive since "
        "the service started, by outcome", ("success", "failure")),
}


class EventCounters:
    """The app's counters, fed by its audit listener."""

    def __init__(self):
        self.registry = CollectorRegistry(auto_describe=True)
        self._counters = {}
        for action, counted in COUNTED.items():
            counter = Counter(counted.name, counted.documentation, ["outcome"],
                              registry=self.registry)
            for outcome in counted.outcomes:
                counter.labels(outcome)
            self._counters[action] = counter

    def count(self, action: str, outcome: str) -> None:
        counter = self._counters.get(action)
        if counter is not None:
            counter.labels(outcome).inc()


def of(app: Flask) -> EventCounters:
    return app.extensions[EXTENSION]


def init_app(app: Flask) -> None:
    counters = app.extensions[EXTENSION] = EventCounters()
    audit.on_record(app, counters.count)
