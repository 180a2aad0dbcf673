"""Alert rules as data (SPEC F11): what raises an alert, what clears it, what it says and what
the admin should do, like the probes of the diagnostic tests.

A rule's ``check`` looks at the device (a :class:`Facts`) and answers a :class:`Finding` for
each subject the rule's condition holds for now (a test, a share, a volume); the alert of a
subject no longer found is cleared. A check that fails answers nothing about its rule: its
alerts stay as they were rather than clear on a bad moment.
"""

from __future__ import annotations

import functools
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
    """What checks read: the database, the settings, the app's services (the copy-log store)
    and the time of this evaluation.

    ``cache`` lets checks share a reading made once per evaluation (the latest results)."""

    conn: Any
    config: Mapping[str, Any]
    now: float
    extensions: Mapping[str, Any] = field(default_factory=dict)
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


@functools.cache
def device_rules() -> tuple[Rule, ...]:
    """The rules over the device's storage, certificate, sign-ins, copy logs, power,
    connectivity, support and notifications, worded like Azure Stack Edge's alerts."""
    from webui.alerts import checks

    return (
        Rule(id="volume_filling", severity="warning",
             title="The data volume is {percent}% full",
             message="The data volume on the device is {percent}% full: {free} free of {size} "
                     "on {volume} ({path}).",
             action="Free up space on {volume}: delete support packages, old copy logs or "
                    "other data kept there, or give the volume more space.",
             raises="A volume holding the web UI's data (the instance, and each copy-log root "
                    "on a volume of its own) is 85 % used (warning) or 95 % (critical), or as "
                    "WEBUI_ALERT_VOLUME_WARNING_PERCENT and ..._CRITICAL_PERCENT say.",
             clears="The volume is used below the warning threshold.",
             check=checks.volumes_filling),
        Rule(id="certificate_expiring", severity="warning",
             title="The web UI's certificate {expiry}",
             message="{name} from {issuer} {expiry}.",
             action="Renew the certificate: `edge-webui init` makes a new self-signed one; "
                    "replace your own certificate at {path} and restart the web UI.",
             raises="The web UI serves HTTPS and its certificate expires within 30 days "
                    "(warning), within 7 days or has expired (critical).",
             clears="The certificate is replaced with one valid for more than 30 days, or TLS "
                    "is turned off (behind a TLS proxy).",
             check=checks.certificate_expiring),
        Rule(id="sign_in_burst", severity="warning",
             title="Many failed sign-ins",
             message="{count} sign-ins failed in the last {minutes} minutes, from {clients} "
                     "client address(es).",
             action="Look at the audit log for who tried to sign in; if it was not your "
                    "people, restrict access to the web UI's address.",
             raises=f"At least {checks.BURST_SIGN_INS} sign-ins failed (wrong user name or "
                    f"password) in the last {checks.BURST_MINUTES} minutes.",
             clears=f"Fewer than {checks.BURST_SIGN_INS} failed in the last "
                    f"{checks.BURST_MINUTES} minutes.",
             check=checks.sign_in_burst),
        Rule(id="sign_in_lockout", severity="warning",
             title="Sign-in locked out for {who}",
             message="Sign-in is refused for {who} until {until} after {failures} failed "
                     "sign-ins.",
             action="If these were not your people, look at the audit log and restrict access; "
                    "`edge-webui set-password` at the console lifts the lock.",
             raises="Repeated failed sign-ins locked out an account, a client address or a "
                    "browser (critical for an administrator's account).",
             clears="The lock expires or a sign-in succeeds.",
             check=checks.lockouts),
        Rule(id="share_upload_errors", severity="warning",
             title="Upload errors on share {share}",
             message="Could not upload {count} file(s) from share {share}.",
             action="Open the share's copy logs (Data > Copy logs) for the files and what to "
                    "do about each error.",
             raises="Upload or copy logs of the share modified in the last 24 h hold errors.",
             clears="No log of the share from the last 24 h holds an error.",
             check=checks.upload_errors),
        Rule(id="share_refresh_errors", severity="warning",
             title="Refresh errors on share {share}",
             message="Could not refresh {count} file(s) in share {share}.",
             action="Open the share's refresh error log (Data > Copy logs) for the files and "
                    "what to do about each error.",
             raises="Refresh logs of the share modified in the last 24 h hold errors.",
             clears="No refresh log of the share from the last 24 h holds an error.",
             check=checks.refresh_errors),
        Rule(id="restart_required", severity="warning",
             title="The device needs a restart",
             message="The device has needed a restart for {days} day(s), since {since}: "
                     "{reasons}.",
             action="Restart the device (Maintenance > Power) at a quiet time to finish updating.",
             raises="Updates have asked for a restart for more than a day.",
             clears="The device restarted (nothing asks for a restart).",
             check=checks.restart_overdue),
        Rule(id="support_package_failed", severity="warning",
             title="A support package could not be made",
             message="The support package of {at} failed: {error}",
             action="Check the free space on the device and try again (Troubleshooting > "
                    "Support).",
             raises="The latest support package of the last 24 h failed or was interrupted.",
             clears="A later support package succeeds, or the day passes.",
             check=checks.support_package_failed),
        Rule(id="ticket_upload_failed", severity="warning",
             title="A support ticket could not be sent",
             message="Sending a support ticket at {at} failed: {error}",
             action="Check the connectivity mode and the upload endpoint, then send it again, "
                    "or copy the bundle to a USB drive (Troubleshooting > Support).",
             raises="The latest ticket upload of the last 24 h failed or was interrupted.",
             clears="A later upload succeeds, or the day passes.",
             check=checks.ticket_upload_failed),
        Rule(id="connectivity_mode_changed", severity="informational",
             title="Connectivity mode changed to {mode}",
             message="The connectivity mode changed from {previous} to {mode} at {changed_at}, "
                     "by {changed_by}.",
             action="No action is needed if the change was planned.",
             raises="The connectivity mode was changed in the last 24 h.",
             clears="A day after the change.",
             check=checks.mode_changed),
        Rule(id="power_scheduled", severity="informational",
             title="{action} scheduled",
             message="{action} of the device is scheduled for {at} by {requested_by} "
                     "({message}).",
             action="Cancel it on Maintenance > Power if it is not wanted.",
             raises="A restart or shut down is scheduled.",
             clears="It is carried out or cancelled.",
             check=checks.power_scheduled),
        Rule(id="notification_channel_failing", severity="warning",
             title="Notifications to {channel} fail",
             message="The last {failures} notifications to the {kind} channel {channel} could "
                     "not be delivered: {reason}",
             action="Check the channel's settings and its destination, then send a test "
                    "notification (the Notifications page).",
             raises="The last three finished alert deliveries to a channel all failed (after "
                    "their retries).",
             clears="A notification to the channel is sent.",
             check=checks.channels_failing),
        Rule(id="health_outdated", severity="warning",
             title="Diagnostic results are out of date",
             message="{count} diagnostic test(s) have no result from the last day: {tests}.",
             action="Run the diagnostic tests (Troubleshooting > Diagnostic tests) and check that "
                    "scheduled diagnostics are on.",
             raises="Some test's latest result is older than a day, or it never ran while "
                    "others have.",
             clears="Every test has a result from the last day.",
             check=checks.health_outdated),
    )


def catalogue() -> tuple[Rule, ...]:
    """Every alert rule, in the order the Alerts page explains them."""
    return (*diagnostic_rules(), *device_rules())


def by_id() -> dict[str, Rule]:
    return {rule.id: rule for rule in catalogue()}
