"""Support-package and ticket test helpers: make a package or a ticket through the API, wait
for it, download a file, look at what the instance kept."""

from __future__ import annotations

import threading
from collections import namedtuple

from webui import db
from webui.support import packages, tickets

from conftest import finished

PACKAGES_API = API = "/api/v1/support/packages"
TICKETS_API = "/api/v1/support/tickets"


def make_package(auth, collectors=("system",), **options) -> dict:
    """Create a package through the API and wait until it is done."""
    response = auth.api("POST", PACKAGES_API, {"collectors": list(collectors), **options})
    assert response.status_code == 202, response.get_json()
    return finished(auth.client, response.headers["Location"])


def download(client, path: str):
    """GET a file and close the streamed response; answers (response, body)."""
    with client.get(path) as response:
        return response, response.get_data()


PAGE = "/troubleshooting/support/"
DiskUsage = namedtuple("DiskUsage", "total used free")


def support_settings(app) -> packages.Settings:
    """The support settings the app's pages and jobs work with."""
    return packages.settings_from(app.config, app.secret_key)


def package_dir(app):
    return support_settings(app).package_dir


def ticket_dir(app):
    return tickets.ticket_dir(support_settings(app))


def package_files(app) -> list[str]:
    directory = package_dir(app)
    return sorted(p.name for p in directory.iterdir()) if directory.is_dir() else []


def audit_actions(app) -> list[tuple[str, str]]:
    with app.app_context():
        rows = db.get_db().execute("SELECT action, outcome FROM audit ORDER BY id").fetchall()
    return [(r["action"], r["outcome"]) for r in rows]


class SlowProducer:
    """An app item that trickles bytes until told to stop: a package that keeps running."""

    def __init__(self):
        self.started = threading.Event()
        self.stop = threading.Event()

    def __call__(self):
        self.started.set()
        while not self.stop.is_set():
            yield b"still collecting\n"
            self.stop.wait(0.05)


VALID = {"summary": "Uploads stall every night", "problem_type": "data_transfer",
         "severity": "B", "started_at": "2026-11-20T22:15:00+00:00",
         "description": "Share uploads stop at 02:00 and resume at 06:00.",
         "contact_name": "Ada Field", "email": "ada@example.com", "phone": "+1 (555) 010-9999",
         "contact_method": "phone"}


def file_ticket(auth, **changes) -> dict:
    """File a ticket on a quick new package through the API; wait until its bundle is made."""
    if "package_id" not in changes:
        changes["package_id"] = make_package(auth, ["system"])["id"]
    response = auth.api("POST", TICKETS_API, {**VALID, **changes})
    assert response.status_code in (201, 202), response.get_json()
    return finished(auth.client, response.headers["Location"], waiting=("waiting",))
