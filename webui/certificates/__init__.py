"""The web UI's TLS certificate: details, download, generate and upload."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from webui import shell
    from webui.certificates import views

    app.register_blueprint(views.bp)
    shell.add_section(app, "Certificates", "certificates.page", "Security", 20)
