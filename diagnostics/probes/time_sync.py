"""The kernel clock is synchronised and the configured NTP server answers."""

from __future__ import annotations

from diagnostics.host import Host
from diagnostics.net import concurrently, describe_error
from diagnostics.requires import NOTHING
from diagnostics.result import Result, Status, Verdict
from diagnostics.settings import ProbeSettings, parse_endpoint

ID = "time_sync"
TITLE = "Time synchronisation"
DESCRIPTION = ("The kernel clock is synchronised (adjtimex) and the configured NTP servers "
               "(primary and secondary) answer an SNTP query.")
REQUIRES = NOTHING

OFFSET_WARNING = 1.0  # seconds; beyond this, logs and certificates start to disagree
OFFSET_UNHEALTHY = 60.0
SYNC_ACTION = ("Enable a time service (systemd-timesyncd or chrony) pointed at a reachable NTP "
               "server.")


def run(host: Host, settings: ProbeSettings) -> Result:
    """Read the kernel's synchronisation state and query the NTP servers once, at once."""
    verdict = Verdict(ID, TITLE)
    details: dict = {"ntp_server": settings.ntp_server}
    try:
        kernel = host.kernel_clock()
    except OSError as exc:
        kernel, details["kernel_clock_error"] = None, str(exc)
    if kernel is not None:
        details["kernel_clock"] = kernel.to_dict()

    servers = [s for s in (settings.ntp_server, settings.ntp_secondary) if s]
    asked = concurrently(lambda server: _ask(host, server, settings.network_timeout), servers,
                         settings.network_timeout + 0.5)
    answers = [a or {"server": s, "error": "no answer in time"}
               for s, a in zip(servers, asked, strict=True)]
    if answers:
        primary = answers[0]
        details.update({k: v for k, v in (("ntp_answer", primary.get("answer")),
                                          ("ntp_error", primary.get("error"))) if v})
    if settings.ntp_secondary:
        details["ntp_servers"] = [{k: v for k, v in a.items() if k != "sntp"} for a in answers]
    answered = [a for a in answers if "answer" in a]
    server_answer = answered[0]["sntp"] if answered else None
    reference = answered[0]["server"] if answered else None

    if kernel is None and not servers:
        return verdict.not_applicable("Neither the kernel clock state nor an NTP server is "
                                      "available to check", details)
    unsynchronised = kernel is not None and not kernel.synchronised
    if unsynchronised:
        status = Status.UNHEALTHY if server_answer is None else Status.WARNING
        verdict.problem(status, "The kernel clock is not synchronised", SYNC_ACTION)
    for failed in (a for a in answers if "error" in a):
        # One silent server of two is a warning: the other still keeps time.
        status = Status.UNHEALTHY if unsynchronised and server_answer is None else Status.WARNING
        role = ("" if len(servers) == 1 else
                " (primary)" if failed is answers[0] else " (secondary)")
        still = f"; {reference} answers" if reference else ""
        verdict.problem(status, f"NTP server {failed['server']}{role} did not answer "
                                f"({failed['error']}){still}",
                        f"Check that {failed['server']} is reachable over UDP port 123, or "
                        "configure a reachable NTP server.")
    if server_answer is not None and abs(server_answer.offset) > OFFSET_WARNING:
        status = Status.UNHEALTHY if abs(server_answer.offset) > OFFSET_UNHEALTHY else \
            Status.WARNING
        verdict.problem(status, f"The clock is {server_answer.offset:+.1f} s off "
                                f"{reference}", SYNC_ACTION)
    summary = "Clock synchronised" if kernel is not None else "Kernel clock state not available"
    if server_answer is not None:
        summary += f"; {reference} answers, offset {server_answer.offset * 1000:+.0f} ms"
    return verdict.result(summary, details)


def _ask(host: Host, server: str, timeout: float) -> dict:
    """One SNTP query: the answer (as shown and as measured) or the reason there is none."""
    name, port = parse_endpoint(server, default_port=123)
    try:
        answer = host.sntp(name, port, timeout)
    except OSError as exc:
        return {"server": server, "error": describe_error(exc)}
    return {"server": server, "sntp": answer,
            "answer": {"address": answer.address, "stratum": answer.stratum,
                       "offset_seconds": round(answer.offset, 6),
                       "delay_seconds": round(answer.delay, 6)}}
