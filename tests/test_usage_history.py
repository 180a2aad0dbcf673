"""The Usage page: 24 hours of one-minute figures kept by the sampler in a bounded ring."""

import re
import time
import types

import pytest

from webui import db
from webui.dashboard import history, usage

# A whole minute, so the ring's slots are easy to follow.
NOW = 1_780_000_020.0


def minute(at, cpu=10.0, memory=40.0, disk=2048.0, net=512.0):
    return usage.Sample(at, cpu, memory, disk, disk / 2, net, net / 2)


@pytest.fixture
def clock(monkeypatch):
    """The sampler's clock, moved by the test; its counters still read the host."""
    fake = types.SimpleNamespace(now=NOW, monotonic=time.monotonic, sleep=time.sleep)
    fake.time = lambda: fake.now
    monkeypatch.setattr(usage, "time", fake)
    return fake


def test_the_ring_keeps_one_day_of_minutes(app):
    with app.app_context():
        conn = db.get_db()
        first = NOW - 1500 * 60
        for n in range(1500):
            history.record(conn, minute(first + n * 60, cpu=n % 100))
        assert conn.execute("SELECT count(*) FROM usage_history").fetchone()[0] == 1440
        kept = history.last_day(conn, NOW)
    assert len(kept) == 1439  # the minute exactly a day ago is out of the window
    assert kept[0].at == first + 61 * 60 and kept[-1].at == NOW - 60
    assert [b.at - a.at for a, b in zip(kept, kept[1:], strict=False)] == [60] * 1438


def test_the_sampler_records_each_finished_minute_as_its_average(app, clock):
    sampler = usage.sampler(app)  # not started: only the test takes samples
    clock.now = NOW + 1
    sampler.take()
    clock.now = NOW + 30
    sampler.take()
    with app.app_context():
        assert history.last_day(db.get_db(), NOW + 60) == []  # the minute is not over yet
        clock.now = NOW + 61
        sampler.take()
        kept = history.last_day(db.get_db(), NOW + 61)
    assert [m.at for m in kept] == [NOW]
    assert 0 <= kept[0].cpu_percent <= 100 and 0 < kept[0].memory_percent <= 100


def test_a_minute_that_cannot_be_written_is_lost_quietly(tmp_path):
    recorder = history.Recorder(tmp_path / "no-such-dir" / "webui.db")
    recorder([minute(NOW)])  # no exception: the sampler's thread carries on


def test_usage_page_draws_the_charts_with_axes_and_hover_values(app, client, auth):
    with app.app_context():
        conn = db.get_db()
        for n in range(1, 121):
            history.record(conn, minute(time.time() - n * 60, cpu=n % 50, net=1024 * 1024))
    auth.sign_in_viewer()
    page = client.get("/usage/history").get_data(as_text=True)
    for title in ("CPU", "Memory", "Disk", "Network"):
        assert f'id="chart-{title.lower()}-heading">{title}</h2>' in page
    assert page.count("<polyline") >= 6  # disk and network draw two lines each
    # Ten-minute hover values, the scale and the hours of the day on the time axis.
    assert re.search(r"<title>\d\d:\d\d–\d\d:\d\d: CPU \d+ % \(average\)</title>", page)
    assert re.search(r"<title>[^<]*: in 1\.0 MiB/s, out 512[.0]* KiB/s \(average\)</title>", page)
    assert '>100 %</text>' in page and '>50 %</text>' in page
    assert re.search(r'text-anchor="\w+">\d\d:00</text>', page)
    assert "highest <strong>49 %</strong>" in page


def test_usage_page_without_history_yet(client, auth):
    auth.sign_in()
    page = client.get("/usage/history").get_data(as_text=True)
    assert "No figures yet." in page and "over the last 24 hours: no figures yet" in page
    assert '<a href="/usage/history" aria-current="page">Usage</a>' in page


def test_scale_tops_are_round_figures():
    from webui.dashboard.charts import nice_ceiling

    assert [nice_ceiling(v) for v in (0, 0.7, 3, 7, 10, 4200)] == [1, 1, 5, 10, 10, 5000]
    mib = 1 << 20
    assert nice_ceiling(3.8 * mib, 1024) == 5 * mib and nice_ceiling(195_000, 1024) == 200 * 1024
