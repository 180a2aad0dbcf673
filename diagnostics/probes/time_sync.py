"""The kernel clock is synchronised and the configured NTP server answers."""

from __future__ import annotations

from diagnostics.host import Host
from diagnostics.net import describe_error
from diagnostics.requires import NOTHING
from diagnostics.result import Result, Status, Verdict
from diagnostics.settings import ProbeSettings, parse_endpoint

ID = "time_sync"
TITLE = "Time synchronisation"
DESCRIPTION = ("The kernel clock is synchronised (adjtimex) and the configured NTP server "
               "answers an SNTP query.")
REQUIRES = NOTHING

OFFSET_WARNING = 1.0  # seconds; beyond this, logs and certificates start to disagree
OFFSET_UNHEALTHY = 60.0
SYNC_ACTION = ("Enable a time service (systemd-timesyncd or chrony) pointed at a reachable NTP "
               "server.")


def run(host: Host, settings: ProbeSettings) -> Result:
    """Read the kernel's synchronisation state and query the NTP server once."""
    verdict = Verdict(ID, TITLE)
    details: dict = {"ntp_server": settings.ntp_server}
    try:
        kernel = host.kernel_clock()
    except OSError as exc:
        kernel, details["kernel_clock_error"] = None, str(exc)
    if kernel is not None:
        details["kernel_clock"] = kernel.to_dict()

    server_answer = None
    if settings.ntp_server:
        name, port = parse_endpoint(settings.ntp_server, default_port=123)
        try:
            answer = host.sntp(name, port, settings.network_timeout)
        except OSError as exc:
            details["ntp_error"] = describe_error(exc)
        else:
            server_answer = answer
            details["ntp_answer"] = {"address": answer.address, "stratum": answer.stratum,
                                     "offset_seconds": round(answer.offset, 6),
                                     "delay_seconds": round(answer.delay, 6)}

    if kernel is None and server_answer is None and not settings.ntp_server:
        return verdict.not_applicable("Neither the kernel clock state nor an NTP server is "
                                      "available to check", details)
    unsynchronised = kernel is not None and not kernel.synchronised
    if unsynchronised:
        status = Status.UNHEALTHY if server_answer is None else Status.WARNING
        verdict.problem(status, "The kernel clock is not synchronised", SYNC_ACTION)
    if settings.ntp_server and server_answer is None:
        status = Status.UNHEALTHY if unsynchronised else Status.WARNING
        verdict.problem(status, f"NTP server {settings.ntp_server} did not answer "
                                f"({details['ntp_error']})",
                        f"Check that {settings.ntp_server} is reachable over UDP port 123, or "
                        "configure a reachable NTP server.")
    if server_answer is not None and abs(server_answer.offset) > OFFSET_WARNING:
        status = Status.UNHEALTHY if abs(server_answer.offset) > OFFSET_UNHEALTHY else \
            Status.WARNING
        verdict.problem(status, f"The clock is {server_answer.offset:+.1f} s off "
                                f"{settings.ntp_server}", SYNC_ACTION)
    summary = "Clock synchronised" if kernel is not None else "Kernel clock state not available"
    if server_answer is not None:
        summary += f"; {settings.ntp_server} answers, offset {server_answer.offset * 1000:+.0f} ms"
    return verdict.result(summary, details)
