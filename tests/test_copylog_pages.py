"""The copy-log pages as a person reads them: the dates of the logs in the device's time zone,
a pager that says how many pages there are, counts that fill in by themselves, error codes and
names in their own columns, sizes in KiB, and one upload-error figure on the overview."""

from __future__ import annotations

import os
import re
import time

import pytest

from webui.copylogs import indexer, model

# The fixtures are found by name.
from copylog_fixtures import VALIDATION, app, indexed, log_id, root, store  # noqa: F401

WRITTEN = "11/20/2026 08:01:02"
SHARE_LOG = (f'<root container="line3" machine="EDGE-01" timestamp="{WRITTEN}" />\n'
             '<file item="cam/a.mp4" local="True" remote="False" error="2004" />\n'
             '<file item="cam/b.mp4" local="True" remote="False" error="2004" />\n'
             '<summary runtime="00:00:01.0000000" errors="{declared}" creates="0" deletes="0" '
             'insync="0" replaces="0" pending="2" />\n')
NEW_LOG = "line3/Microsoft Data Box Edge/Upload/upload.xml"


def text_of(response) -> str:
    """The visible text of a page, tags removed and spaces collapsed."""
    body = re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))
    return re.sub(r"\s+", " ", body.replace("&#39;", "'").replace("&amp;", "&"))


def cells(html: str, label: str) -> list[str]:
    """The inner HTML of the cells of a column, found by their label."""
    return re.findall(rf'data-label="{label}">(.*?)</td>', html, re.S)


@pytest.fixture
def share_log(root):
    """A per-share upload log written at ``WRITTEN``, whose summary declares 999 errors while it
    holds two."""
    upload = root / "line3" / "Microsoft Data Box Edge" / "Upload"
    upload.mkdir(parents=True)
    (upload / "upload.xml").write_text(SHARE_LOG.format(declared=999))
    return NEW_LOG


@pytest.fixture
def no_background_indexing(monkeypatch):
    """Logs are counted only when a test says so."""
    monkeypatch.setattr(indexer.Indexer, "request", lambda self, ids, first=False: None)


@pytest.fixture(params=[("America/New_York", "2026-11-20 08:01:02 EST", "2026-11-20 13:01:02"),
                        ("Asia/Kolkata", "2026-11-20 08:01:02 IST", "2026-11-20 02:31:02")],
                ids=["New_York", "Kolkata"])
def device_zone(request, monkeypatch):
    """The device's time zone set to the parameter's, and back afterwards; gives the zone, the
    log's date as shown and as UTC."""
    monkeypatch.setenv("TZ", request.param[0])
    time.tzset()
    yield request.param
    monkeypatch.undo()
    time.tzset()


# dates


def test_the_date_a_log_was_written_is_shown_in_the_device_time_zone(client, auth, store,
                                                                     share_log, device_zone):
    _zone, shown, utc = device_zone
    auth.sign_in()
    html = client.get(f"/copy-logs/{log_id(store, share_log)}").get_data(as_text=True)
    written = re.search(r"<dt>Written at</dt><dd>(.*?)</dd>", html)[1]
    assert re.fullmatch(rf'<time datetime="{utc.replace(" ", "T")}\+00:00" '
                        rf'title="{utc} UTC">{shown}</time>', written)
    assert WRITTEN not in html


def test_the_modified_time_of_every_log_is_local_with_utc_on_hover(client, auth, store,
                                                                   device_zone):
    zone_name = device_zone[1].rsplit(" ", 1)[1]
    auth.sign_in()
    html = client.get("/copy-logs/").get_data(as_text=True)
    times = re.findall(r'<time datetime="[^"]+" title="[^"]+ UTC">([^<]+)</time>', html)
    assert len(times) == len(store.list())
    assert all(shown.endswith(zone_name) for shown in times)


def test_a_date_the_page_cannot_read_is_shown_as_written(client, auth, store, root):
    upload = root / "line4" / "Microsoft Data Box Edge" / "Upload"
    upload.mkdir(parents=True)
    (upload / "u.xml").write_text(SHARE_LOG.replace(WRITTEN, "31/31/2026 25:00:00")
                                  .format(declared=2))
    auth.sign_in()
    written = log_id(store, "line4/Microsoft Data Box Edge/Upload/u.xml")
    page = text_of(client.get(f"/copy-logs/{written}"))
    assert "Written at 31/31/2026 25:00:00 (as in the log; not a date this page can read)" in page


@pytest.mark.parametrize("text", [None, "", "2026-11-20 08:01:02", "11/20/2026", "13/01/2026 "
                                  "00:00:00", "11/20/2026 08:01:02 extra"])
def test_log_dates_that_are_not_in_the_log_format_are_not_read(text):
    assert model.log_date(text) is None


def test_log_dates_are_read_in_the_device_time_zone(device_zone):
    utc = device_zone[2]
    assert time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(model.log_date(WRITTEN))) == utc


# the pager


@pytest.mark.parametrize(("query", "message"), [
    ("page=999", "There are 3 pages of entries, so there is no page 999."),
    ("page=2&code=32", "There is 1 page of entries matching these filters, so there is no "
                       "page 2."),
])
def test_a_page_beyond_the_last_says_how_many_pages_there_are(client, auth, indexed, query,
                                                             message):
    auth.sign_in()
    big = log_id(indexed, "big/ORD9_SER9_CopyLog_big.xml")
    response = client.get(f"/copy-logs/{big}?{query}")
    assert response.status_code == 422
    assert message in text_of(response) and "must be beyond" not in text_of(response)
    last = re.search(r'href="([^"]+)">Show the last page', response.get_data(as_text=True))[1]
    assert client.get(last.replace("&amp;", "&")).status_code == 200


# the list fills in its counts


def test_the_list_polls_until_every_count_is_known(client, auth, store, no_background_indexing):
    auth.sign_in()
    page = client.get("/copy-logs/?sort=errors")
    poller = re.search(r'<div id="copylog-list"[^>]*>', page.get_data(as_text=True))[0]
    assert 'hx-trigger="every 2s"' in poller and 'hx-get="/copy-logs/?sort=errors' in poller
    polled = client.get("/copy-logs/?sort=errors", headers={"HX-Request": "true"})
    assert polled.status_code == 200 and "<html" not in polled.get_data(as_text=True)
    assert "every 2s" in polled.get_data(as_text=True) and "counting…" in text_of(polled)
    assert "HX-Request" in polled.headers["Vary"]
    for copy_log in store.list():
        store.ensure_index(copy_log.id)
    last = client.get("/copy-logs/?sort=errors", headers={"HX-Request": "true"})
    assert last.status_code == 286  # htmx swaps it in and stops polling
    assert "counting…" not in text_of(last) and "every 2s" not in last.get_data(as_text=True)
    assert cells(last.get_data(as_text=True), "Errors")
    assert "every 2s" not in client.get("/copy-logs/").get_data(as_text=True)


# by error code


def test_validation_codes_and_names_are_in_their_own_columns(client, auth, indexed):
    auth.sign_in()
    html = client.get(f"/copy-logs/{log_id(indexed, VALIDATION)}").get_data(as_text=True)
    table = html.partition('id="codes-heading"')[2].partition("</table>")[0]
    codes, names = cells(table, "Code"), cells(table, "Name")
    rows = dict(zip(names, codes, strict=True))
    named_only = next(name for name in rows if ">ERROR_GENERAL<" in name)
    assert rows[named_only] == "—" and "code=ERROR_GENERAL" in named_only
    numbered = next(name for name in rows if "ERROR_BLOB_OR_FILE_SIZE_ALIGNMENT" in name)
    assert re.fullmatch(r'<a href="[^"]+">109</a>', rows[numbered])
    assert all(re.fullmatch(r"—|<a [^>]+>\d+</a>", code) for code in codes)
    assert not any(name.startswith("—") for name in names)


# sizes


def test_a_small_log_has_its_size_in_kib(client, auth, indexed, root):
    auth.sign_in()
    size = (root / VALIDATION).stat().st_size
    assert size < 0.1 * 2**20
    page = text_of(client.get(f"/copy-logs/{log_id(indexed, VALIDATION)}"))
    assert re.search(rf"Size {size / 1024:.1f} KiB", page) and "MiB" not in page


# the overview card


def card_text(client) -> str:
    page = text_of(client.get("/"))
    return page.partition("Upload errors (24 h)")[2].partition("Open the copy logs")[0]


def test_the_card_counts_only_what_the_index_counted_and_says_when_partial(
        client, auth, app, store, root, share_log, no_background_indexing):
    old = time.time() - 3 * 86400
    for path in root.rglob("*"):
        if path.is_file() and path.name != "upload.xml":
            os.utime(path, (old, old))
    auth.sign_in()
    before = card_text(client)
    assert "0 upload errors so far" in before and "999" not in before
    assert "Partial: 1 log is still being counted." in before
    store.ensure_index(log_id(store, share_log))
    app.extensions["copylogs"].card = None  # as after the card's half minute
    after = card_text(client)
    assert "2 upload errors " in after and "so far" not in after and "Partial" not in after
    assert "Counted in 1 of 1 upload and copy log changed in the last 24 hours." in after
