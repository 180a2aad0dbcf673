"""The shapes every probe and run returns: plain, JSON-serialisable data."""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from typing import Any


class Status(enum.StrEnum):
    """Outcome of one diagnostic test, ordered from best to worst by ``severity``."""

    HEALTHY = "healthy"
    NOT_APPLICABLE = "not_applicable"
    WARNING = "warning"
    UNHEALTHY = "unhealthy"
    COULD_NOT_RUN = "could_not_run"

    @property
    def severity(self) -> int:
        return _SEVERITY[self]


_SEVERITY = {
    Status.HEALTHY: 0,
    Status.NOT_APPLICABLE: 0,
    Status.WARNING: 1,
    Status.UNHEALTHY: 2,
    Status.COULD_NOT_RUN: 2,
}


@dataclass(frozen=True)
class Result:
    """One test's verdict: ``{id, title, status, summary, details, recommended_action}``."""

    id: str
    title: str
    status: Status
    summary: str
    details: dict[str, Any] = field(default_factory=dict)
    recommended_action: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status.value
        return data


def exit_code(results: list[Result]) -> int:
    """The console convention: 0 healthy/not applicable, 1 any warning, 2 any unhealthy."""
    return max((r.status.severity for r in results), default=0)
