"""Real notification receivers on loopback for the notification tests: an SMTP server
(aiosmtpd, STARTTLS with a trustme certificate), an HTTPS webhook receiver and syslog
sockets, and a guard that refuses any connection off loopback."""

from __future__ import annotations

import socket
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

LOOPBACK = ("127.0.0.1", "::1")
# Names the tests' resolver knows; the documentation address is never connected to.
LOCAL_NAME = "hooks.example.test"
MAIL_NAME = "mail.example.test"
PUBLIC_NAME = "hooks.example.com"
PUBLIC_ADDRESS = "203.0.113.5"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Resolver:
    """Answers the test names (and IP literals) and remembers every question."""

    def __init__(self):
        self.names = {LOCAL_NAME: ["127.0.0.1"], MAIL_NAME: ["127.0.0.1"],
                      PUBLIC_NAME: [PUBLIC_ADDRESS]}
        self.asked: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        if host in LOOPBACK:
            return [host]
        if host not in self.names:
            raise OSError(-2, "Name or service not known")
        return self.names[host]


def loopback_only(real_connect):
    """socket.create_connection refusing every address but loopback."""
    def connect(address, *args, **kwargs):
        assert address[0] in LOOPBACK, f"a test tried to connect to {address[0]}"
        return real_connect(address, *args, **kwargs)
    return connect


@dataclass
class Mailbox:
    messages: list = field(default_factory=list)
    logins: list = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.messages.append(envelope)
        return "250 OK"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        if isinstance(auth_data, LoginPassword):
            self.logins.append((auth_data.login.decode(), auth_data.password.decode()))
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False)


def smtp_server(certificate, implicit_tls=False, **options) -> tuple[Controller, Mailbox]:
    """An SMTP server on loopback offering STARTTLS with ``certificate`` (or speaking TLS
    from the start); started."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    certificate.configure_cert(context)
    mailbox = Mailbox()
    tls = {"ssl_context": context} if implicit_tls else {"tls_context": context}
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port(),
                            authenticator=mailbox.authenticate, **tls, **options)
    controller.start()
    return controller, mailbox


class WebhookReceiver(ThreadingHTTPServer):
    """HTTPS on loopback: keeps each POST (path, headers, body) and answers ``status``."""

    daemon_threads = True

    def __init__(self, certificate, status: int = 204):
        super().__init__(("127.0.0.1", 0), _Hook)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        certificate.configure_cert(context)
        self.socket = context.wrap_socket(self.socket, server_side=True)
        self.status = status
        self.received: list[tuple[str, dict, bytes]] = []
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return self.server_address[1]

    def stop(self):
        self.shutdown()
        self.server_close()


class _Hook(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.received.append((self.path, dict(self.headers), body))
        self.send_response(self.server.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def udp_listener() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5)
    return sock


def nothing_waiting(sock: socket.socket) -> bool:
    """No datagram has arrived (sending is over when a delivery pass returns)."""
    sock.setblocking(False)
    try:
        sock.recv(65535)
    except BlockingIOError:
        return True
    finally:
        sock.settimeout(5)
    return False
