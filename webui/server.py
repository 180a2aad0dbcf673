"""gunicorn as a library: one worker process with threads (SPEC §1.5)."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import ssl
import sys
import threading

from gunicorn import util as gunicorn_util
from gunicorn.app.base import BaseApplication
from gunicorn.http import wsgi as gunicorn_wsgi

from webui import config as settings

# Mozilla's "intermediate" profile: TLS 1.3, and TLS 1.2 with forward-secret AEAD suites only.
TLS12_CIPHERS = ":".join((
    "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305"))


class ServedCertificate:
    """The TLS context of new connections, made anew when the certificate or key file changes.

    gunicorn asks for a context on every connection: the files are read only when they change,
    so an installed certificate is in service at once, with no restart, and a pair that cannot
    be loaded leaves the previous one in service.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stamp: tuple | None = None
        self._context: ssl.SSLContext | None = None

    def context(self, conf, default_ssl_context_factory) -> ssl.SSLContext:
        stamp = (_file_stamp(conf.certfile), _file_stamp(conf.keyfile))
        with self._lock:
            if self._context is None or stamp != self._stamp:
                self._load(default_ssl_context_factory)
                self._stamp = stamp
            return self._context

    def _load(self, default_ssl_context_factory) -> None:
        try:
            self._context = _intermediate(default_ssl_context_factory())
        except (OSError, ssl.SSLError) as exc:
            if self._context is None:
                raise
            logging.getLogger("gunicorn.error").warning(
                "edge-webui: the new TLS certificate cannot be loaded (%s); the previous one "
                "stays in service", exc)


def _file_stamp(path: str) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


def _intermediate(context: ssl.SSLContext) -> ssl.SSLContext:
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(TLS12_CIPHERS)
    # Every suite left is strong, so the client picks the one its hardware runs fastest.
    context.options &= ~ssl.OP_CIPHER_SERVER_PREFERENCE
    return context


_served = ServedCertificate()


def tls_context(conf, default_ssl_context_factory) -> ssl.SSLContext:
    """gunicorn's ``ssl_context`` hook: the certificate in service, intermediate profile."""
    return _served.context(conf, default_ssl_context_factory)


_gunicorn_headers = gunicorn_wsgi.Response.default_headers


def _headers_without_banner(response) -> list[str]:
    return [line for line in _gunicorn_headers(response) if not line.startswith("Server:")]


def hide_server_banner() -> None:
    """gunicorn always sends ``Server: gunicorn`` and has no setting for it: drop that line."""
    gunicorn_wsgi.Response.default_headers = _headers_without_banner


_gunicorn_write = gunicorn_wsgi.Response.write


def _write_headers_with_body(response, data) -> None:
    # gunicorn writes the headers and the body apart: two TLS records and two system calls
    # for every answer. The first body bytes of an answer of known length leave with them.
    if (response.headers_sent or response.chunked or response._omits_body
            or not isinstance(data, bytes) or not data):
        _gunicorn_write(response, data)
        return
    if response.response_length is not None:
        data = data[:response.response_length]
    lines = response.default_headers()
    lines.extend(f"{name}: {value}\r\n" for name, value in response.headers)
    head = ("".join(lines) + "\r\n").encode("latin-1")
    response.headers_sent = True
    response.sent += len(data)
    gunicorn_util.write(response.sock, head + data)


def send_headers_with_body() -> None:
    """Headers and the first body bytes of an answer in one write (see above)."""
    gunicorn_wsgi.Response.write = _write_headers_with_body


class _Gunicorn(BaseApplication):
    def __init__(self, options: dict, app_overrides: dict | None = None):
        self.options = options
        self.app_overrides = app_overrides
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from webui import create_app

        # Called in the worker once it has forked: its threads belong to the serving process.
        app = create_app(self.app_overrides)
        start_watching(app)
        return app


def start_watching(app) -> None:
    """Start the diagnostics schedule, the alert watcher and the notification deliveries as
    the worker boots, so a fresh device checks itself and tells people before anyone opens a
    page (the first request starts them under other servers)."""
    from webui.alerts.watch import watcher
    from webui.health.schedule import scheduler
    from webui.notifications.delivery import deliverer

    if app.config["DIAGNOSTICS_SCHEDULE"]:
        scheduler(app).ensure_running()
    watcher(app).ensure_running()
    deliverer(app).ensure_running()


def gunicorn_options(values: dict) -> dict:
    host, port = values["BIND"]
    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    options = {
        "bind": [bind],
        "workers": 1,
        "worker_class": "gthread",
        "threads": values["THREADS"],
        "timeout": 120,
        "graceful_timeout": 10,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
        "proc_name": "edge-webui",
    }
    if values["TLS"]:
        options["certfile"] = values["TLS_CERT"]
        options["keyfile"] = values["TLS_KEY"]
        options["ssl_context"] = tls_context
    return options


PEM_BLOCK = re.compile(rb"-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+-----END CERTIFICATE-----")
# A certificate file larger than this is not read for the console line.
PEM_MAX_BYTES = 1 << 20


def _fingerprint_line(values: dict) -> str | None:
    """The console's line of the served certificate's SHA-256 fingerprint (as the certificate
    pages show it), made with the standard library: the gunicorn master never loads
    ``cryptography``, which would stay in its memory for the service's life."""
    try:
        with open(values["TLS_CERT"], "rb") as pem:
            block = PEM_BLOCK.search(pem.read(PEM_MAX_BYTES))
        if block is None:
            return None
        der = ssl.PEM_cert_to_DER_cert(block.group(0).decode("ascii"))
    except (OSError, ValueError):
        return None
    return f"TLS certificate SHA-256 fingerprint: {hashlib.sha256(der).digest().hex(':').upper()}"


def serve() -> int:
    from pathlib import Path

    from webui import instance

    values = settings.load()
    # Said here in one line: inside gunicorn it would be a worker that fails to boot.
    instance.check_writable(Path(values["INSTANCE"]))
    if values["TLS"]:
        missing = [p for p in (values["TLS_CERT"], values["TLS_KEY"]) if not Path(p).exists()]
        if missing:
            print(f"edge-webui: {missing[0]} not found; run `edge-webui init` first",
                  file=sys.stderr)
            return 2
    host, port = values["BIND"]
    scheme = "https" if values["TLS"] else "http"
    print(f"edge-webui serving {scheme}://{host}:{port}/ (Ctrl+C stops it)", flush=True)
    fingerprint = _fingerprint_line(values) if values["TLS"] else None
    if fingerprint:
        print(fingerprint, flush=True)
    hide_server_banner()
    send_headers_with_body()
    _Gunicorn(gunicorn_options(values)).run()
    return 0
