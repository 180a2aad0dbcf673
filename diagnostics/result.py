"""The shapes every probe and run returns: plain, JSON-serialisable data."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any


class Status(enum.StrEnum):
    """Outcome of one diagnostic test, in the order results are counted and shown.

    ``severity`` ranks them for exit codes and health; ``label`` is what people read.
    """

    HEALTHY = "healthy"
    WARNING = "warning"
    UNHEALTHY = "unhealthy"
    COULD_NOT_RUN = "could_not_run"
    NOT_APPLICABLE = "not_applicable"

    @property
    def severity(self) -> int:
        return _SEVERITY[self]

    @property
    def label(self) -> str:
        return _LABELS[self]


_SEVERITY = {
    Status.HEALTHY: 0,
    Status.WARNING: 1,
    Status.UNHEALTHY: 2,
    Status.COULD_NOT_RUN: 2,
    Status.NOT_APPLICABLE: 0,
}
_LABELS = {
    Status.HEALTHY: "Healthy",
    Status.WARNING: "Warning",
    Status.UNHEALTHY: "Unhealthy",
    Status.COULD_NOT_RUN: "Could not run",
    Status.NOT_APPLICABLE: "Not applicable",
}
# Worst first; among equals, a verdict (unhealthy, healthy) before its absence.
WORST_FIRST = tuple(sorted(Status, key=lambda status: -status.severity))


def worst(statuses: Iterable[Status]) -> Status | None:
    """The status that sums up ``statuses``, or None when there are none."""
    present = set(statuses)
    return next((status for status in WORST_FIRST if status in present), None)


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

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Result:
        """The result :meth:`to_dict` made, read back (from a job row or a saved run); a field
        an older row lacks reads as empty (the title as the id)."""
        return cls(id=data["id"], title=data.get("title") or data["id"],
                   status=Status(data["status"]), summary=data.get("summary") or "",
                   details=dict(data.get("details") or {}),
                   recommended_action=data.get("recommended_action"))


def exit_code(results: list[Result]) -> int:
    """The console convention: 0 healthy/not applicable, 1 any warning, 2 any unhealthy."""
    return max((r.status.severity for r in results), default=0)


class Verdict:
    """Collects the problems one probe finds and turns them into its :class:`Result`.

    The worst problem sets the status; the summary names the problems of that status and the
    recommended action lists what to do about every problem found.
    """

    def __init__(self, id: str, title: str):
        self.id, self.title = id, title
        self.problems: list[tuple[Status, str, str]] = []

    def problem(self, status: Status, message: str, action: str) -> None:
        self.problems.append((status, message, action))

    def result(self, healthy_summary: str, details: dict[str, Any]) -> Result:
        if not self.problems:
            return Result(self.id, self.title, Status.HEALTHY, healthy_summary, details)
        worst = max(self.problems, key=lambda p: p[0].severity)[0]
        messages = [message for status, message, _ in self.problems if status == worst]
        actions = list(dict.fromkeys(action for _, _, action in self.problems))
        return Result(self.id, self.title, worst, "; ".join(messages), details, " ".join(actions))

    def not_applicable(self, reason: str, details: dict[str, Any] | None = None) -> Result:
        return Result(self.id, self.title, Status.NOT_APPLICABLE, reason, details or {})

    def could_not_run(self, reason: str, action: str,
                      details: dict[str, Any] | None = None) -> Result:
        return Result(self.id, self.title, Status.COULD_NOT_RUN, reason, details or {}, action)
