import re
import time

from webui.dashboard import usage

from conftest import AuthActions, make_app


def test_overview_shows_device_and_live_usage(client, auth):
    auth.sign_in_viewer()
    page = client.get("/").get_data(as_text=True)
    assert "edge-test" in page and "Live usage" in page
    assert 'hx-trigger="every 2s"' in page


def test_usage_fragment_and_api_after_samples(app, client, auth):
    auth.sign_in_viewer()
    usage.sampler(app).ensure_running()
    usage.sampler(app).take()
    fragment = client.get("/usage").get_data(as_text=True)
    assert "<polyline" in fragment and "CPU" in fragment
    body = client.get("/api/v1/usage").get_json()
    latest = body["latest"]
    assert 0 <= latest["cpu_percent"] <= 100 and 0 < latest["memory_percent"] <= 100
    assert latest["at"] <= time.time()


def test_one_sampler_for_every_client(app, client, auth):
    auth.sign_in_viewer()
    client.get("/usage")
    first = usage.sampler(app)._thread
    app.test_client().get("/usage")
    assert usage.sampler(app)._thread is first and first.is_alive()


def test_each_app_samples_usage_on_its_own(app, tmp_path):
    other = make_app(tmp_path / "other")
    try:
        assert usage.sampler(other) is not usage.sampler(app)
        usage.sampler(app).ensure_running()
        usage.sampler(app).take()
        assert not usage.sampler(other).samples
    finally:
        other.extensions["last_seen"].close()
        other.extensions["jobs"].shutdown()


def test_sparkline_scales_into_the_box():
    points = usage.sparkline([0, 50, 100], width=100, height=20, ceiling=100)
    coords = [tuple(map(float, p.split(","))) for p in points.split()]
    assert coords[0] == (0.0, 19.0) and coords[-1] == (100.0, 1.0)
    assert usage.sparkline([]) == ""


def test_hardware_page_and_api(client, auth):
    auth.sign_in_viewer()
    page = client.get("/hardware").get_data(as_text=True)
    for heading in ("Disks", "Network ports", "USB devices", "GPUs and accelerators",
                    "Power supplies", "Temperature sensors"):
        assert heading in page
    body = client.get("/api/v1/hardware").get_json()
    assert set(body) == {"disks", "network_interfaces", "usb_devices", "accelerators",
                         "power_supplies", "temperature_sensors"}


def banner_titles(page: str) -> list[str]:
    return re.findall(r'<div class="banner banner-\w+" role="status">\s*'
                      r'<p class="banner-line"><strong>([^<]+)</strong>', page)


def test_banners_are_one_line_with_their_text_behind_details(client, auth):
    auth.sign_in_viewer()
    page = client.get("/hardware").get_data(as_text=True)
    assert "Power actions are simulated." in banner_titles(page)
    assert re.search(r'<button type="button" class="link-button banner-toggle" '
                     r'aria-expanded="false" aria-controls="(banner-text-\d)">Details</button>'
                     r'</p>\s*<p class="banner-text" id="\1" hidden>', page)
    assert 'style="' not in page and "<script>" not in page  # the CSP allows neither


def test_the_dry_run_banner_is_dismissed_for_the_session_only(app, client, auth):
    auth.sign_in_viewer()
    answer = auth.post("/banners/dismiss", {"title": "Power actions are simulated."},
                       headers={"HX-Request": "true"})
    assert answer.status_code == 200 and answer.get_data() == b""
    assert "Power actions are simulated." not in banner_titles(client.get("/").get_data(True))
    other = app.test_client()
    AuthActions(other).sign_in()
    assert "Power actions are simulated." in banner_titles(other.get("/").get_data(True))
    # Signing in again begins a new session: the banner is back.
    auth.post("/sign-out")
    auth.sign_in_viewer()
    assert "Power actions are simulated." in banner_titles(client.get("/").get_data(True))


def test_only_information_banners_can_be_dismissed(client, auth):
    auth.sign_in()
    assert auth.post("/banners/dismiss", {"title": "No such banner."}).status_code == 404
    for _ in range(2):
        plain = auth.post("/banners/dismiss", {"title": "Power actions are simulated."})
        assert plain.status_code == 303 and plain.headers["Location"] == "/"
    with client.session_transaction() as session:
        assert session["dismissed_banners"] == ["Power actions are simulated."]


def test_failed_sign_ins_and_hardware_tables_turn_into_labelled_cards(client, auth):
    auth.sign_in("admin", "wrong password")
    auth.sign_in_viewer()
    overview = client.get("/").get_data(as_text=True)
    assert 'class="table compact cards signins"' in overview
    assert '<td data-label="Time"><time datetime=' in overview
    assert re.search(r'title="[^"]+ UTC\)">(just now|\d+ min ago)</time>', overview)
    hardware = client.get("/hardware").get_data(as_text=True)
    for table in re.findall(r"<table.*?</table>", hardware, re.S):
        assert 'class="table' in table and " cards" in table
        assert not re.search(r"<td(?! data-label=)", table)


def test_live_usage_shows_now_and_highest_inside_the_card(app, client, auth):
    auth.sign_in_viewer()
    usage.sampler(app).ensure_running()
    usage.sampler(app).take()
    fragment = client.get("/usage").get_data(as_text=True)
    assert re.search(r'<span class="usage-scale">highest \d+ %</span>', fragment)
    assert 'preserveAspectRatio="none"' in fragment and 'width="160"' not in fragment
    assert 'href="/usage/history"' in fragment
