"""The web proxy the device's outbound connections go through, and the tunnel through it.

The device speaks plain HTTP to the proxy and asks it with ``CONNECT host:port`` for a tunnel,
inside which TLS runs end to end, as curl and browsers do. A destination the no-proxy list
names is reached directly. The proxy resolves the destination's name itself, so the device
needs no public DNS when it has a proxy.
"""

from __future__ import annotations

import base64
import ipaddress
import socket
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

ANSWER_LIMIT = 16 * 1024


class ProxyError(OSError):
    """The proxy did not open the tunnel; the message says what it answered."""


@dataclass(frozen=True)
class Proxy:
    """An HTTP proxy at ``host:port``, with optional Basic credentials and a no-proxy list of
    host names, ``.domain`` suffixes, addresses and IPv4 networks (``*``: every host)."""

    host: str
    port: int
    user: str = ""
    password: str = field(default="", repr=False)
    no_proxy: tuple[str, ...] = ()

    @classmethod
    def from_url(cls, url: str, user: str = "", password: str = "",
                 no_proxy: tuple[str, ...] | list[str] = ()) -> Proxy | None:
        """The proxy of an ``http://host:port`` URL; None for an empty URL."""
        if not url:
            return None
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname or not parts.port:
            raise ValueError(f"expected http://host:port, not {url!r}")
        return cls(parts.hostname, parts.port, user, password, tuple(no_proxy))

    @property
    def address(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def bypasses(self, host: str) -> bool:
        """True when ``host`` is on the no-proxy list, so it is reached directly."""
        name = host.strip("[]").rstrip(".").lower()
        address = _address(name)
        for entry in self.no_proxy:
            entry = entry.strip().strip("[]").lower()
            if entry == "*":
                return True
            if "/" in entry and address is not None:
                try:
                    if address in ipaddress.ip_network(entry, strict=False):
                        return True
                except ValueError:
                    continue
            suffix = entry.lstrip(".")
            if suffix == name or (address is None and suffix and name.endswith("." + suffix)):
                return True
        return False

    def authorization(self) -> str | None:
        """The ``Proxy-Authorization`` header's value, when the proxy has a user."""
        if not self.user:
            return None
        pair = f"{self.user}:{self.password}".encode()
        return "Basic " + base64.b64encode(pair).decode("ascii")

    def url(self) -> str:
        """The proxy as a URL with its credentials, as HTTP clients take it."""
        credentials = (f"{quote(self.user, safe='')}:{quote(self.password, safe='')}@"
                       if self.user else "")
        return f"http://{credentials}{self.address}"


def applies(proxy: Proxy | None, host: str) -> bool:
    """True when a connection to ``host`` goes through ``proxy``."""
    return proxy is not None and not proxy.bypasses(host)


def tunnel(proxy: Proxy, host: str, port: int, timeout: float) -> socket.socket:
    """A socket to ``host:port`` through ``proxy`` (HTTP CONNECT). Raises ``OSError``:
    ``ProxyError`` when the proxy answers anything but 2xx."""
    try:
        sock = socket.create_connection((proxy.host, proxy.port), timeout)
    except OSError as exc:
        why = "timed out" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
        raise ProxyError(f"the proxy {proxy.address} cannot be reached ({why.lower()})") from None
    try:
        target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        request = [f"CONNECT {target} HTTP/1.1", f"Host: {target}"]
        if proxy.authorization():
            request.append(f"Proxy-Authorization: {proxy.authorization()}")
        sock.sendall(("\r\n".join(request) + "\r\n\r\n").encode())
        status, reason = _answer(sock)
        if not 200 <= status < 300:
            hint = " (it asks for a user and password)" if status == 407 else ""
            raise ProxyError(f"the proxy {proxy.address} answered {status} {reason}{hint}")
    except BaseException:
        sock.close()
        raise
    return sock


def _answer(sock: socket.socket) -> tuple[int, str]:
    """Read the proxy's answer head (up to the blank line) and parse its status line."""
    head = b""
    while b"\r\n\r\n" not in head:
        # One byte at a time: whatever follows the head belongs to the tunnel.
        chunk = sock.recv(1)
        if not chunk:
            raise ProxyError("the proxy closed the connection without an answer")
        head += chunk
        if len(head) > ANSWER_LIMIT:
            raise ProxyError("the proxy's answer is too long")
    status_line = head.split(b"\r\n", 1)[0].decode("latin-1")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise ProxyError(f"the proxy answered something other than HTTP: {status_line[:80]!r}")
    return int(parts[1]), parts[2].strip() if len(parts) > 2 else ""


def _address(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        return None
