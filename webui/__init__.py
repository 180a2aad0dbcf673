"""edge-webui: the local web UI of an edge storage/compute appliance."""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path
from typing import TYPE_CHECKING, Any

from webui import config as settings

if TYPE_CHECKING:
    from flask import Flask

__version__ = "0.1.0"

PACKAGE_DIR = Path(__file__).resolve().parent


def _asset_dir(name: str) -> str:
    # Installed wheels carry templates/ and static/ inside the package; a checkout has them
    # at the top of the repository.
    inside = PACKAGE_DIR / name
    return str(inside if inside.is_dir() else PACKAGE_DIR.parent / name)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app; ``config`` overrides settings (tests) and may hold Flask keys."""
    # Flask is imported here so the gunicorn master, which only imports this package's
    # settings, stays small.
    from flask import Flask

    values = settings.load(config)
    app = Flask(__name__, template_folder=_asset_dir("templates"),
                static_folder=_asset_dir("static"), static_url_path="/static")
    app.config.update(values)
    app.config["MAX_CONTENT_LENGTH"] = (config or {}).get("MAX_CONTENT_LENGTH", 1 << 20)
    app.config["VERSION"] = __version__

    from webui import (
        alerts,
        api,
        audit,
        auth,
        certificates,
        connectivity,
        copylogs,
        dashboard,
        db,
        device_settings,
        errors,
        health,
        instance,
        jobs,
        last_seen,
        limits,
        metrics,
        notifications,
        power,
        security,
        shell,
        storage,
        support,
        system,
        templating,
        troubleshooting,
        users,
    )

    # Before any blueprint: rules bind their converters when they are added.
    app.url_map.converters["int"] = limits.RowNumberConverter
    app.json = limits.BoundedJSONProvider(app)

    instance_dir = Path(app.config["INSTANCE"])
    instance.check_writable(instance_dir)
    app.secret_key = instance.secret_key(instance_dir)
    _configure_logging(app)
    for core in (db, last_seen, storage, security, errors, jobs, templating):
        core.init_app(app)
    # Each feature registers its pages, API, navigation entry, banners, cards and clean-ups.
    for feature in (auth, dashboard, troubleshooting, health, support, copylogs, power,
                    connectivity, system, users, audit, device_settings, certificates, alerts,
                    notifications, api, metrics):
        feature.init_app(app)

    for cleanup in shell.of(app).cleanups:
        cleanup()
    app.extensions["jobs"].mark_orphans()
    return app


def _configure_logging(app: Flask) -> None:
    if app.config.get("TESTING"):
        return
    log_dir = Path(app.config["LOG_DIR"])
    try:
        log_dir.mkdir(parents=True, exist_ok=True, mode=0o750)
        handler: logging.Handler = logging.handlers.RotatingFileHandler(
            log_dir / "webui.log", maxBytes=5 << 20, backupCount=3)
    except OSError:
        handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("webui")
    if not any(getattr(h, "baseFilename", None) == getattr(handler, "baseFilename", "")
               for h in root.handlers):
        root.addHandler(handler)
    root.setLevel(logging.INFO)
