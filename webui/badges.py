"""Status badges: the text and colour of a job's state or a diagnostic status.

Every list of jobs, runs and results shows one per row, so each badge is written once per
state and reused (a template macro would be called anew, escaping and all, for every row).
"""

from __future__ import annotations

import functools

from markupsafe import Markup

import diagnostics

# What people read for a job's state; diagnostic statuses carry their own labels.
JOB_STATES = {"queued": "Queued", "running": "Running", "succeeded": "Succeeded",
              "failed": "Failed", "interrupted": "Interrupted", "cancelled": "Cancelled"}
# Enough for every job state and diagnostic status; anything odd still gets a badge.
KNOWN_BADGES = 64


def status_label(status: str) -> str:
    """What people read for a diagnostic status; any other value as it is."""
    try:
        return diagnostics.Status(status).label
    except ValueError:
        return status


@functools.lru_cache(maxsize=KNOWN_BADGES)
def status_badge(status: str) -> Markup:
    """A job state or diagnostic status as a coloured badge: "Running", "Unhealthy"…"""
    label = JOB_STATES.get(status) or status_label(status)
    return Markup('<span class="badge status-{}">{}</span>').format(status, label)


FINISHED = Markup('<span class="badge job-finished">Finished</span>')


def job_state(state: str) -> Markup:
    """A job's state as people read it in a list of jobs: a succeeded job has "Finished"."""
    return FINISHED if state == "succeeded" else status_badge(state)
