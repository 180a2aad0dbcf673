"""Sending one notification over a channel, and the connectivity mode's say on it (SPEC F5).

Each destination is resolved once, checked against the mode, and connected to at exactly the
addresses checked (names keep their role for TLS and the Host header), so a second lookup
cannot send the message somewhere the check never saw.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import http.client
import ipaddress
import os
import smtplib
import socket
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from diagnostics.proxy import Proxy, applies
from webui.connectivity import policy
from webui.notifications import messages
from webui.notifications.channels import FACILITIES, Channel

TIMEOUT = 10.0
LOCAL_JOURNAL = "/dev/log"
USER_AGENT = "edge-webui"
SIGNATURE_HEADER = "X-Edge-Signature"
# RFC 5424 severities of the alert severities; tests and digests are notices.
SYSLOG_SEVERITY = {"critical": 2, "warning": 4, "informational": 6}
SYSLOG_NOTICE = 5
SYSLOG_MAX = 2048
UTF8_BOM = "\ufeff"

# Private (RFC 1918, RFC 4193), link-local and loopback networks. Not ``is_private``: Python
# counts the documentation ranges (such as 203.0.113.0/24) as private too.
LOCAL_NETWORKS = tuple(ipaddress.ip_network(net) for net in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "127.0.0.0/8",
    "fc00::/7", "fe80::/10", "::1/128"))

Resolver = Callable[[str, int], Sequence[str]]


class SendFailed(Exception):
    """The attempt did not get the message through; the message says why (retried)."""


class Suppressed(Exception):
    """The connectivity mode keeps the message on the device; the message says why."""


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` has, in the resolver's order, without repeats."""
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in found))


@dataclass(frozen=True)
class Outgoing:
    """One message to send: what it says, its delivery's id, and who is sending."""

    message: dict[str, Any]
    delivery_id: int
    sent_at: float
    secret: str | None
    local_journal: str = LOCAL_JOURNAL


def endpoint(channel: Channel) -> tuple[str, int]:
    """The host and port a channel reaches (not for the local journal)."""
    s = channel.settings
    if channel.kind == "webhook":
        url = urlsplit(s["url"])
        return url.hostname or "", url.port or 443
    return s["host"], int(s["port"])


def _on_local_network(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return any(ip in network for network in LOCAL_NETWORKS if ip.version == network.version)


def _check_local(host: str, addresses: Sequence[str]) -> None:
    public = [address for address in addresses if not _on_local_network(address)]
    if public:
        raise Suppressed(f"{host} resolves to {', '.join(public)}, which is not on a local "
                         "network: the device is partially disconnected and sends "
                         "notifications to private, link-local or loopback addresses only.")


def send(channel: Channel, outgoing: Outgoing, mode: str, resolver: Resolver = resolve,
         proxy: Proxy | None = None) -> None:
    """Send ``outgoing`` over ``channel`` if ``mode`` lets it leave; raises ``Suppressed`` or
    ``SendFailed``. A webhook goes through ``proxy`` unless its no-proxy list names the host or
    the device is partially disconnected (then only local addresses, reached directly)."""
    if channel.is_local:
        _to_journal(channel, outgoing)
        return
    allowance = policy.allows("notifications", mode)
    if not allowance:  # not even a name lookup leaves the device
        raise Suppressed(allowance.reason)
    host, port = endpoint(channel)
    if channel.kind == "webhook" and mode != "partially_disconnected" and applies(proxy, host):
        # The proxy resolves the host: the device needs no public DNS of its own.
        attempt = partial(_send_webhook, channel, outgoing, (), proxy)
        where = f"{host}:{port} through the web proxy {proxy.address}"
    else:
        addresses = _addresses(host, port, resolver)
        if mode == "partially_disconnected":
            _check_local(host, addresses)
        attempt = partial(SENDERS[channel.kind], channel, outgoing, addresses)
        where = f"{host}:{port}"
    try:
        attempt()
    except ssl.SSLError as exc:
        raise SendFailed(f"TLS with {where} failed ({_why(exc)}).") from None
    except (OSError, smtplib.SMTPException, http.client.HTTPException) as exc:
        raise SendFailed(f"{where}: {_why(exc)}.") from None


def _addresses(host: str, port: int, resolver: Resolver) -> list[str]:
    try:
        addresses = list(resolver(host, port))
    except (OSError, UnicodeError) as exc:
        raise SendFailed(f"{host} cannot be resolved ({_why(exc)}).") from None
    if not addresses:
        raise SendFailed(f"{host} cannot be resolved (no address).")
    return addresses


def _why(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return exc.verify_message or str(exc)
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"the server answered {exc.smtp_code} {exc.smtp_error.decode(errors='replace')}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return f"the server refused the recipients {', '.join(exc.recipients)}"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def _connect(addresses: Sequence[str], port: int, timeout: float) -> socket.socket:
    """A TCP connection to the first of ``addresses`` that answers."""
    last: OSError = OSError("no address to connect to")
    for address in addresses:
        try:
            return socket.create_connection((address, port), timeout)
        except OSError as exc:
            last = exc
    raise last


def _tls_context(ca_file: str | None) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=ca_file or None)


# --- e-mail --------------------------------------------------------------------------------

class _PinnedSMTP(smtplib.SMTP):
    """SMTP to the checked addresses; the host name still names the server for STARTTLS."""

    def __init__(self, addresses: Sequence[str], **kwargs):
        self.addresses = addresses
        super().__init__(**kwargs)

    def _get_socket(self, host, port, timeout):
        return _connect(self.addresses, port, timeout)


class _PinnedSMTPS(smtplib.SMTP_SSL):
    def __init__(self, addresses: Sequence[str], **kwargs):
        self.addresses = addresses
        super().__init__(**kwargs)

    def _get_socket(self, host, port, timeout):
        return self.context.wrap_socket(_connect(self.addresses, port, timeout),
                                        server_hostname=self._host)


def email_message(channel: Channel, outgoing: Outgoing) -> EmailMessage:
    s, message = channel.settings, outgoing.message
    mail = EmailMessage()
    mail["Subject"] = messages.subject(message)
    mail["From"] = s["sender"]
    mail["To"] = ", ".join(s["recipients"])
    mail["Date"] = formatdate(outgoing.sent_at)
    mail["Message-ID"] = make_msgid("notification", domain=message["device"])
    mail.set_content(messages.text(message))
    return mail


def _send_email(channel: Channel, outgoing: Outgoing, addresses: Sequence[str]) -> None:
    s = channel.settings
    context = _tls_context(s.get("ca_file"))
    host, port = endpoint(channel)
    # Given the host, smtplib connects at once and names the server by it for TLS.
    if s["security"] == "tls":
        smtp: smtplib.SMTP = _PinnedSMTPS(addresses, host=host, port=port, timeout=TIMEOUT,
                                          context=context)
    else:
        smtp = _PinnedSMTP(addresses, host=host, port=port, timeout=TIMEOUT)
    with smtp:
        if s["security"] == "starttls":
            smtp.ehlo()
            smtp.starttls(context=context)
        if s.get("username"):
            smtp.login(s["username"], outgoing.secret or "")
        smtp.send_message(email_message(channel, outgoing))


# --- webhook -------------------------------------------------------------------------------

def signature(secret: str, body: bytes) -> str:
    """The signature header's value: ``sha256=`` and the hex HMAC-SHA256 of the body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook_headers(outgoing: Outgoing, body: bytes) -> dict[str, str]:
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT,
               "X-Edge-Event": outgoing.message["event"],
               "X-Edge-Delivery": str(outgoing.delivery_id)}
    if outgoing.secret:
        headers[SIGNATURE_HEADER] = signature(outgoing.secret, body)
    return headers


def _send_webhook(channel: Channel, outgoing: Outgoing, addresses: Sequence[str],
                  proxy: Proxy | None = None) -> None:
    url = urlsplit(channel.settings["url"])
    host, port = endpoint(channel)
    body = messages.webhook_body(outgoing.message, outgoing.sent_at)
    context = _tls_context(channel.settings.get("ca_file"))
    if proxy is not None:
        conn = http.client.HTTPSConnection(proxy.host, proxy.port, timeout=TIMEOUT,
                                           context=context)
        authorization = proxy.authorization()
        conn.set_tunnel(host, port, headers={"Proxy-Authorization": authorization}
                        if authorization else None)
    else:
        conn = http.client.HTTPSConnection(host, port, timeout=TIMEOUT, context=context)
        conn._create_connection = lambda _address, timeout, _source=None: _connect(  # noqa: SLF001
            addresses, port, timeout)
    try:
        conn.request("POST", (url.path or "/") + (f"?{url.query}" if url.query else ""), body,
                     webhook_headers(outgoing, body))
        answer = conn.getresponse()
        answer.read(4096)
    finally:
        conn.close()
    if not 200 <= answer.status < 300:
        raise SendFailed(f"{channel.settings['url']} answered HTTP {answer.status} "
                         f"{answer.reason}.")


# --- syslog --------------------------------------------------------------------------------

def syslog_line(channel: Channel, outgoing: Outgoing) -> bytes:
    """One RFC 5424 message: PRI, version, time, host, app, process, message id, no
    structured data, then the text (UTF-8, marked by its BOM)."""
    message = outgoing.message
    alert = message["alert"]
    severity = SYSLOG_SEVERITY[alert["severity"]] if alert else SYSLOG_NOTICE
    pri = FACILITIES[channel.settings["facility"]] * 8 + severity
    stamp = dt.datetime.fromtimestamp(outgoing.sent_at, dt.UTC).isoformat(
        timespec="milliseconds").replace("+00:00", "Z")
    head = f"<{pri}>1 {stamp} {message['device']} {USER_AGENT} {os.getpid()} " \
           f"{message['event']} - "
    return (head + UTF8_BOM + messages.one_line(message)).encode()[:SYSLOG_MAX]


def _to_journal(channel: Channel, outgoing: Outgoing) -> None:
    path = outgoing.local_journal
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(path)
            sock.send(syslog_line(channel, outgoing))
    except OSError as exc:
        raise SendFailed(f"the local journal at {path} cannot be written "
                         f"({_why(exc)}).") from None


def _send_syslog(channel: Channel, outgoing: Outgoing, addresses: Sequence[str]) -> None:
    line = syslog_line(channel, outgoing)
    _host, port = endpoint(channel)
    if channel.settings["transport"] == "tcp":
        with _connect(addresses, port, TIMEOUT) as sock:
            sock.sendall(f"{len(line)} ".encode() + line)  # RFC 6587 octet counting
        return
    address = addresses[0]
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.sendto(line, (address, port))


SENDERS: dict[str, Callable[[Channel, Outgoing, Sequence[str]], None]] = {
    "email": _send_email, "webhook": _send_webhook, "syslog": _send_syslog}
