"""gunicorn as a library: one worker process with threads (SPEC §1.5)."""

from __future__ import annotations

import sys

from gunicorn.app.base import BaseApplication

from webui import config as settings


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

        return create_app(self.app_overrides)


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
    return options


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
    _Gunicorn(gunicorn_options(values)).run()
    return 0
