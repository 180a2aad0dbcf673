"""Kernel errors of the last 24 hours: OOM kills, I/O errors and machine-check events."""

from __future__ import annotations

import errno
import json
import os
import re

from diagnostics.host import Host
from diagnostics.readers import boot
from diagnostics.requires import NOTHING
from diagnostics.result import Result, Status, Verdict
from diagnostics.settings import ProbeSettings

ID = "kernel_log"
TITLE = "Kernel log"
DESCRIPTION = ("The kernel logged no out-of-memory kills, disk I/O errors or machine-check "
               "events in the last 24 hours.")
REQUIRES = NOTHING

MAX_RECORDS = 20_000
MAX_BYTES = 4 << 20
ERR = 3  # syslog priority: 0 emerg … 3 err
PATTERNS = {
    "oom_kills": re.compile(r"Out of memory: Kill|oom-kill:|Killed process \d+", re.I),
    "io_errors": re.compile(r"I/O error|critical medium error|Buffer I/O error|"
                            r"blk_update_request: .*error", re.I),
    "machine_checks": re.compile(r"Machine check|\[Hardware Error\]|\bmce: ", re.I),
}
JUDGEMENT = {
    "machine_checks": (Status.UNHEALTHY, "machine-check event(s)",
                       "Hardware reported errors (CPU, memory or bus): create a support package "
                       "and contact support."),
    "io_errors": (Status.UNHEALTHY, "disk I/O error(s)",
                  "Check the Disks test and the cabling of the disk named in the kernel log."),
    "oom_kills": (Status.WARNING, "process(es) killed for lack of memory",
                  "Find what used the memory (see the kernel log) and reduce the load or add "
                  "memory."),
}
KMSG_RECORD = re.compile(r"^(\d+),\d+,(\d+),[^;]*;(.*)$")
DMESG_RAW = re.compile(r"^<(\d+)>\[\s*(\d+\.\d+)\]\s?(.*)$")


def run(host: Host, settings: ProbeSettings) -> Result:
    """Read error-level kernel messages of the window from the best source and count them."""
    verdict = Verdict(ID, TITLE)
    seconds = settings.kernel_log_hours * 3600
    tried: list[str] = []
    messages = source = None
    for name, reader in (("the journal", _journal), ("/dev/kmsg", _kmsg), ("dmesg", _dmesg)):
        found, why = reader(host, seconds)
        if found is not None:
            messages, source = found, name
            break
        tried.append(f"{name}: {why}")
    details: dict = {"window_hours": settings.kernel_log_hours, "tried": tried}
    if messages is None:
        if any("permission" in t or "not permitted" in t for t in tried):
            return verdict.could_not_run(
                "The kernel log is not readable by this user", "Run the diagnostics as a user "
                "allowed to read the kernel log (root, or groups adm/systemd-journal).", details)
        return verdict.not_applicable("No kernel log is available on this system", details)
    counts = {key: 0 for key in PATTERNS}
    examples: dict[str, list[str]] = {key: [] for key in PATTERNS}
    for message in messages:
        for key, pattern in PATTERNS.items():
            if pattern.search(message):
                counts[key] += 1
                if len(examples[key]) < 3:
                    examples[key].append(message[:300])
    details.update(source=source, error_messages=len(messages), counts=counts,
                   examples={k: v for k, v in examples.items() if v})
    for key, (status, what, action) in JUDGEMENT.items():
        if counts[key]:
            verdict.problem(status, f"{counts[key]} {what}", action)
    return verdict.result(f"No OOM kills, I/O errors or machine checks in the last "
                          f"{settings.kernel_log_hours} h ({len(messages)} error message(s) "
                          f"in {source})", details)


def _journal(host: Host, seconds: int) -> tuple[list[str] | None, str]:
    if not _journal_files(host):
        return None, "no journal files"
    # A canned host keeps its own journal files: read those, not this machine's.
    root = [] if host.is_live else [f"--root={host.root}"]
    result = host.run(["journalctl", *root, "-k", "--since", f"-{seconds}s", "-o", "json",
                       "-p", "err", "--no-pager", "-n", str(MAX_RECORDS)],
                      timeout=4, limit=MAX_BYTES)
    if result.missing or result.timed_out:
        return None, result.error or "journalctl failed"
    if result.returncode != 0:
        return None, result.stderr.strip()[:200].lower() or f"exit code {result.returncode}"
    messages = []
    for line in result.stdout.splitlines():
        try:
            message = json.loads(line).get("MESSAGE")
        except json.JSONDecodeError:
            continue
        if isinstance(message, str):
            messages.append(message)
    return messages, ""


def _journal_files(host: Host) -> bool:
    """True when journald keeps files, in /var/log/journal or /run/log/journal/<machine-id>/."""
    return any(name.endswith(".journal") or host.listdir(f"{directory}/{name}")
               for directory in ("/var/log/journal", "/run/log/journal")
               for name in host.listdir(directory))


def _kmsg(host: Host, seconds: int) -> tuple[list[str] | None, str]:
    uptime = boot.uptime(host)
    try:
        fd = os.open(host.path("/dev/kmsg"), os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        return None, "not present"
    except PermissionError:
        return None, "permission denied"
    except OSError as exc:
        return None, (exc.strerror or str(exc)).lower()
    records, size = [], 0
    pending = b""
    try:
        while size < MAX_BYTES and len(records) < MAX_RECORDS:
            try:
                chunk = os.read(fd, 16384)  # /dev/kmsg hands out one record per read
            except BlockingIOError:
                break
            except OSError as exc:
                if exc.errno == errno.EPIPE:  # records overwritten while reading: go on
                    continue
                if exc.errno in (errno.EPERM, errno.EACCES):
                    return None, "permission denied"
                return None, (exc.strerror or str(exc)).lower()
            if not chunk:
                break
            size += len(chunk)
            pending += chunk
            *lines, pending = pending.split(b"\n")
            records += lines
    finally:
        os.close(fd)
    since_us = (uptime - seconds) * 1e6 if uptime is not None else 0
    messages = []
    for raw in records:
        match = KMSG_RECORD.match(raw.decode("utf-8", errors="replace"))
        if match and int(match[1]) & 7 <= ERR and int(match[2]) >= since_us:
            messages.append(match[3])
    return messages, ""


def _dmesg(host: Host, seconds: int) -> tuple[list[str] | None, str]:
    if not host.is_live:
        return None, "only on the live system"
    result = host.run(["dmesg", "--raw", "--level=emerg,alert,crit,err"], timeout=3,
                      limit=MAX_BYTES)
    if result.missing or result.timed_out:
        return None, result.error or "dmesg failed"
    if result.returncode != 0:
        return None, result.stderr.strip()[:200].lower() or f"exit code {result.returncode}"
    uptime = boot.uptime(host)
    since = uptime - seconds if uptime is not None else 0
    messages = []
    for line in result.stdout.splitlines():
        match = DMESG_RAW.match(line)
        if match and float(match[2]) >= since:
            messages.append(match[3])
    return messages, ""
