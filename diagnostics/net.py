"""Short, bounded network questions: name resolution, TCP reachability and SNTP.

Every call takes a timeout and gives up by then, even when the system resolver would wait longer.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from diagnostics.proxy import Proxy, ProxyError, tunnel

T = TypeVar("T")
R = TypeVar("R")

NTP_EPOCH_OFFSET = 2208988800  # seconds from 1900-01-01 to 1970-01-01


@dataclass(frozen=True)
class SntpAnswer:
    """One server's answer: clock offset and round-trip delay in seconds."""

    address: str
    stratum: int
    offset: float
    delay: float


def resolve(name: str, port: int, timeout: float) -> list[tuple]:
    """``getaddrinfo`` for TCP, abandoned after ``timeout`` seconds (raises ``TimeoutError``)."""
    if _is_address(name):
        family = socket.AF_INET6 if ":" in name else socket.AF_INET
        return [(family, (name, port))]
    box: dict = {}

    def lookup() -> None:
        try:
            box["value"] = socket.getaddrinfo(name, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            box["error"] = exc

    # getaddrinfo cannot be interrupted: a daemon thread lets a stuck resolver be left behind.
    worker = threading.Thread(target=lookup, daemon=True, name=f"resolve {name}")
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise TimeoutError(f"resolving {name} took longer than {timeout:g} s")
    if "error" in box:
        raise box["error"]
    return [(family, sockaddr) for family, _, _, _, sockaddr in box["value"]]


def tcp_connect(host: str, port: int, timeout: float) -> float:
    """Open and close a TCP connection; return seconds it took. Raises ``OSError`` on failure."""
    deadline = time.monotonic() + timeout
    addresses = resolve(host, port, timeout)
    error: OSError = OSError(f"{host} has no address")
    for family, sockaddr in addresses:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"connecting to {host}:{port} took longer than {timeout:g} s")
        start = time.monotonic()
        try:
            with socket.socket(family, socket.SOCK_STREAM) as sock:
                sock.settimeout(remaining)
                sock.connect(sockaddr)
            return time.monotonic() - start
        except OSError as exc:
            error = exc
    raise error


def tunnel_connect(proxy: Proxy, host: str, port: int, timeout: float) -> float:
    """Open and close a tunnel to ``host:port`` through ``proxy``; return seconds it took.
    Raises ``OSError`` (``ProxyError`` when the proxy refuses)."""
    start = time.monotonic()
    try:
        with tunnel(proxy, host, port, timeout):
            return time.monotonic() - start
    except TimeoutError:
        raise TimeoutError(f"the proxy {proxy.address} did not open a tunnel to {host}:{port} "
                           f"within {timeout:g} s") from None


def answers(host: str, port: int, timeout: float) -> bool:
    """True when something at ``host`` answered a TCP connection, even with a refusal."""
    try:
        tcp_connect(host, port, timeout)
    except ConnectionRefusedError:
        return True
    except OSError:
        return False
    return True


def sntp_query(server: str, port: int, timeout: float) -> SntpAnswer:
    """Ask an NTP server for the time (RFC 4330 client request) and compute our offset."""
    deadline = time.monotonic() + timeout
    family, sockaddr = _udp_address(server, port, timeout)
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        # A connected socket hears "port unreachable", so a closed port fails at once.
        sock.connect(sockaddr)
        sent = time.time()
        request = bytearray(48)
        request[0] = (4 << 3) | 3  # version 4, client mode
        request[40:48] = _ntp_timestamp(sent)
        sock.send(bytes(request))
        while True:
            data = sock.recv(512)
            received = time.time()
            if len(data) >= 48 and data[24:32] == request[40:48]:
                break
            sock.settimeout(max(0.05, deadline - time.monotonic()))
    mode, stratum = data[0] & 7, data[1]
    if mode != 4:
        raise OSError(f"NTP answer in unexpected mode {mode}")
    if stratum == 0:
        raise OSError(f"NTP server refused: kiss code {data[12:16].decode('ascii', 'replace')}")
    server_received = _from_ntp(data[32:40])
    server_sent = _from_ntp(data[40:48])
    offset = ((server_received - sent) + (server_sent - received)) / 2
    delay = (received - sent) - (server_sent - server_received)
    return SntpAnswer(sockaddr[0], stratum, offset, delay)


def concurrently(function: Callable[[T], R], items: Iterable[T], timeout: float) -> list[R | None]:
    """Call ``function`` on every item at once; a call unfinished after ``timeout`` gives None."""
    items = list(items)
    results: list[R | None] = [None] * len(items)

    def call(index: int, item: T) -> None:
        results[index] = function(item)

    workers = [threading.Thread(target=call, args=(i, item), daemon=True)
               for i, item in enumerate(items)]
    for worker in workers:
        worker.start()
    deadline = time.monotonic() + timeout
    for worker in workers:
        worker.join(max(0.0, deadline - time.monotonic()))
    return results


def describe_error(exc: BaseException) -> str:
    """A short reason an admin can act on: 'timed out', 'connection refused', …"""
    if isinstance(exc, ProxyError):
        return str(exc)
    if isinstance(exc, TimeoutError | socket.timeout):
        return str(exc) if str(exc) and str(exc) != "timed out" else "timed out"
    if isinstance(exc, socket.gaierror):
        return f"name not resolved ({exc.strerror})"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc) or type(exc).__name__


def _udp_address(server: str, port: int, timeout: float) -> tuple[int, tuple]:
    if _is_address(server):
        return (socket.AF_INET6 if ":" in server else socket.AF_INET), (server, port)
    family, sockaddr = resolve(server, port, timeout)[0]
    return family, sockaddr


def _is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _ntp_timestamp(unix_time: float) -> bytes:
    seconds = int(unix_time) + NTP_EPOCH_OFFSET
    fraction = int((unix_time % 1) * 2**32)
    return struct.pack("!II", seconds & 0xFFFFFFFF, fraction)


def _from_ntp(raw: bytes) -> float:
    seconds, fraction = struct.unpack("!II", raw)
    return seconds - NTP_EPOCH_OFFSET + fraction / 2**32
