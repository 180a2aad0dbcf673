from prometheus_client.parser import text_string_to_metric_families


def _families(text: str) -> dict:
    return {f.name: f for f in text_string_to_metric_families(text)}


def test_metrics_for_a_token(app, client, auth):
    auth.sign_in()
    token = auth.api("POST", "/api/v1/tokens", {"name": "prometheus"}).get_json()["token"]
    response = app.test_client().get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    families = _families(response.get_data(as_text=True))
    assert families["edge_webui_info"].samples[0].labels["device"] == "edge-test"
    assert families["edge_uptime_seconds"].samples[0].value > 0
    modes = {s.labels["mode"]: s.value for s in families["edge_connectivity_mode"].samples}
    assert modes["fully_connected"] == 1 and sum(modes.values()) == 1
    statuses = {s.labels["status"] for s in families["edge_diagnostics_results"].samples}
    assert {"healthy", "unhealthy", "could_not_run"} <= statuses


def test_metrics_count_failed_sign_ins(client, auth):
    auth.sign_in(password="not the password at all")
    auth.sign_in()
    families = _families(client.get("/metrics").get_data(as_text=True))
    assert families["edge_failed_sign_ins_24h"].samples[0].value == 1


def test_metrics_need_admin_or_token(app, client, auth):
    assert client.get("/metrics").status_code == 401
    auth.sign_in_viewer()
    assert client.get("/metrics").status_code == 403
