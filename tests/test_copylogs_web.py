"""Copy logs in the web UI: the list, one log, filters, paging, downloads, hostile files and the
overview card, on the library's fixtures copied into a temporary root."""

from __future__ import annotations

import csv
import io
import os
import re
import threading
import time
from pathlib import Path

import pytest

from diagnostics.copylogs import reference
from webui import db, jobs
from webui.copylogs import export, indexer

from conftest import AuthActions
from copylog_fixtures import (  # noqa: F401  (fixtures are found by name)
    SERVICE_LOG,
    UPLOAD,
    VALIDATION,
    app,
    big_log_rows,
    copy_log_bytes,
    copylog_app,
    hostile,
    indexed,
    log_id,
    root,
    store,
    wait_for_indexing,
)


def text_of(response) -> str:
    """The visible text of a page, tags removed and spaces collapsed."""
    body = re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))
    return re.sub(r"\s+", " ", body.replace("&#39;", "'").replace("&amp;", "&"))


def entry_paths(response) -> list[str]:
    table = response.get_data(as_text=True).partition('copylog-entries"')[2]
    return re.findall(r'data-label="Path"><code>([^<]*)</code>', table)


# the list


def test_list_shows_every_log_with_share_kind_status_and_counts(client, auth, indexed):
    auth.sign_in()
    response = client.get("/copy-logs/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for copy_log in indexed.list():
        assert f'aria-label="{copy_log.path}"' in html
    for label in ("Upload", "Refresh", "Copy log", "Copy-time validation"):
        assert f'<td data-label="Kind">{label}</td>' in html
    upload = next(log for log in indexed.list() if log.path == UPLOAD)
    row = re.search(re.escape(UPLOAD) + r".*?</tr>", response.get_data(as_text=True), re.S)[0]
    assert "Failed" in row and f">{upload.errors}<" in row and f">{upload.warnings}<" in row
    assert '<time datetime="' in row


def test_navigation_leads_to_the_copy_logs(client, auth):
    auth.sign_in()
    assert 'href="/copy-logs/"' in client.get("/").get_data(as_text=True)


def test_list_sorts_on_the_server_and_says_how(client, auth, indexed):
    auth.sign_in()
    response = client.get("/copy-logs/?sort=errors&order=desc")
    html = response.get_data(as_text=True)
    shown = re.findall(r'<a href="/copy-logs/([\w-]{16})"', html)
    errors = {log.id: log.errors for log in indexed.list()}
    assert [errors[i] for i in shown] == sorted(errors.values(), reverse=True)
    assert re.search(r'<th scope="col" [^>]*aria-sort="descending">\s*'
                     r'<a href="[^"]*sort=errors&amp;order=asc">Errors', html)

    by_share = client.get("/copy-logs/?sort=share&order=asc").get_data(as_text=True)
    shares = re.findall(r'<td data-label="Share">([^<]*)</td>', by_share)
    assert shares == sorted(shares, key=str.casefold)
    assert 'aria-sort="ascending"' in by_share


@pytest.mark.parametrize("query", ["sort=size", "sort=time&order=up"])
def test_list_refuses_an_unknown_sort_clearly(client, auth, query):
    auth.sign_in()
    response = client.get(f"/copy-logs/?{query}")
    assert response.status_code == 422
    assert "Sorting:" in text_of(response)
    assert "upload-2019-03-18.xml" in text_of(response)


def test_list_without_configured_roots_says_so(tmp_path):
    with copylog_app(tmp_path / "bare", "") as app:
        client = app.test_client()
        AuthActions(client).sign_in()
        assert "WEBUI_COPYLOG_ROOTS" in text_of(client.get("/copy-logs/"))
        assert "No copy-log folders are configured" in text_of(client.get("/"))


def test_a_missing_root_is_named_and_the_others_still_listed(tmp_path, root):
    missing = tmp_path / "no-such-share"
    with copylog_app(tmp_path / "two-roots", f"{missing},{root}") as app:
        client = app.test_client()
        AuthActions(client).sign_in()
        page = text_of(client.get("/copy-logs/"))
    assert f"The folder {missing} cannot be searched: not found or not a folder." in page
    assert "upload-2019-03-18.xml" in page


def test_the_index_lives_in_the_instance_directory(app, indexed):
    index_dir = Path(app.config["INSTANCE"]) / "copylog-index"
    assert indexed.index_dir == str(index_dir)
    assert any(index_dir.iterdir())


# one log


def test_log_page_summary_names_codes_meanings_and_actions(client, auth, indexed):
    auth.sign_in()
    page = text_of(client.get(f"/copy-logs/{log_id(indexed, UPLOAD)}"))
    for code in ("100", "2000", "2005", "2998"):
        info = reference.codes()[code]
        assert info["name"] in page
        assert info["meaning"] in page
        assert info["action"] in page
    assert "Download the original" in page and "Written at" in page


def test_service_log_codes_are_explained_with_their_category(client, auth, indexed):
    auth.sign_in()
    page = text_of(client.get(f"/copy-logs/{log_id(indexed, SERVICE_LOG)}"))
    conflict = reference.code_info("409", "UploadErrorCloudHttp")
    assert "HTTP 409 Conflict with UploadErrorCloudHttp" in page and conflict["action"] in page
    assert "HTTP 32" not in page  # a Win32 code, not an HTTP status
    assert reference.category_info("UploadErrorWin32")["meaning"] in page
    assert "RENAMED with ContainerRenamed and other categories" in page


def test_first_page_does_not_wait_for_the_index(client, auth, store, monkeypatch):
    queued = []
    monkeypatch.setattr(indexer.Indexer, "request",
                        lambda self, ids, first=False: queued.extend(ids))
    auth.sign_in()
    big = log_id(store, "big/ORD9_SER9_CopyLog_big.xml")
    response = client.get(f"/copy-logs/{big}")
    page = text_of(response)
    assert response.status_code == 200 and queued == []
    response.close()
    assert queued == [big]  # once the page has been sent
    assert "Indexing…" in page and "counting…" in page
    assert entry_paths(response)[:2] == ["big/00000.bin", "big/00001.bin"]
    assert len(entry_paths(response)) == 100


def test_summary_appears_once_the_log_is_indexed(client, auth, store, monkeypatch):
    monkeypatch.setattr(indexer.Indexer, "request", lambda self, ids, first=False: None)
    auth.sign_in()
    copy_log = log_id(store, SERVICE_LOG)
    before = text_of(client.get(f"/copy-logs/{copy_log}"))
    assert "The counts appear once the whole log has been read" in before
    store.ensure_index(copy_log)
    after = text_of(client.get(f"/copy-logs/{copy_log}"))
    assert "HTTP 409 Conflict" in after and "The counts appear" not in after


def test_indexing_progress_stops_polling_when_complete(client, auth, store, monkeypatch):
    monkeypatch.setattr(indexer.Indexer, "request", lambda self, ids, first=False: None)
    auth.sign_in()
    big = log_id(store, "big/ORD9_SER9_CopyLog_big.xml")
    waiting = client.get(f"/copy-logs/{big}/indexing")
    assert waiting.status_code == 200 and 'hx-trigger="every 2s"' in waiting.get_data(as_text=True)
    store.ensure_index(big)
    done = client.get(f"/copy-logs/{big}/indexing")
    assert done.status_code == 286 and "Indexing finished" in text_of(done)


def test_background_indexer_counts_the_logs_of_the_list(client, auth, app, store):
    auth.sign_in()
    response = client.get("/copy-logs/")
    assert "counting…" in text_of(response)
    response.close()
    wait_for_indexing(app)
    assert all(log.indexed for log in store.list() if log.error is None)
    assert "counting…" not in text_of(client.get("/copy-logs/"))


def test_indexing_is_a_job_per_log_with_its_progress(client, auth, app, store):
    auth.sign_in()
    client.get("/copy-logs/").close()
    wait_for_indexing(app)
    with app.app_context():
        for copy_log in store.list():
            if copy_log.error is None:
                job = jobs.latest(db.get_db(), indexer.KIND, subject=copy_log.id)
                assert job["state"] == "succeeded" and job["progress"] == 1


class RecordingStore:
    """Stands in for the store: the first build waits until released; ``broken`` raises."""

    def __init__(self):
        self.started, self.release = threading.Event(), threading.Event()
        self.built: list[str] = []

    def ensure_index(self, log_id, progress=None):
        if not self.built:
            self.started.set()
            assert self.release.wait(30)
        self.built.append(log_id)
        if log_id == "broken":
            raise KeyError(log_id)


def test_indexer_builds_one_log_at_a_time_viewed_log_first(app):
    store = RecordingStore()
    queue = indexer.Indexer(store, app.extensions["jobs"], db.path_for(app))
    queue.request(["a", "broken", "b", "c"])
    assert store.started.wait(30)
    queue.request(["c", "b"])
    queue.request(["c"], first=True)
    store.release.set()
    wait_for_indexing(app)
    assert store.built == ["a", "c", "broken", "b"]
    with app.app_context():
        states = {log_id: jobs.latest(db.get_db(), indexer.KIND, subject=log_id)["state"]
                  for log_id in store.built}
    assert states == {"a": "succeeded", "c": "succeeded", "broken": "failed", "b": "succeeded"}


# paging and filters


def test_entries_are_paged_100_at_a_time(client, auth, indexed):
    auth.sign_in()
    big = log_id(indexed, "big/ORD9_SER9_CopyLog_big.xml")
    first = client.get(f"/copy-logs/{big}")
    assert entry_paths(first) == [f"big/{i:05d}.bin" for i in range(100)]
    assert "Entries 1–100 of 250" in text_of(first) and "Page 1 of 3" in text_of(first)
    assert f'href="/copy-logs/{big}?page=2" hx-get="/copy-logs/{big}?page=2"' in \
        first.get_data(as_text=True)
    last = client.get(f"/copy-logs/{big}?page=3")
    assert entry_paths(last) == [f"big/{i:05d}.bin" for i in range(200, 250)]
    small = client.get(f"/copy-logs/{big}?page=2&per_page=10")
    assert entry_paths(small) == [f"big/{i:05d}.bin" for i in range(10, 20)]
    assert "per_page=10" in small.get_data(as_text=True).partition('class="pager"')[2]


def test_filters_by_category_code_and_path(client, auth, indexed):
    auth.sign_in()
    big = log_id(indexed, "big/ORD9_SER9_CopyLog_big.xml")
    by_category = client.get(f"/copy-logs/{big}?category=uploaderrorwin32")
    assert entry_paths(by_category)[:3] == ["big/00000.bin", "big/00003.bin", "big/00006.bin"]
    assert "of 84 (filtered)" in text_of(by_category)
    by_code = client.get(f"/copy-logs/{big}?code=409&page=2")
    assert entry_paths(by_code)[0] == "big/00151.bin"
    pager = by_code.get_data(as_text=True).partition('class="pager"')[2]
    assert "code=409" in pager and "page=1" not in pager
    by_path = client.get(f"/copy-logs/{big}?q=BIG/0012")
    assert entry_paths(by_path) == [f"big/{i:05d}.bin" for i in range(120, 130)]
    both = client.get(f"/copy-logs/{big}?q=big/001&code=32")
    assert entry_paths(both) == [f"big/{i:05d}.bin" for i in range(102, 200, 3)]
    assert 'value="big/001"' in both.get_data(as_text=True)


def test_categories_and_codes_the_reference_does_not_know_can_be_filtered(client, auth, root,
                                                                         store):
    odd = [("odd/one", "ExportCloudThrottled", "0x80070005", "Busy."),
           ("odd/two", "UploadErrorWin32", "5", "Denied.")]
    (root / "acct2" / "ORD3_SER3_CopyLog_odd.xml").write_bytes(
        copy_log_bytes(odd) + b'<ErroredEntity Path="odd/bare"><Type>File</Type>'
                              b"</ErroredEntity>\n")
    odd_id = log_id(store, "acct2/ORD3_SER3_CopyLog_odd.xml")
    store.ensure_index(odd_id)
    auth.sign_in()
    page = client.get(f"/copy-logs/{odd_id}")
    assert page.status_code == 200 and "(none)" in text_of(page)
    assert "category=%28none%29" not in page.get_data(as_text=True)
    assert entry_paths(client.get(f"/copy-logs/{odd_id}?category=ExportCloudThrottled")) == \
        ["odd/one"]
    assert entry_paths(client.get(f"/copy-logs/{odd_id}?code=0x80070005")) == ["odd/one"]
    assert client.get(f"/copy-logs/{odd_id}?code=0x1").status_code == 422


def test_share_log_accepts_a_code_by_number_or_name(client, auth, indexed):
    auth.sign_in()
    upload = log_id(indexed, UPLOAD)
    by_number = entry_paths(client.get(f"/copy-logs/{upload}?code=2000"))
    by_name = entry_paths(client.get(f"/copy-logs/{upload}?code=error_etag_mismatch"))
    assert by_number == by_name and len(by_number) == 1


def test_htmx_filter_answers_the_entries_fragment(client, auth, indexed):
    auth.sign_in()
    big = log_id(indexed, "big/ORD9_SER9_CopyLog_big.xml")
    response = client.get(f"/copy-logs/{big}?code=32", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html and "By category" not in html
    assert "HX-Request" in response.headers["Vary"]
    assert entry_paths(response)[:2] == ["big/00000.bin", "big/00003.bin"]
    assert f"/copy-logs/{big}/entries.csv?code=32" in html


def test_filter_form_is_a_plain_get_enhanced_by_htmx(client, auth, indexed):
    auth.sign_in()
    big = log_id(indexed, "big/ORD9_SER9_CopyLog_big.xml")
    html = client.get(f"/copy-logs/{big}").get_data(as_text=True)
    form = re.search(r"<form method=\"get\"[^>]*copylog-filters[^>]*>", html)[0]
    assert f'action="/copy-logs/{big}"' in form and f'hx-get="/copy-logs/{big}"' in form
    assert 'hx-target="#entries"' in form and 'hx-push-url="true"' in form


@pytest.mark.parametrize(("query", "field", "message"), [
    ("category=NoSuchCategory", "category", "Category: must be a category of the reference"),
    ("code=abc", "code", "Error code: must be a number"),
    ("code=1%3B%20DROP", "code", "Error code: must be a number"),
    ("q=" + "x" * 201, "q", "Path contains: must be at most 200 characters"),
    ("page=0", "page", "Page: must be a whole number"),
    ("page=abc", "page", "Page: must be a whole number"),
    ("page=4", "page", "There are 3 pages of entries, so there is no page 4."),
    ("per_page=5", "per_page", "Per page: must be a whole number from 10 to 500"),
    ("per_page=501", "per_page", "Per page: must be a whole number from 10 to 500"),
])
def test_bad_filter_values_get_a_clear_message(client, auth, indexed, query, field, message):
    auth.sign_in()
    big = log_id(indexed, "big/ORD9_SER9_CopyLog_big.xml")
    response = client.get(f"/copy-logs/{big}?{query}")
    assert response.status_code == 422
    assert message in text_of(response)
    htmx = client.get(f"/copy-logs/{big}?{query}", headers={"HX-Request": "true"})
    assert htmx.status_code == 422 and message in text_of(htmx)


# download and export


def test_download_gives_the_original_bytes_and_is_audited(client, auth, root, indexed):
    auth.sign_in()
    upload = log_id(indexed, UPLOAD)
    response = client.get(f"/copy-logs/{upload}/download")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == \
        "attachment; filename=\"upload-2019-03-18.xml\"; filename*=UTF-8''upload-2019-03-18.xml"
    assert response.get_data() == (root / UPLOAD).read_bytes()
    response.close()
    with client.application.app_context():
        row = db.get_db().execute("SELECT * FROM audit WHERE action = 'copylog_download'"
                                  ).fetchone()
    assert row["target"] == UPLOAD and row["actor"] == "admin" and row["outcome"] == "success"


def csv_rows(response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_export_streams_the_filtered_entries_as_csv(client, auth, indexed):
    auth.sign_in()
    big = log_id(indexed, "big/ORD9_SER9_CopyLog_big.xml")
    response = client.get(f"/copy-logs/{big}/entries.csv?code=32&q=big/002")
    assert response.is_streamed and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    rows = csv_rows(response)
    assert [r["path"] for r in rows] == [f"big/{i:05d}.bin" for i in range(201, 250, 3)]
    assert {r["category"] for r in rows} == {"UploadErrorWin32"} and rows[0]["code"] == "32"
    everything = csv_rows(client.get(f"/copy-logs/{big}/entries.csv"))
    assert len(everything) == 250
    with client.application.app_context():
        row = db.get_db().execute("SELECT * FROM audit WHERE action = 'copylog_export' "
                                  "ORDER BY id").fetchone()
    assert '"code": "32"' in row["detail"] and row["target"].endswith("CopyLog_big.xml")


def test_export_cells_cannot_run_as_formulas(client, auth, root, store):
    hostile = [("=HYPERLINK(&quot;http://x&quot;)", "UploadErrorWin32", "5", "+SUM(A1)"),
               ("@cmd", "UploadErrorWin32", "5", "-2+3"),
               ("|calc", "UploadErrorWin32", "5", "%0A"), ("plain", "UploadErrorWin32", "5",
                                                          "fine")]
    (root / "acct2" / "ORD7_SER7_CopyLog_formula.xml").write_bytes(copy_log_bytes(hostile))
    auth.sign_in()
    formula = log_id(store, "acct2/ORD7_SER7_CopyLog_formula.xml")
    rows = csv_rows(client.get(f"/copy-logs/{formula}/entries.csv"))
    assert [r["path"] for r in rows] == ["'=HYPERLINK(\"http://x\")", "'@cmd", "'|calc", "plain"]
    assert [r["message"] for r in rows] == ["'+SUM(A1)", "'-2+3", "'%0A", "fine"]


def test_export_refuses_bad_filters(client, auth, indexed):
    auth.sign_in()
    big = log_id(indexed, "big/ORD9_SER9_CopyLog_big.xml")
    response = client.get(f"/copy-logs/{big}/entries.csv?category=Nope")
    assert response.status_code == 422 and "category" in text_of(response)


def test_viewer_reads_downloads_and_exports(client, auth, indexed):
    auth.sign_in_viewer()
    upload = log_id(indexed, UPLOAD)
    assert client.get("/copy-logs/").status_code == 200
    assert client.get(f"/copy-logs/{upload}").status_code == 200
    download = client.get(f"/copy-logs/{upload}/download")
    assert download.status_code == 200
    download.close()
    assert client.get(f"/copy-logs/{upload}/entries.csv").status_code == 200
    assert client.get(f"/api/v1/copylogs/{upload}/entries").status_code == 200


def test_an_empty_log_reads_as_no_entries(client, auth, root, store):
    upload = root / "share2" / "Microsoft Data Box Edge" / "Upload"
    upload.mkdir(parents=True)
    (upload / "empty.xml").write_bytes(b"")
    auth.sign_in()
    empty = log_id(store, "share2/Microsoft Data Box Edge/Upload/empty.xml")
    page = client.get(f"/copy-logs/{empty}")
    assert page.status_code == 200 and "No entries match" in text_of(page)
    assert "cannot be read" not in text_of(page)
    assert client.get(f"/copy-logs/{empty}/entries.csv").get_data(as_text=True).strip() == \
        ",".join(export.CSV_FIELDS)
    assert client.get(f"/api/v1/copylogs/{empty}/entries").get_json()["total"] == 0


# hostile files and hostile ids


def test_hostile_files_show_their_error_and_the_rest_keeps_working(client, auth, store,
                                                                   hostile):
    auth.sign_in()
    listing = client.get("/copy-logs/")
    assert listing.status_code == 200
    html = listing.get_data(as_text=True)
    for path, reason in ((hostile["escape"], "symbolic link that leaves its root"),
                         (hostile["laughs"], "declares a DTD or entities"),
                         (hostile["garbage"], "not a copy log")):
        row = re.search(re.escape(path) + r".*?</tr>", html, re.S)[0]
        assert "Cannot be read:" in row and reason in row and "Unreadable" in row
        page = client.get(f"/copy-logs/{log_id(store, path)}")
        assert page.status_code == 200 and reason in text_of(page)
        assert "Download the original" not in text_of(page)
    assert "SECRET" not in html
    assert entry_paths(client.get(f"/copy-logs/{log_id(store, UPLOAD)}"))


def test_symlink_out_of_the_root_is_never_served(client, auth, store, hostile):
    auth.sign_in()
    escape = log_id(store, hostile["escape"])
    responses = [client.get(f"/copy-logs/{escape}"),
                 client.get(f"/copy-logs/{escape}?code=5"),
                 client.get(f"/copy-logs/{escape}/download"),
                 client.get(f"/copy-logs/{escape}/entries.csv"),
                 client.get(f"/api/v1/copylogs/{escape}"),
                 client.get(f"/api/v1/copylogs/{escape}/entries")]
    assert [r.status_code for r in responses] == [200, 200, 404, 409, 200, 409]
    for response in responses:
        assert "SECRET" not in response.get_data(as_text=True)
        assert "payroll" not in response.get_data(as_text=True)
    assert "symbolic link" in text_of(responses[2])
    with client.application.app_context():
        refused = db.get_db().execute("SELECT * FROM audit WHERE action = 'copylog_download'"
                                      ).fetchone()
    assert refused["outcome"] == "refused" and refused["target"] == hostile["escape"]


@pytest.mark.parametrize("path", [
    "/copy-logs/..", "/copy-logs/%2e%2e", "/copy-logs/..%2f..%2fetc%2fpasswd",
    "/copy-logs/%2e%2e%2f%2e%2e%2fetc%2fpasswd/download", "/copy-logs/....%2F....%2F/download",
    "/copy-logs/AAAAAAAAAAAAAAAA", "/copy-logs/AAAAAAAAAAAAAAAA/download",
    "/copy-logs/AAAAAAAAAAAAAAAA/entries.csv", "/copy-logs/%00AAAAAAAAAAAAAAA",
    "/copy-logs/share1%2ferror.xml/download", "/copy-logs/" + "A" * 17,
])
def test_path_traversal_and_unknown_ids_are_404(client, auth, path):
    auth.sign_in()
    response = client.get(path)
    assert response.status_code == 404
    assert "ErrorList" not in response.get_data(as_text=True)


# the overview card


def test_overview_card_counts_upload_errors_of_the_last_day(client, auth, root, indexed):
    old = time.time() - 3 * 86400
    for path in root.rglob("*"):
        if path.is_file() and path.name != "photos.log":
            os.utime(path, (old, old))
    auth.sign_in()
    page = text_of(client.get("/"))
    assert "Upload errors (24 h)" in page
    assert "2 upload errors" in page and "Counted in 1 of 1 upload and copy log changed" in page
    assert 'href="/copy-logs/"' in client.get("/").get_data(as_text=True)
