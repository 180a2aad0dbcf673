"""Settings as an admin reads them: values written the way they are set, lists as lists, help
without Markdown, and where each value came from (default, config file, environment)."""

from __future__ import annotations

import re

import pytest

from webui import config, db
from webui.auth import users
from webui.dashboard.views import shown_setting

from conftest import ADMIN_PASSWORD, AuthActions, make_app


def test_load_says_where_each_value_came_from(tmp_path):
    (tmp_path / "config.toml").write_text('bind = "0.0.0.0:9443"\nsupport_keep = 7\n'
                                          'threads = 4\n')
    values = config.load({"THREADS": "2"}, environ={"WEBUI_INSTANCE": str(tmp_path),
                                                    "WEBUI_SUPPORT_KEEP": "3"})
    sources = values[config.SOURCES]
    assert sources["BIND"] == "config file"
    assert sources["SUPPORT_KEEP"] == "environment" and values["SUPPORT_KEEP"] == 3
    assert sources["INSTANCE"] == "environment"
    assert sources["THREADS"] == "start-up option" and values["THREADS"] == 2
    assert sources["POWER_BACKEND"] == "default"
    assert set(sources) == {setting.name for setting in config.SETTINGS}


@pytest.mark.parametrize(("value", "shown"), [
    (("127.0.0.1", 8443), "127.0.0.1:8443"),
    (("::1", 8443), "[::1]:8443"),
    (True, "true"),
    (False, "false"),
    (["a.example:443", "b.example:443"], ["a.example:443", "b.example:443"]),
    (None, ""),
    (15, "15"),
])
def test_values_are_written_as_an_admin_sets_them(value, shown):
    assert shown_setting(value) == shown


@pytest.fixture
def configured(tmp_path, monkeypatch):
    """A device with a config file, one setting in the environment and a signed-in admin."""
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "config.toml").write_text(
        'support_keep = 7\nrequired_units = ["ssh.service", "cron.service"]\n')
    monkeypatch.setenv("WEBUI_HOOK_TIMEOUT", "45")
    app = make_app(instance)
    with app.app_context():
        users.create(db.get_db(), "admin", ADMIN_PASSWORD, "administrator", must_change=False)
    client = app.test_client()
    AuthActions(client).sign_in()
    yield client
    app.extensions["copylogs"].close()
    app.extensions["jobs"].shutdown()


def row_of(html: str, name: str) -> str:
    return re.search(rf"<tr>\s*<th scope=\"row\"[^>]*><code>{name}</code></th>(.*?)</tr>", html,
                     re.S)[1]


def cell(row: str, label: str) -> str:
    return re.search(rf'data-label="{label}">(.*?)</td>', row, re.S)[1]


def test_settings_page_shows_values_and_their_sources(configured):
    html = configured.get("/settings").get_data(as_text=True)
    bind = row_of(html, "WEBUI_BIND")
    assert cell(bind, "Value") == "<code>127.0.0.1:8443</code>"
    assert cell(bind, "From") == "default"
    keep = row_of(html, "WEBUI_SUPPORT_KEEP")
    assert (cell(keep, "Value"), cell(keep, "From")) == ("<code>7</code>", "config file")
    units = row_of(html, "WEBUI_REQUIRED_UNITS")
    assert re.findall(r"<li><code>([^<]+)</code></li>", cell(units, "Value")) == [
        "ssh.service", "cron.service"]
    assert cell(row_of(html, "WEBUI_HOOK_TIMEOUT"), "From") == "environment"
    assert cell(row_of(html, "WEBUI_TLS"), "Value") == "<code>false</code>"
    assert "not set" in cell(row_of(html, "WEBUI_CONFIG"), "Value")


def test_settings_help_has_no_markdown(configured):
    html = configured.get("/settings").get_data(as_text=True)
    assert "`" not in html.partition('<main')[2]
    assert "(<code>false</code> only behind a TLS proxy)" in cell(row_of(html, "WEBUI_TLS"),
                                                                 "Meaning")
