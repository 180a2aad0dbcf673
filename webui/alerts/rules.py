"""Alert rules as data (SPEC F11): what raises an alert, what clears it, what it says and what
the admin should do, like the probes of the diagnostic tests.

A rule's ``check`` looks at the device (a :class:`Facts`) and answers a :class:`Finding` for
each subject the rule's condition holds for now (a test, a share, a volume); the alert of a
subject no longer found is cleared. A check that fails answers nothing about its rule: its
alerts stay as they were rather than clear on a bad moment.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import diagnostics
from diagnostics import Status

# The severities of Azure Stack Edge's alerts, worst first.
SEVERITIES = ("critical", "warning", "informational")
SEVERITY_LABELS = {"critical": "Critical", "warning": "Warning", "informational": "Informational"}


def severity_rank(severity: str) -> int:
    """0 for critical, 1 for warning, 2 for informational: lower is worse."""
    return SEVERITIES.index(severity)


@dataclass(frozen=True)
class Finding:
    """The rule's condition holds for ``subject`` now; ``values`` fill its message and action.

    ``severity`` overrides the rule's for this finding (a test that is unhealthy is critical,
    one that warns is a warning)."""

    subject: str = ""
    values: Mapping[str, Any] = field(default_factory=dict)
    severity: str | None = None


@dataclass(frozen=True)
class Facts:
    """What checks read: the database, the settings and the time of this evaluation.

    ``cache`` lets checks share a reading made once per evaluation (the latest results)."""

    conn: Any
    config: Mapping[str, Any]
    now: float
    cache: dict[str, Any] = field(default_factory=dict)

    def once(self, key: str, read: Callable[[], Any]) -> Any:
        if key not in self.cache:
            self.cache[key] = read()
        return self.cache[key]


Check = Callable[[Facts], Iterable[Finding]]


@dataclass(frozen=True)
class Rule:
    """One kind of alert. ``title``, ``message`` and ``action`` are ``str.format`` templates over
    the finding's values; ``raises`` and ``clears`` say in words when it does."""

    id: str
    severity: str
    title: str
    message: str
    action: str
    raises: str
    clears: str
    check: Check = field(repr=False, compare=False)

    def __post_init__(self):
        if self.severity not in SEVERITIES:
            raise ValueError(f"rule {self.id}: severity must be one of {', '.join(SEVERITIES)}")

    def words(self, finding: Finding) -> tuple[str, str, str]:
        """The alert's title, message and recommended action for ``finding``."""
        values = dict(finding.values)
        return (self.title.format(**values), self.message.format(**values),
                self.action.format(**values))


# How a test's latest result maps to an alert: unhealthy or could not run is critical.
TEST_SEVERITY = {Status.UNHEALTHY: "critical", Status.COULD_NOT_RUN: "critical",
                 Status.WARNING: "warning"}


def _latest(facts: Facts):
    from webui.health import service as health

    return facts.once("latest_results", lambda: health.latest_results(facts.conn))


def _test_check(test_id: str) -> Check:
    def check(facts: Facts) -> Iterable[Finding]:
        latest = _latest(facts).get(test_id)
        if latest is None or latest.status not in TEST_SEVERITY:
            return []
        result = latest.result
        return [Finding("", {"summary": result.summary, "status": latest.status.label,
                             "run_id": latest.run_id,
                             "recommended_action": result.recommended_action
                             or "Open the test's result for what to check."},
                        severity=TEST_SEVERITY[latest.status])]
    return check


def diagnostic_rules() -> tuple[Rule, ...]:
    """One rule per diagnostic test: its latest result unhealthy, could not run, or warning."""
    return tuple(
        Rule(id=f"test_{test.id}", severity="critical",
             title=f"{test.title}: {{status}}",
             message=f"The diagnostic test {test.title} found: {{summary}}",
             action="{recommended_action}",
             raises=f"The latest result of {test.title} is unhealthy or could not run "
                    "(critical), or a warning (warning).",
             clears=f"A later run of {test.title} is healthy or not applicable.",
             check=_test_check(test.id))
        for test in diagnostics.catalogue())


def catalogue() -> tuple[Rule, ...]:
    """Every alert rule, in the order the Alerts page explains them."""
    return diagnostic_rules()


def by_id() -> dict[str, Rule]:
    return {rule.id: rule for rule in catalogue()}
