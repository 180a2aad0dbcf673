"""The lean request path keeps its answers right: what it remembers is forgotten the moment it
stops being true (a revoked or expired token, a new connectivity mode, a card's new data)."""

from __future__ import annotations

import time

from webui import audit, db, last_seen, templating
from webui.auth import tokens
from webui.connectivity import state
from webui.dashboard import cards, usage
from webui.security import checked_tokens

ADMIN = audit.Actor("admin", "127.0.0.1")


def new_token(app, expires_at: float | None = None) -> tuple[int, str]:
    with app.app_context():
        return tokens.create(db.get_db(), "monitor", "administrator", "test", expires_at)


def remembered(app, token: str) -> bool:
    with app.app_context():
        return checked_tokens().get(tokens.digest(token), db.now()) is not None


def status(app, token: str) -> int:
    return app.test_client().get("/api/v1/status",
                                 headers={"Authorization": f"Bearer {token}"}).status_code


def test_a_revoked_token_is_refused_on_the_next_request_though_its_check_was_remembered(
        app, client, auth):
    token_id, token = new_token(app)
    assert status(app, token) == 200
    assert remembered(app, token)
    auth.sign_in()
    assert auth.api("DELETE", f"/api/v1/tokens/{token_id}").status_code == 204
    assert status(app, token) == 401
    assert not remembered(app, token)


def test_a_token_revoked_on_its_page_is_refused_at_once(app, client, auth):
    token_id, token = new_token(app)
    assert status(app, token) == 200
    auth.sign_in()
    assert auth.post(f"/users/tokens/{token_id}/revoke").status_code in (302, 303)
    assert status(app, token) == 401


def test_an_expired_token_is_refused_on_the_next_request_though_its_check_was_remembered(
        app, monkeypatch):
    expires_at = db.now() + 60
    _token_id, token = new_token(app, expires_at)
    assert status(app, token) == 200
    assert remembered(app, token)
    monkeypatch.setattr(db, "now", lambda: expires_at + 0.001)
    assert status(app, token) == 401


def test_a_remembered_token_notes_its_use_once_a_minute_or_from_a_new_address(app,
                                                                             monkeypatch):
    _token_id, token = new_token(app)
    noted = []
    seen = app.extensions["last_seen"]
    monkeypatch.setattr(seen, "token_used", lambda *use: noted.append(use))
    now = db.now()
    monkeypatch.setattr(db, "now", lambda: now)
    for _ in range(3):
        assert status(app, token) == 200
    assert len(noted) == 1
    monkeypatch.setattr(db, "now", lambda: now + tokens.NOTE_USE_SECONDS + 1)
    assert status(app, token) == 200
    other = app.test_client().get("/api/v1/status", headers={"Authorization": f"Bearer {token}"},
                                  environ_base={"REMOTE_ADDR": "127.0.0.2"})
    assert other.status_code == 200
    assert [use[2] for use in noted] == ["127.0.0.1", "127.0.0.1", "127.0.0.2"]


def test_the_last_use_a_token_list_shows_is_the_first_of_a_burst(app, client, auth):
    token_id, token = new_token(app)
    before = db.now()
    for _ in range(3):
        assert status(app, token) == 200
    with app.app_context():
        listed = tokens.all_tokens(db.get_db(), last_seen.current())
    [mine] = [t for t in listed if t["id"] == token_id]
    assert mine["last_used_at"] >= before and mine["last_used_addr"] == "127.0.0.1"


def change_mode(app, mode: str) -> None:
    with app.app_context():
        state.change(db.get_db(), mode, ADMIN, state.HookSettings.from_config(app.config))


def test_a_mode_change_through_its_service_takes_effect_on_the_next_request(app, client, auth):
    _token_id, token = new_token(app)
    assert status(app, token) == 200  # the mode is now remembered
    change_mode(app, "fully_disconnected")
    assert status(app, token) == 403
    auth.sign_in()
    page = client.get("/").get_data(as_text=True)
    assert "Connectivity: Fully disconnected." in page
    change_mode(app, "fully_connected")
    assert status(app, token) == 200
    assert "Connectivity: Fully connected." in client.get("/").get_data(as_text=True)


def test_a_read_that_raced_with_a_change_is_not_remembered(app, monkeypatch):
    key = app.config["INSTANCE"]
    real = state.mode_state

    def read_then_change(conn):
        found = real(conn)
        state.store_mode(conn, "partially_disconnected", "test")  # lands during the read
        return found

    with app.app_context():
        conn = db.get_db()
        monkeypatch.setattr(state, "mode_state", read_then_change)
        assert state.remembered_state(conn, key).mode == "fully_connected"
        monkeypatch.setattr(state, "mode_state", real)
        assert state.remembered_state(conn, key).mode == "partially_disconnected"


def test_the_connectivity_card_changes_when_the_mode_does(app, client, auth):
    auth.sign_in()
    assert "Blocked" not in client.get("/").get_data(as_text=True)
    change_mode(app, "fully_disconnected")
    page = client.get("/").get_data(as_text=True)
    assert "<strong>Fully disconnected</strong>" in page and "Blocked" in page


def test_a_card_is_made_again_only_when_its_data_changes(app):
    renders = []
    template = app.jinja_env.from_string("<p>{{ card.text }}</p>")

    def render(_name, data):
        renders.append(data)
        return template.render(card=data)

    kept = cards.CardCache()
    with app.test_request_context():
        zone = cards.zone_fingerprint()
        first = kept.card("t.html", {"text": "one"}, 100.0, zone, render)
        again = kept.card("t.html", {"text": "one"}, 101.0, zone, render)
        changed = kept.card("t.html", {"text": "two"}, 102.0, zone, render)
        other_zone = kept.card("t.html", {"text": "two"}, 103.0, ("elsewhere",), render)
    assert (str(first), str(again), str(changed)) == ("<p>one</p>", "<p>one</p>", "<p>two</p>")
    assert str(other_zone) == "<p>two</p>"
    assert len(renders) == 3


def test_a_card_saying_how_long_ago_is_made_again_when_its_wording_would_change(app):
    template = app.jinja_env.from_string("{{ card.at | relative_time }}")
    renders = []

    def render(_name, data):
        renders.append(data)
        return template.render(card=data)

    kept = cards.CardCache()
    at = time.time() - 30
    with app.test_request_context():
        zone = cards.zone_fingerprint()
        assert "just now" in kept.card("t.html", {"at": at}, at + 30, zone, render)
        assert "just now" in kept.card("t.html", {"at": at}, at + 59, zone, render)
        assert len(renders) == 1
        assert "1 min ago" in kept.card("t.html", {"at": at - 31}, at + 61, zone, render)
    assert len(renders) == 2


def test_when_a_relative_time_changes_its_wording():
    at = 1_000_000.0
    for seconds in (0, 30, 59, 60, 61, 119, 3599, 3600, 7300, 86400 + 5, -30, -61, -3700):
        now = at + seconds
        shown = str(templating.relative_time(at, now))
        change = templating.wording_changes_at(at, now)
        assert change > now or (seconds < 0 and change >= now)
        assert str(templating.relative_time(at, max(now, change - 0.001))) == shown
        assert str(templating.relative_time(at, change + 0.001)) != shown


def test_the_usage_card_follows_the_latest_sample(app, client, auth):
    auth.sign_in()
    sampler = usage.sampler(app)
    sampler.take()
    first = client.get("/usage").get_data(as_text=True)
    assert client.get("/usage").get_data(as_text=True) == first
    sampler.samples.append(usage.Sample(time.time(), 99.0, 12.0, 0, 0, 0, 0))
    changed = client.get("/usage").get_data(as_text=True)
    assert changed != first and "99 %" in changed


def test_the_navigation_is_the_role_s_and_marks_the_page_shown(app, client, auth):
    auth.sign_in()
    admin_page = client.get("/usage/history").get_data(as_text=True)
    assert '<a href="/usage/history" aria-current="page">Usage</a>' in admin_page
    assert '<a href="/">Overview</a>' in admin_page and "/users/" in admin_page
    viewer = app.test_client()
    from conftest import AuthActions

    AuthActions(viewer).sign_in_viewer()
    viewer_page = viewer.get("/").get_data(as_text=True)
    assert '<a href="/" aria-current="page">Overview</a>' in viewer_page
    assert 'href="/users/"' not in viewer_page


class CountingLock:
    def __init__(self):
        self.entered = 0

    def __enter__(self):
        self.entered += 1

    def __exit__(self, *exc):
        return False


def test_a_running_background_loop_is_not_started_under_a_lock_again(app):
    from webui.alerts.watch import watcher

    loop = watcher(app)
    loop.ensure_running()
    counting = CountingLock()
    loop._lock = counting
    sampler = usage.sampler(app)
    sampler.ensure_running()
    sampler._lock = counting
    for _ in range(3):
        loop.ensure_running()
        sampler.ensure_running()
    assert counting.entered == 0


def test_the_cards_zone_fingerprint_changes_with_the_device_time_zone(app):
    from webui import config

    with app.test_request_context():
        app.config["TIME_ZONE"] = "Asia/Tokyo"
        app.config[config.SOURCES] = {**app.config.get(config.SOURCES, {}),
                                      "TIME_ZONE": config.UI}
        tokyo = cards.zone_fingerprint()
        app.config["TIME_ZONE"] = "America/New_York"
        new_york = cards.zone_fingerprint()
        assert cards.zone_fingerprint() == new_york
    assert tokyo != new_york
    assert {offset.total_seconds() for offset, _name in tokyo} == {9 * 3600}
