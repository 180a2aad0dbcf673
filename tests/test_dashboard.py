import time

from webui.dashboard import usage

from conftest import make_app


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
