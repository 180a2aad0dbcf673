"""The web UI's TLS certificate: valid now, not about to expire, issued for this device's name."""

from __future__ import annotations

import datetime as dt

from diagnostics import tls
from diagnostics.host import Host
from diagnostics.requires import NOTHING
from diagnostics.result import Result, Status, Verdict
from diagnostics.settings import ProbeSettings

ID = "certificates"
TITLE = "Certificates"
DESCRIPTION = ("The web UI certificate is valid, does not expire within 30 days, and names "
               "this device.")
REQUIRES = NOTHING

RENEW_ACTION = ("Renew the web UI certificate (Certificates page, or 'edge-webui cert generate' "
                "for a new self-signed one) or install one from your certificate authority.")


def run(host: Host, settings: ProbeSettings) -> Result:
    """Load the certificate and check its dates and names."""
    verdict = Verdict(ID, TITLE)
    path = settings.certificate_path
    if not path:
        return verdict.not_applicable("No web UI certificate is configured (plain HTTP or "
                                      "TLS handled elsewhere)")
    pem = host.read_bytes(path, 1 << 20)
    if pem is None:
        verdict.problem(Status.UNHEALTHY, f"The certificate {path} does not exist", RENEW_ACTION)
        return verdict.result("", {"path": path})
    try:
        cert = tls.read_pem(pem)[0]
    except ValueError as exc:
        verdict.problem(Status.UNHEALTHY, f"{path} holds no readable PEM certificate ({exc})",
                        RENEW_ACTION)
        return verdict.result("", {"path": path})

    now = dt.datetime.now(dt.UTC)
    not_before, not_after = cert.not_before, cert.not_after
    days_left = (not_after - now).total_seconds() / 86400
    names = cert.names
    details = {"path": path, "subject": cert.subject, "issuer": cert.issuer,
               "self_signed": cert.self_signed,
               "not_before": not_before.isoformat(), "not_after": not_after.isoformat(),
               "days_left": int(days_left), "names": names, "key": cert.key,
               "sha256_fingerprint": cert.sha256_fingerprint.lower(),
               "device_name": settings.device_name}
    if now < not_before:
        verdict.problem(Status.UNHEALTHY, f"The certificate is not valid before "
                                          f"{not_before:%Y-%m-%d}",
                        "Check the device clock (see Time synchronisation). " + RENEW_ACTION)
    if days_left < 0:
        verdict.problem(Status.UNHEALTHY, f"The certificate expired on {not_after:%Y-%m-%d}",
                        RENEW_ACTION)
    elif days_left < settings.certificate_warning_days:
        verdict.problem(Status.WARNING, f"The certificate expires in {int(days_left)} days "
                                        f"({not_after:%Y-%m-%d})", RENEW_ACTION)
    if settings.device_name and not cert.covers(settings.device_name):
        verdict.problem(Status.WARNING,
                        f"The certificate is for {', '.join(names) or 'no name'}, "
                        f"not {settings.device_name}",
                        "Browsers will warn about this certificate. " + RENEW_ACTION)
    return verdict.result(f"Valid until {not_after:%Y-%m-%d} ({int(days_left)} days), issued "
                          f"for {settings.device_name}", details)
