"""Copy logs over ``/api/v1/copylogs``: shapes, filters, bad values, unknown and hostile ids."""
# ruff: noqa: F811  (the fixtures come from copylog_fixtures and are named as parameters)

from __future__ import annotations

import datetime as dt

import pytest

from webui import db
from webui.auth import tokens
from webui.copylogs import indexer

from copylog_fixtures import (  # noqa: F401
    SERVICE_LOG,
    UPLOAD,
    VALIDATION,
    app,
    hostile,
    indexed,
    log_id,
    root,
    store,
)

LOG_FIELDS = {"id", "root", "share", "kind", "path", "modified_at", "size", "status", "entries",
              "errors", "warnings", "by_category", "by_code", "error"}
ENTRY_FIELDS = {"path", "category", "code", "code_name", "message", "type"}


def test_list_has_the_documented_shape(client, auth, root, indexed):
    auth.sign_in()
    response = client.get("/api/v1/copylogs")
    assert response.status_code == 200
    body = response.get_json()
    logs = body["items"]
    assert (body["total"], body["page"], body["per_page"]) == (len(indexed.list()), 1, 50)
    assert {log["path"] for log in logs} == {log.path for log in indexed.list()}
    for log in logs:
        assert log.keys() >= LOG_FIELDS
        assert log["root"] == str(root)
        assert not log["path"].startswith("/") and ".." not in log["path"].split("/")
        assert dt.datetime.fromisoformat(log["modified_at"]).utcoffset() == dt.timedelta(0)
        assert log["kind"] in {"upload", "refresh", "copy_log", "validation"}
        assert "/" not in log["id"] and "share" not in log["id"] and len(log["id"]) == 16
    upload = next(log for log in logs if log["path"] == UPLOAD)
    assert upload["kind"] == "upload" and upload["share"] == "share1"
    assert upload["by_code"]["2000"] == 1 and upload["error"] is None
    assert next(log for log in logs if log["path"] == VALIDATION)["kind"] == "validation"


def test_list_sorts_and_refuses_unknown_sorts(client, auth, indexed):
    auth.sign_in()
    logs = client.get("/api/v1/copylogs?sort=errors").get_json()["items"]
    assert [log["errors"] for log in logs] == sorted((log["errors"] for log in logs),
                                                      reverse=True)
    fewest = client.get("/api/v1/copylogs?sort=errors&order=asc").get_json()["items"]
    assert [log["errors"] for log in fewest] == sorted(log["errors"] for log in logs)
    for query, field in [("sort=bytes", "sort"), ("order=up", "order"),
                         ("per_page=0", "per_page")]:
        bad = client.get(f"/api/v1/copylogs?{query}")
        assert bad.status_code == 422 and bad.mimetype == "application/problem+json"
        assert [error["field"] for error in bad.get_json()["errors"]] == [field]


def test_list_pages_like_every_list_of_the_api(client, auth, indexed):
    auth.sign_in()
    everything = client.get("/api/v1/copylogs?sort=share").get_json()["items"]
    first = client.get("/api/v1/copylogs?sort=share&per_page=2").get_json()
    second = client.get("/api/v1/copylogs?sort=share&per_page=2&page=2").get_json()
    assert first["total"] == second["total"] == len(everything) > 4
    assert first["items"] + second["items"] == everything[:4]
    far = client.get("/api/v1/copylogs?page=1000").get_json()
    assert far["items"] == [] and far["total"] == len(everything)


def test_counts_are_null_until_indexed_and_the_list_queues_them_once_sent(
        app, client, auth, store, monkeypatch):
    queued = []
    monkeypatch.setattr(indexer.Indexer, "request",
                        lambda self, ids, first=False: queued.extend(ids))
    auth.sign_in()
    response = client.get("/api/v1/copylogs")
    upload = next(log for log in response.get_json()["items"] if log["path"] == UPLOAD)
    assert (upload["entries"], upload["errors"], upload["indexed"]) == (None, None, False)
    assert queued == []
    response.close()
    assert upload["id"] in queued  # once the answer has been sent
    one = client.get(f"/api/v1/copylogs/{upload['id']}")
    assert one.status_code == 200 and one.get_json()["index"]["state"] == "none"
    assert one.get_json()["by_code"] == {} and one.get_json()["codes"] == []


@pytest.mark.parametrize("query", ["page=%C2%B2", "per_page=%D9%A4%D9%A4"])
def test_numbers_in_other_digits_are_refused_by_the_page_and_the_api(client, auth, indexed,
                                                                     query):
    auth.sign_in()
    upload = log_id(indexed, UPLOAD)
    for path in (f"/copy-logs/{upload}", f"/api/v1/copylogs/{upload}/entries"):
        assert client.get(f"{path}?{query}").status_code == 422, path


def test_one_log_carries_its_summary_with_code_information(client, auth, indexed):
    auth.sign_in()
    body = client.get(f"/api/v1/copylogs/{log_id(indexed, SERVICE_LOG)}").get_json()
    assert body.keys() >= LOG_FIELDS and body["index"]["state"] == "complete"
    codes = {row["code"]: row for row in body["codes"]}
    assert codes["409"]["name"] == "HTTP 409 Conflict"
    assert codes["409"]["category"] == "UploadErrorCloudHttp"
    assert codes["409"]["action"].startswith("Not retried")
    categories = {row["name"]: row for row in body["categories"]}
    assert categories["FileRenamed"]["severity"] == "warning"
    assert categories["UploadErrorWin32"]["count"] == 1


def test_entries_have_the_documented_shape_and_filters(client, auth, indexed):
    auth.sign_in()
    upload = log_id(indexed, UPLOAD)
    body = client.get(f"/api/v1/copylogs/{upload}/entries").get_json()
    assert (body["total"], body["page"], body["per_page"]) == (24, 1, 100)
    assert body["total_exact"] is True
    assert all(entry.keys() >= ENTRY_FIELDS for entry in body["items"])
    assert client.get(f"/api/v1/copylogs/{upload}/entries?code=16001").get_json()["total"] == 0
    etag = client.get(f"/api/v1/copylogs/{upload}/entries?code=2000").get_json()
    assert etag["total"] == 1
    assert etag["items"][0]["code_name"] == "ERROR_ETAG_MISMATCH"
    by_name = client.get(f"/api/v1/copylogs/{upload}/entries?code=ERROR_ETAG_MISMATCH")
    assert by_name.get_json()["items"] == etag["items"]
    by_category = client.get(f"/api/v1/copylogs/{upload}/entries?category=Upload&per_page=10"
                             "&page=2").get_json()
    assert by_category["page"] == 2 and len(by_category["items"]) == 2
    assert {e["category"] for e in by_category["items"]} == {"Upload"}


def test_a_page_beyond_the_last_is_empty(client, auth, indexed):
    auth.sign_in()
    body = client.get(f"/api/v1/copylogs/{log_id(indexed, UPLOAD)}/entries?page=99").get_json()
    assert (body["total"], body["page"], body["items"]) == (24, 99, [])


@pytest.mark.parametrize("name", ["RefreshException", "ERROR_GENERAL"])
def test_every_documented_code_name_is_a_filter_on_any_log(client, auth, indexed, name):
    auth.sign_in()
    for path in (UPLOAD, SERVICE_LOG, VALIDATION):
        response = client.get(f"/api/v1/copylogs/{log_id(indexed, path)}/entries?code={name}")
        assert response.status_code == 200, (path, response.get_json())


@pytest.mark.parametrize(("query", "field"), [
    ("category=Bogus", "category"), ("category=upload", "category"), ("code=abc", "code"),
    ("code=error_general", "code"), ("code=%D9%A4", "code"), ("code=12345678901", "code"),
    ("q=" + "a" * 201, "q"), ("page=-1", "page"), ("page=0", "page"), ("page=%C2%B2", "page"),
    ("per_page=9", "per_page"), ("per_page=100000", "per_page"), ("per_page=5.0", "per_page"),
])
def test_bad_entry_filters_are_422_naming_the_field(client, auth, indexed, query, field):
    auth.sign_in()
    response = client.get(f"/api/v1/copylogs/{log_id(indexed, SERVICE_LOG)}/entries?{query}")
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert response.get_json()["errors"][0]["field"] == field


@pytest.mark.parametrize("path", [
    "/api/v1/copylogs/AAAAAAAAAAAAAAAA", "/api/v1/copylogs/AAAAAAAAAAAAAAAA/entries",
    "/api/v1/copylogs/..", "/api/v1/copylogs/%2e%2e/entries",
    "/api/v1/copylogs/..%2f..%2fetc%2fpasswd", "/api/v1/copylogs/short",
])
def test_unknown_and_malformed_ids_are_404_problems(client, auth, path):
    auth.sign_in()
    response = client.get(path)
    assert response.status_code == 404 and response.mimetype == "application/problem+json"


def test_unreadable_log_is_reported_not_served(client, auth, store, hostile):
    auth.sign_in()
    logs = {log["path"]: log for log in client.get("/api/v1/copylogs").get_json()["items"]}
    escape = logs[hostile["escape"]]
    assert escape["status"] == "unreadable" and "symbolic link" in escape["error"]
    entries = client.get(f"/api/v1/copylogs/{escape['id']}/entries")
    assert entries.status_code == 409 and "symbolic link" in entries.get_json()["detail"]
    assert "SECRET" not in entries.get_data(as_text=True)
    assert logs[UPLOAD]["error"] is None


def test_viewer_and_viewer_token_read_the_api(app, client, auth, indexed):
    auth.sign_in_viewer()
    assert client.get("/api/v1/copylogs").status_code == 200
    with app.app_context():
        _, token = tokens.create(db.get_db(), "monitor", "viewer", "admin", None)
    bare = app.test_client()
    response = bare.get(f"/api/v1/copylogs/{log_id(indexed, UPLOAD)}/entries?per_page=10",
                        headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200 and len(response.get_json()["items"]) == 10
