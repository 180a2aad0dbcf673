"""What the device rules look at: each check reads the database or the host through
:class:`~webui.alerts.rules.Facts` and answers a finding per subject whose condition holds now.

Values never hold a password, a token or a browser's device nonce: they fill messages that are
shown, audited and sent off the device.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from webui import jobs
from webui.alerts.rules import Facts, Finding
from webui.formats import iso
from webui.templating import file_size

DAY = 86400.0
BURST_SIGN_INS = 5
BURST_MINUTES = 15
CERTIFICATE_WARNING_DAYS = 30
CERTIFICATE_CRITICAL_DAYS = 7
CHANNEL_FAILURES = 3
DELIVERY_EVENTS = ("raised", "cleared", "digest")
SUPPORT_JOB_FAILED = ("failed", "interrupted")


# volumes


def _volume(path: str, what: str, subject: str, facts: Facts) -> Finding | None:
    usage = shutil.disk_usage(path)
    if not usage.used + usage.free:
        return None
    # As df counts it: the blocks kept for root are neither used nor free to the web UI.
    percent = round(100 * usage.used / (usage.used + usage.free))
    warning = facts.config["ALERT_VOLUME_WARNING_PERCENT"]
    critical = facts.config["ALERT_VOLUME_CRITICAL_PERCENT"]
    if percent < warning:
        return None
    return Finding(subject, {"volume": what, "path": path, "percent": percent,
                             "free": file_size(usage.free), "size": file_size(usage.total)},
                   severity="critical" if percent >= critical else "warning")


def volume_of(path: str) -> int | None:
    """The volume (device number) holding ``path``; None when it cannot be looked at."""
    try:
        return os.stat(path).st_dev
    except OSError:
        return None


def volumes_filling(facts: Facts) -> Iterable[Finding]:
    """The instance volume, and each copy-log root on a volume of its own."""
    instance = facts.config["INSTANCE"]
    found = [_volume(instance, "the instance volume", "instance", facts)]
    seen = {volume_of(instance)}
    for root in facts.config["COPYLOG_ROOTS"]:
        device = volume_of(root)
        if device is None or device in seen:
            continue
        seen.add(device)
        found.append(_volume(root, f"the copy-log volume of {root}", root, facts))
    return [finding for finding in found if finding is not None]


# the certificate


def _common_name(name) -> str:
    from cryptography.x509.oid import NameOID

    names = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else name.rfc4514_string()


def _expiry_words(days: int) -> str:
    if days < 0:
        return f"expired {-days} day{'' if days == -1 else 's'} ago"
    return "expires today" if days == 0 else f"expires in {days} day{'' if days == 1 else 's'}"


def certificate_expiring(facts: Facts) -> Iterable[Finding]:
    """The web UI's own certificate within 30 days of expiry; behind a TLS proxy, none."""
    from cryptography import x509

    if not facts.config["TLS"]:
        return []
    path = Path(facts.config["TLS_CERT"])
    try:
        cert = x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError):
        return []  # a missing or unreadable certificate is the certificate test's to report
    expires = cert.not_valid_after_utc
    left = expires - dt.datetime.fromtimestamp(facts.now, dt.UTC)
    if left > dt.timedelta(days=CERTIFICATE_WARNING_DAYS):
        return []
    days = left.days  # whole days left, rounded down: -1 once it has expired
    severity = "critical" if left <= dt.timedelta(days=CERTIFICATE_CRITICAL_DAYS) else "warning"
    return [Finding("", {"name": _common_name(cert.subject), "issuer": _common_name(cert.issuer),
                         "days": days, "expiry": _expiry_words(days), "path": str(path),
                         "expires_at": expires.isoformat(timespec="seconds")},
                    severity=severity)]


# sign-ins


def sign_in_burst(facts: Facts) -> Iterable[Finding]:
    """At least five failed sign-ins in the last 15 minutes, from the audit log."""
    row = facts.conn.execute(
        "SELECT count(*), count(DISTINCT client_addr) FROM audit WHERE action = 'sign_in' "
        "AND outcome = 'failure' AND at >= ?", (facts.now - BURST_MINUTES * 60,)).fetchone()
    if row[0] < BURST_SIGN_INS:
        return []
    return [Finding("", {"count": row[0], "minutes": BURST_MINUTES, "clients": row[1]})]


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _locked(conn, key: str) -> tuple[str, str, str] | None:
    """Subject, who it is in words, and severity of a lockout counter's key; None for a key
    of no known shape. A browser's nonce and a name that is no account (perhaps a password
    typed in the wrong field) are shown only as a digest."""
    kind, _sep, name = key.partition(":")
    if kind == "addr":
        return f"address:{name}", f"the client address {name}", "warning"
    if kind == "device":
        return f"browser:{_digest(name)}", "a browser known to the device", "warning"
    if kind != "user":
        return None
    account = conn.execute("SELECT username, role FROM users WHERE username = ?",
                           (name,)).fetchone()
    if account is None:
        return (f"account:unknown-{_digest(name)}", "a user name that is no account",
                "warning")
    severity = "critical" if account["role"] == "administrator" else "warning"
    return f"account:{account['username']}", f"the account {account['username']}", severity


def lockouts(facts: Facts) -> Iterable[Finding]:
    """Each account, client address or browser whose sign-ins are refused now."""
    found = []
    for row in facts.conn.execute("SELECT key, failures, locked_until FROM sign_in_failures "
                                  "WHERE locked_until > ? ORDER BY key", (facts.now,)):
        locked = _locked(facts.conn, row["key"])
        if locked is None:
            continue
        subject, who, severity = locked
        found.append(Finding(subject, {"who": who, "failures": row["failures"],
                                       "until": iso(row["locked_until"])}, severity=severity))
    return found


# copy logs


def _copy_log_errors(facts: Facts) -> Counter:
    from webui.copylogs.queries import REFRESH_KINDS, UPLOAD_KINDS, upload_errors

    return facts.once("copy_log_errors", lambda: upload_errors(
        facts.extensions["copylogs"], facts.now, (*UPLOAD_KINDS, *REFRESH_KINDS))[0])


def _errors_by_share(facts: Facts, kinds: tuple[str, ...]) -> Iterable[Finding]:
    by_share: Counter = Counter()
    for (share, kind), count in _copy_log_errors(facts).items():
        if kind in kinds:
            by_share[share] += count
    return [Finding(share, {"share": share or "(no share)", "count": count})
            for share, count in sorted(by_share.items()) if count]


def upload_errors(facts: Facts) -> Iterable[Finding]:
    """Shares whose upload and copy logs of the last 24 h hold errors."""
    from webui.copylogs.queries import UPLOAD_KINDS

    return _errors_by_share(facts, UPLOAD_KINDS)


def refresh_errors(facts: Facts) -> Iterable[Finding]:
    """Shares whose refresh logs of the last 24 h hold errors."""
    from webui.copylogs.queries import REFRESH_KINDS

    return _errors_by_share(facts, REFRESH_KINDS)


# restart and power


def restart_needed_since(root: str) -> float | None:
    """When the device began to need a restart, as its host files tell: apt's flag, else the
    newest installed kernel image or modules."""
    host = Path(root)
    marks = [host / "run" / "reboot-required"]
    if not marks[0].exists():
        marks = [*(host / "boot").glob("vmlinu*-*"), *(host / "boot").glob("Image-*"),
                 *(host / "lib" / "modules").glob("*/modules.dep"),
                 *(host / "usr" / "lib" / "modules").glob("*/modules.dep")]
    times = []
    for mark in marks:
        try:
            times.append(mark.stat().st_mtime)
        except OSError:
            continue
    return max(times) if times else None


def restart_overdue(facts: Facts) -> Iterable[Finding]:
    """A restart asked for by updates for more than a day."""
    from webui.power.service import restart_required

    root = facts.config.get("POWER_HOST_ROOT", "/")
    reasons = restart_required(root)
    since = restart_needed_since(root) if reasons else None
    if since is None or facts.now - since <= DAY:
        return []
    return [Finding("", {"reasons": "; ".join(reasons), "since": iso(since),
                         "days": int((facts.now - since) // DAY)})]


def power_scheduled(facts: Facts) -> Iterable[Finding]:
    """A restart or shut down still to happen."""
    from webui.power.service import last_action

    action = last_action(facts.conn)
    if action is None or not action.pending(facts.now):
        return []
    return [Finding("", {"action": action.label, "at": iso(action.at),
                         "requested_by": action.requested_by,
                         "message": action.message or "no message"})]


# connectivity


def mode_changed(facts: Facts) -> Iterable[Finding]:
    """The connectivity mode changed in the last 24 h."""
    from webui.connectivity.policy import LABELS
    from webui.connectivity.state import mode_state

    state = mode_state(facts.conn)
    if state.changed_at is None or not 0 <= facts.now - state.changed_at < DAY:
        return []
    row = facts.conn.execute(
        "SELECT detail FROM audit WHERE action = 'connectivity_mode' AND outcome = 'success' "
        "AND target = ? ORDER BY id DESC LIMIT 1", (state.mode,)).fetchone()
    try:
        previous = json.loads(row["detail"])["previous"] if row else None
    except (ValueError, TypeError, KeyError):
        previous = None
    return [Finding("", {"mode": state.label, "previous": LABELS.get(previous, "not known"),
                         "changed_by": state.changed_by or "not known",
                         "changed_at": iso(state.changed_at)})]


# support


def _failed_job(facts: Facts, kind: str) -> Iterable[Finding]:
    finals = ", ".join("?" * len(jobs.FINAL_STATES))
    row = facts.conn.execute(
        f"SELECT * FROM jobs WHERE kind = ? AND state IN ({finals}) AND state != 'cancelled' "
        "ORDER BY finished_at DESC, rowid DESC LIMIT 1", (kind, *jobs.FINAL_STATES)).fetchone()
    if row is None or row["state"] not in SUPPORT_JOB_FAILED \
            or facts.now - (row["finished_at"] or 0) > DAY:
        return []
    return [Finding("", {"job_id": row["id"], "at": iso(row["finished_at"]),
                         "error": row["error"] or row["state"]})]


def support_package_failed(facts: Facts) -> Iterable[Finding]:
    """The latest support package of the last 24 h failed."""
    from webui.support.packages import KIND

    return _failed_job(facts, KIND)


def ticket_upload_failed(facts: Facts) -> Iterable[Finding]:
    """The latest ticket upload of the last 24 h failed."""
    from webui.support.tickets import UPLOAD_KIND

    return _failed_job(facts, UPLOAD_KIND)


# notifications


def channels_failing(facts: Facts) -> Iterable[Finding]:
    """Channels whose last three finished alert deliveries all failed."""
    events = ", ".join("?" * len(DELIVERY_EVENTS))
    found = []
    for channel in facts.conn.execute("SELECT id, name, kind FROM notification_channels "
                                      "ORDER BY name").fetchall():
        last = facts.conn.execute(
            f"SELECT state, reason FROM notification_deliveries WHERE channel_id = ? "
            f"AND event IN ({events}) AND state IN ('sent', 'failed') "
            "ORDER BY finished_at DESC, id DESC LIMIT ?",
            (channel["id"], *DELIVERY_EVENTS, CHANNEL_FAILURES)).fetchall()
        if len(last) == CHANNEL_FAILURES and all(row["state"] == "failed" for row in last):
            found.append(Finding(channel["name"], {
                "channel": channel["name"], "kind": channel["kind"],
                "failures": CHANNEL_FAILURES, "reason": last[0]["reason"] or "not known"}))
    return found


# device health


def health_outdated(facts: Facts) -> Iterable[Finding]:
    """Tests whose latest result is older than a day, or that never ran while others did."""
    from webui.health import service as health

    device = health.device_health(facts.conn, health.Schedule.from_config(facts.config),
                                  facts.now)
    if device.status is None:
        return []
    old = [test.title for test in device.tests if test.status is None or test.outdated]
    if not old:
        return []
    return [Finding("", {"count": len(old), "tests": ", ".join(old)})]
