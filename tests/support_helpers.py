"""Support-package test helpers: make a package through the API, download a file."""

from __future__ import annotations

from conftest import finished

PACKAGES_API = "/api/v1/support/packages"


def make_package(auth, collectors=("system",), **options) -> dict:
    """Create a package through the API and wait until it is done."""
    response = auth.api("POST", PACKAGES_API, {"collectors": list(collectors), **options})
    assert response.status_code == 202, response.get_json()
    return finished(auth.client, response.headers["Location"])


def download(client, path: str):
    """GET a file and close the streamed response; answers (response, body)."""
    with client.get(path) as response:
        return response, response.get_data()
