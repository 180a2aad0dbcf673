"""Times on the pages: the device's time zone (the host's ``TZ``), UTC on hover, one format."""

import datetime as dt
import time

import pytest
from flask import render_template_string

from webui.templating import local_time, relative_time

# 2026-07-01 12:00:00 UTC: summer time in New York, none in Kolkata.
NOON_UTC = dt.datetime(2026, 7, 1, 12, 0, tzinfo=dt.UTC).timestamp()


@pytest.fixture
def device_zone(monkeypatch):
    """Set the device's time zone as the host's ``TZ``; the host's own zone comes back after."""
    def set_zone(name: str) -> None:
        monkeypatch.setenv("TZ", name)
        time.tzset()
    yield set_zone
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize("zone, shown", [
    ("America/New_York", "2026-07-01 08:00:00 EDT"),
    ("Asia/Kolkata", "2026-07-01 17:30:00 IST"),
])
def test_times_are_shown_in_the_device_zone_with_utc_on_hover(device_zone, zone, shown):
    device_zone(zone)
    assert local_time(NOON_UTC) == (
        '<time datetime="2026-07-01T12:00:00+00:00" title="2026-07-01 12:00:00 UTC">'
        f"{shown}</time>")


def test_a_page_renders_times_through_the_filter(app, device_zone):
    device_zone("Asia/Kolkata")
    with app.test_request_context():
        html = render_template_string("{{ at | local_time }} {{ at | local_time(False) }}",
                                      at=NOON_UTC)
    assert ">2026-07-01 17:30:00 IST</time>" in html and ">17:30:00</time>" in html
    assert html.count('title="2026-07-01 12:00:00 UTC"') == 2


def test_datetimes_and_missing_times(device_zone):
    device_zone("America/New_York")
    aware = dt.datetime(2026, 1, 15, 23, 30, tzinfo=dt.UTC)
    assert ">2026-01-15 18:30:00 EST</time>" in local_time(aware)
    # A naive datetime is a time read on the device, as copy logs write them.
    assert ">2026-01-15 18:30:00 EST</time>" in local_time(dt.datetime(2026, 1, 15, 18, 30))
    assert local_time(None) == "—" and relative_time(None) == "—"


@pytest.mark.parametrize("seconds_ago, shown", [
    (5, "just now"), (180, "3 min ago"), (7300, "2 h ago"), (3 * 86400 + 10, "3 d ago"),
    (-300, "in 5 min"), (-20, "in less than a minute"),
])
def test_relative_times_say_how_long_ago(device_zone, seconds_ago, shown):
    device_zone("Asia/Kolkata")
    html = relative_time(NOON_UTC, now=NOON_UTC + seconds_ago)
    assert f">{shown}</time>" in html
    assert 'title="2026-07-01 17:30:00 IST (2026-07-01 12:00:00 UTC)"' in html


def test_the_time_zone_set_for_the_device_wins_over_the_hosts(site_app, device_zone):
    from conftest import AuthActions

    device_zone("America/New_York")
    admin = AuthActions(site_app.test_client())
    admin.sign_in()
    with site_app.test_request_context():
        assert ">2026-07-01 08:00:00 EDT</time>" in local_time(NOON_UTC)  # none set: the host's
    answer = admin.api("PATCH", "/api/v1/settings", {"time_zone": "Asia/Kolkata"})
    assert answer.status_code == 200, answer.get_json()
    with site_app.test_request_context():
        assert ">2026-07-01 17:30:00 IST</time>" in local_time(NOON_UTC)
        assert 'title="2026-07-01 17:30:00 IST (2026-07-01 12:00:00 UTC)"' in relative_time(
            NOON_UTC)
    # The pages show it too: the audit entry of the change is in the device's zone.
    page = admin.client.get("/audit").get_data(as_text=True)
    assert " IST</time>" in page and " EDT</time>" not in page
