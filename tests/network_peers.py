"""Peers on loopback the device talks to: an NTP server and an HTTP CONNECT web proxy.

Both run in threads of the test, listen on 127.0.0.1 only and note what they were asked, so a
test asserts what really went over the wire.
"""

from __future__ import annotations

import base64
import selectors
import socket
import struct
import threading
import time

from diagnostics.net import NTP_EPOCH_OFFSET


class SntpResponder:
    """An NTP server on a loopback port that answers every query and counts them."""

    def __init__(self):
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", 0))
        self.socket.settimeout(0.2)
        self.queries = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.socket.getsockname()[1]}"

    def _serve(self):
        while not self.stopping.is_set():
            try:
                request, client = self.socket.recvfrom(512)
            except TimeoutError:
                continue
            self.queries += 1
            now = time.time()
            stamp = struct.pack("!II", int(now) + NTP_EPOCH_OFFSET, int((now % 1) * 2**32))
            reply = bytes([(4 << 3) | 4, 2, 6, 0xEC]) + bytes(20) + request[40:48] + stamp + stamp
            self.socket.sendto(reply, client)

    def stop(self):
        self.stopping.set()
        self.thread.join()
        self.socket.close()


class ConnectProxy:
    """An HTTP proxy on loopback that opens ``CONNECT`` tunnels and relays their bytes.

    ``routes`` maps a requested ``host:port`` to the loopback address really connected to, so
    a test can name a cloud host that no DNS knows: only the proxy needs to reach it. With
    ``credentials`` set, a tunnel needs that ``(user, password)`` as Basic
    ``Proxy-Authorization`` (407 otherwise). ``tunnels`` lists every request: the target asked
    for and the status answered.
    """

    def __init__(self, routes: dict[str, tuple[str, int]] | None = None,
                 credentials: tuple[str, str] | None = None):
        self.routes = dict(routes or {})
        self.credentials = credentials
        self.tunnels: list[tuple[str, int]] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}"

    @property
    def targets(self) -> list[str]:
        """Each target a tunnel was opened to."""
        return [target for target, status in self.tunnels if status == 200]

    def _accept(self):
        while not self.stopping.is_set():
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket):
        with client:
            client.settimeout(5)
            head = b""
            while b"\r\n\r\n" not in head and len(head) < 16384:
                chunk = client.recv(4096)
                if not chunk:
                    return
                head += chunk
            lines = head.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
            method, target, _version = lines[0].split(" ", 2)
            headers = {k.strip().lower(): v.strip()
                       for k, _, v in (line.partition(":") for line in lines[1:])}
            status = self._status(method, headers)
            if status != 200:
                self.tunnels.append((target, status))
                client.sendall(f"HTTP/1.1 {status} Refused\r\nContent-Length: 0\r\n"
                               f"Proxy-Authenticate: Basic realm=\"edge\"\r\n\r\n".encode())
                return
            host, _, port = target.rpartition(":")
            try:
                upstream = socket.create_connection(
                    self.routes.get(target, (host.strip("[]"), int(port))), 5)
            except OSError:
                self.tunnels.append((target, 502))
                client.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                return
            self.tunnels.append((target, 200))
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            with upstream:
                _relay(client, upstream)

    def _status(self, method: str, headers: dict[str, str]) -> int:
        if method != "CONNECT":
            return 405
        if self.credentials is None:
            return 200
        expected = "Basic " + base64.b64encode(":".join(self.credentials).encode()).decode()
        return 200 if headers.get("proxy-authorization") == expected else 407

    def stop(self):
        self.stopping.set()
        self.thread.join()
        self.listener.close()


def _relay(one: socket.socket, other: socket.socket) -> None:
    """Copy bytes both ways until either side closes or both are idle for 5 s."""
    selector = selectors.DefaultSelector()
    selector.register(one, selectors.EVENT_READ, other)
    selector.register(other, selectors.EVENT_READ, one)
    with selector:
        while events := selector.select(timeout=5):  # idle for 5 s: the tunnel is done
            for key, _ in events:
                try:
                    data = key.fileobj.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                key.data.sendall(data)
