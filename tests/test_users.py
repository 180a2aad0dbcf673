import re

import pytest

from webui import db
from webui.auth import users

from conftest import AuthActions


def _one_time(html: str) -> str:
    match = re.search(r'<code class="secret">([^<]+)</code>', html)
    assert match, "no one-time secret shown"
    return match.group(1)


def test_admin_adds_a_viewer_who_must_change_password(app, client, auth):
    auth.sign_in()
    response = auth.post("/users/", {"username": "operator", "role": "viewer"},
                         follow_redirects=True)
    assert response.status_code == 200
    password = _one_time(response.get_data(as_text=True))
    other = app.test_client()
    AuthActions(other).sign_in("operator", password)
    assert "/account/password" in other.get("/").headers["Location"]


@pytest.mark.parametrize(("username", "message"), [
    ("", "This field is required"),
    ("Admin!", "lower-case letters"),
    ("a", "between 2 and 32"),
    ("viewer", "already exists"),
])
def test_add_user_validation(client, auth, username, message):
    auth.sign_in()
    response = auth.post("/users/", {"username": username, "role": "viewer"})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)


def test_last_administrator_cannot_be_demoted_or_removed(app, client, auth):
    auth.sign_in()
    with app.app_context():
        admin_id = users.by_name(db.get_db(), "admin")["id"]
    response = auth.post(f"/users/{admin_id}/role", {"role": "viewer"}, follow_redirects=True)
    assert "last administrator cannot be demoted" in response.get_data(as_text=True)
    with app.app_context():
        assert users.by_name(db.get_db(), "admin")["role"] == "administrator"
        with pytest.raises(users.AccountError, match="last administrator"):
            users.delete(db.get_db(), admin_id)


def test_role_change_and_removal(app, client, auth):
    auth.sign_in()
    with app.app_context():
        viewer_id = users.by_name(db.get_db(), "viewer")["id"]
    auth.post(f"/users/{viewer_id}/role", {"role": "administrator"})
    with app.app_context():
        assert users.by_name(db.get_db(), "viewer")["role"] == "administrator"
    auth.post(f"/users/{viewer_id}/delete")
    with app.app_context():
        assert users.by_name(db.get_db(), "viewer") is None
        actions = {r["action"] for r in db.get_db().execute("SELECT action FROM audit")}
    assert {"user_role", "user_remove"} <= actions


def test_reset_password_ends_sessions_and_shows_one_time_password(app, client, auth):
    viewer_client = app.test_client()
    AuthActions(viewer_client).sign_in_viewer()
    auth.sign_in()
    with app.app_context():
        viewer_id = users.by_name(db.get_db(), "viewer")["id"]
    response = auth.post(f"/users/{viewer_id}/reset", follow_redirects=True)
    assert _one_time(response.get_data(as_text=True))
    assert viewer_client.get("/").status_code == 303


def test_tokens_created_once_used_and_revoked(app, client, auth):
    auth.sign_in()
    created = auth.api("POST", "/api/v1/tokens", {"name": "grafana", "role": "viewer",
                                                   "expires_days": 30})
    assert created.status_code == 201
    token = created.get_json()["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    anonymous = app.test_client()
    status = anonymous.get("/api/v1/status", headers=bearer)
    assert status.status_code == 200 and status.get_json()["boot_id"]
    # A viewer token cannot change anything, and tokens never open the HTML pages.
    assert anonymous.post("/api/v1/tokens", json={"name": "x"}, headers=bearer).status_code == 403
    assert anonymous.get("/audit", headers=bearer).status_code == 303
    listed = auth.api("GET", "/api/v1/tokens").get_json()["items"]
    assert listed[0]["name"] == "grafana" and listed[0]["last_used_at"]
    assert "token_hash" not in listed[0] and token not in str(listed)
    assert auth.api("DELETE", f"/api/v1/tokens/{listed[0]['id']}").status_code == 204
    refused = anonymous.get("/api/v1/status", headers=bearer)
    assert refused.status_code == 401 and "revoked" in refused.get_json()["detail"]


def test_admin_token_needs_no_csrf(app, client, auth):
    auth.sign_in()
    token = auth.api("POST", "/api/v1/tokens", {"name": "script", "role": "administrator"}
                     ).get_json()["token"]
    response = app.test_client().post("/api/v1/tokens", json={"name": "made by script"},
                                      headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 201


def test_expired_token_is_refused(app, client, auth, monkeypatch):
    auth.sign_in()
    token = auth.api("POST", "/api/v1/tokens", {"name": "short", "expires_days": 1}
                     ).get_json()["token"]
    real_now = db.now
    monkeypatch.setattr(db, "now", lambda: real_now() + 2 * 86400)
    response = app.test_client().get("/api/v1/status", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


@pytest.mark.parametrize(("body", "field"), [
    ({}, "name"),
    ({"name": ""}, "name"),
    ({"name": "x" * 65}, "name"),
    ({"name": "ok", "role": "root"}, "role"),
    ({"name": "ok", "expires_days": 0}, "expires_days"),
    ({"name": "ok", "expires_days": "7"}, "expires_days"),
])
def test_token_api_validation(client, auth, body, field):
    auth.sign_in()
    response = auth.api("POST", "/api/v1/tokens", body)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["errors"][0]["field"] == field


def test_api_rejects_non_json(client, auth):
    auth.sign_in()
    response = auth.api("POST", "/api/v1/tokens", None, data="name=x",
                        content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415


def test_openapi_describes_every_api_route(app, client, auth):
    auth.sign_in_viewer()
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"].startswith("3.")
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            path = rule.rule.replace("<int:", "{").replace("<", "{").replace(">", "}")
            assert path in document["paths"], rule.rule
    status = document["paths"]["/api/v1/status"]["get"]
    assert status["summary"].startswith("Device name")


HUGE_IDS = ["99999999999999999999", "9223372036854775808", "9" * 5000]


@pytest.mark.parametrize("user_id", HUGE_IDS)
@pytest.mark.parametrize("action", ["role", "reset", "delete"])
def test_a_user_id_beyond_64_bits_is_not_found(client, auth, action, user_id):
    auth.sign_in()
    response = auth.post(f"/users/{user_id}/{action}", {"role": "viewer"})
    assert response.status_code == 404
    assert "Traceback" not in response.get_data(as_text=True)


@pytest.mark.parametrize("token_id", [*HUGE_IDS, "-1"])
def test_a_token_id_beyond_64_bits_or_negative_is_not_found(client, auth, token_id):
    auth.sign_in()
    assert auth.post(f"/users/tokens/{token_id}/revoke").status_code == 404
    response = auth.api("DELETE", f"/api/v1/tokens/{token_id}")
    assert response.status_code == 404 and response.mimetype == "application/problem+json"


def test_the_largest_64_bit_id_is_an_ordinary_unknown_user(client, auth):
    auth.sign_in()
    response = auth.post("/users/9223372036854775807/role", {"role": "viewer"})
    assert response.status_code == 404
    assert "No such user." in response.get_data(as_text=True)


def test_openapi_bounds_integer_path_ids_to_64_bits(client, auth):
    auth.sign_in_viewer()
    document = client.get("/api/v1/openapi.json").get_json()
    parameter = document["paths"]["/api/v1/tokens/{token_id}"]["delete"]["parameters"][0]
    assert parameter["schema"] == {"type": "integer", "minimum": 0,
                                   "maximum": 9223372036854775807}


def _audit_trail(app) -> list[tuple]:
    with app.app_context():
        rows = db.get_db().execute("SELECT * FROM audit WHERE action NOT IN ('sign_in') "
                                   "ORDER BY id").fetchall()
    return [(r["actor"], r["client_addr"], r["action"], r["target"], r["outcome"]) for r in rows]


def test_account_changes_are_audited_with_who_and_from_where(app, client, auth):
    auth.sign_in()
    with app.app_context():
        admin_id = users.by_name(db.get_db(), "admin")["id"]
        viewer_id = users.by_name(db.get_db(), "viewer")["id"]
    auth.post("/users/", {"username": "operator", "role": "viewer"})
    auth.post(f"/users/{admin_id}/role", {"role": "viewer"})
    auth.post(f"/users/{viewer_id}/reset")
    auth.post(f"/users/{admin_id}/delete")
    auth.post(f"/users/{viewer_id}/delete")
    auth.post("/users/tokens", {"name": " grafana ", "role": "viewer"})
    token_id = auth.api("POST", "/api/v1/tokens", {"name": "script"}).get_json()["id"]
    auth.api("DELETE", f"/api/v1/tokens/{token_id}")
    here = ("admin", "127.0.0.1")
    assert _audit_trail(app) == [
        (*here, "user_add", "operator", "success"),
        (*here, "user_role", "admin", "refused"),
        (*here, "user_password_reset", "viewer", "success"),
        (*here, "user_remove", "viewer", "success"),
        (*here, "token_create", "grafana", "success"),
        (*here, "token_create", "script", "success"),
        (*here, "token_revoke", str(token_id), "success"),
    ]


def test_an_admin_cannot_remove_the_account_signed_in_with(app, client, auth):
    auth.sign_in()
    with app.app_context():
        admin_id = users.by_name(db.get_db(), "admin")["id"]
    page = auth.post(f"/users/{admin_id}/delete", follow_redirects=True)
    assert "remove your own account while signed in" in page.get_data(as_text=True)
    with app.app_context():
        assert users.by_name(db.get_db(), "admin") is not None



def test_token_api_takes_a_whole_number_written_as_a_float(client, auth):
    auth.sign_in()
    # JSON does not tell 30 from 30.0, and neither may the API.
    response = auth.api("POST", "/api/v1/tokens", {"name": "grafana", "expires_days": 30.0})
    assert response.status_code == 201
    assert auth.api("POST", "/api/v1/tokens", {"name": "x", "expires_days": 30.5}
                    ).status_code == 422
