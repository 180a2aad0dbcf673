"""Notifications delivered to real receivers on loopback: e-mail over STARTTLS with a login,
a signed HTTPS webhook, RFC 5424 syslog; retries, the connectivity mode's rules and the digest.
Every connection a test makes is checked to go to loopback only."""

from __future__ import annotations

import email
import email.policy
import hashlib
import hmac
import json
import socket
from pathlib import Path

import pytest
import trustme

from webui import audit, db
from webui.alerts import service as alerts
from webui.alerts.rules import Finding, Rule
from webui.connectivity import state
from webui.notifications import channels, delivery, senders

from network_peers import ConnectProxy
from notification_peers import (
    LOCAL_NAME,
    MAIL_NAME,
    PUBLIC_ADDRESS,
    PUBLIC_NAME,
    Resolver,
    WebhookReceiver,
    loopback_only,
    nothing_waiting,
    smtp_server,
    udp_listener,
)

ADMIN = audit.Actor("admin")
SECRET = "hook secret 7f3a"
PASSWORD = "smtp pass 91c2"
PROXY_PASSWORD = "proxy pass 5e1d"
VOLUME = Rule(id="volume_full", severity="critical", title="Data volume {volume} is full",
              message="The data volume {volume} is {percent}% full.",
              action="Free space on {volume} or add a disk.", raises="", clears="",
              check=lambda facts: [])


class Clock:
    def __init__(self):
        self.now = 1_900_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(autouse=True)
def only_loopback(monkeypatch):
    monkeypatch.setattr(socket, "create_connection", loopback_only(socket.create_connection))


@pytest.fixture
def clock(app):
    return Clock()


@pytest.fixture
def resolver():
    return Resolver()


@pytest.fixture
def deliverer(app, clock, resolver):
    found = delivery.deliverer(app)
    found.clock, found.resolver = clock, resolver
    return found


@pytest.fixture
def listener():
    sock = udp_listener()
    yield sock
    sock.close()


@pytest.fixture(scope="module")
def ca():
    return trustme.CA()


@pytest.fixture(scope="module")
def ca_file(ca, tmp_path_factory):
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture(scope="module")
def certificate(ca):
    return ca.issue_cert("127.0.0.1", LOCAL_NAME, MAIL_NAME, PUBLIC_NAME)


@pytest.fixture
def receiver(certificate):
    server = WebhookReceiver(certificate)
    yield server
    server.stop()


@pytest.fixture
def mail_server(certificate):
    controller, mailbox = smtp_server(certificate, require_starttls=True)
    yield controller, mailbox
    controller.stop()


def add_channel(app, kind, settings, name=None, secret=None, min_severity="informational",
                enabled=True):
    with app.app_context():
        return channels.add(db.get_db(), _instance(app), ADMIN,
                            name=name or f"{kind} {settings.get('port') or settings.get('url')}",
                            kind=kind, min_severity=min_severity, enabled=enabled,
                            settings=settings, secret=secret)


def _instance(app):
    return Path(app.config["INSTANCE"])


def webhook(app, receiver, ca_file, host=LOCAL_NAME, **options):
    return add_channel(app, "webhook", {"url": f"https://{host}:{receiver.port}/edge?site=1",
                                        "ca_file": ca_file}, **options)


def syslog(app, listener, facility="local0", **options):
    return add_channel(app, "syslog", {"transport": "udp", "host": "127.0.0.1",
                                       "port": listener.getsockname()[1],
                                       "facility": facility}, **options)


def found(app, clock, severity="critical", volume="data1"):
    """The volume rule finds ``volume`` full now; answers the changes."""
    with app.app_context():
        return alerts.apply(db.get_db(), {VOLUME: [Finding(volume, {"volume": volume,
                                                                    "percent": 97},
                                                           severity)]}, clock(),
                            alerts.listeners(app))


def nothing_found(app, clock):
    with app.app_context():
        return alerts.apply(db.get_db(), {VOLUME: []}, clock(), alerts.listeners(app))


def set_mode(app, mode):
    with app.app_context():
        db.put_setting(db.get_db(), state.SETTING_KEY, mode, "test")


def deliveries(app):
    with app.app_context():
        return [dict(row) for row in db.get_db().execute(
            "SELECT * FROM notification_deliveries ORDER BY id")]


def test_an_alert_is_mailed_over_starttls_with_the_login(app, deliverer, clock, mail_server,
                                                         ca_file):
    controller, mailbox = mail_server
    add_channel(app, "email", {"host": MAIL_NAME, "port": controller.port,
                               "security": "starttls", "username": "alerts",
                               "sender": "edge@example.test",
                               "recipients": ["ops@example.test", "oncall@example.test"],
                               "ca_file": ca_file}, secret=PASSWORD)
    [change] = found(app, clock)

    assert deliverer.tick() == 1

    [envelope] = mailbox.messages
    assert envelope.rcpt_tos == ["ops@example.test", "oncall@example.test"]
    assert mailbox.logins == [("alerts", PASSWORD)]
    mail = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert mail["Subject"] == "[Critical] Data volume data1 is full on edge-test"
    body = mail.get_content()
    assert "The data volume data1 is 97% full." in body
    assert "Recommended action: Free space on data1 or add a disk." in body
    assert f"http://edge-test:8443/alerts/{change.alert_id}" in body
    [sent] = deliveries(app)
    assert (sent["state"], sent["attempts"], sent["alert_id"]) == ("sent", 1, change.alert_id)


def test_an_alert_is_mailed_over_implicit_tls(app, deliverer, clock, certificate, ca_file):
    controller, mailbox = smtp_server(certificate, implicit_tls=True)
    try:
        add_channel(app, "email", {"host": MAIL_NAME, "port": controller.port,
                                   "security": "tls", "username": None,
                                   "sender": "edge@example.test",
                                   "recipients": ["ops@example.test"], "ca_file": ca_file})
        found(app, clock, severity="informational")
        deliverer.tick()
    finally:
        controller.stop()
    [envelope] = mailbox.messages
    mail = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert mail["Subject"] == "[Informational] Data volume data1 is full on edge-test"
    assert [row["state"] for row in deliveries(app)] == ["sent"]


def test_secrets_are_stored_sealed(app, mail_server, ca_file):
    controller, _mailbox = mail_server
    add_channel(app, "email", {"host": "127.0.0.1", "port": controller.port, "security": "tls",
                               "username": "alerts", "sender": "edge@example.test",
                               "recipients": ["ops@example.test"]}, secret=PASSWORD)
    instance = _instance(app)
    stored = (instance / db.DB_NAME).read_bytes() + b"".join(
        path.read_bytes() for path in instance.glob(f"{db.DB_NAME}-wal"))
    assert PASSWORD.encode() not in stored
    assert (instance / "notifications.key").stat().st_mode & 0o777 == 0o600
    with app.app_context():
        [channel] = channels.all_channels(db.get_db())
    assert channel.secret(instance) == PASSWORD


def test_the_webhook_gets_the_signed_json_body(app, deliverer, clock, receiver, ca_file):
    webhook(app, receiver, ca_file, secret=SECRET)
    [change] = found(app, clock, severity="warning")

    deliverer.tick()

    [(path, headers, body)] = receiver.received
    assert path == "/edge?site=1"
    assert headers["X-Edge-Signature"] == "sha256=" + hmac.new(
        SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Edge-Event"] == "raised"
    sent = json.loads(body)
    assert sent["event"] == "raised"
    assert sent["device"] == "edge-test"
    assert sent["link"] == f"http://edge-test:8443/alerts/{change.alert_id}"
    assert sent["sent_at"].startswith("2030-")
    alert = sent["alert"]
    assert (alert["id"], alert["rule"], alert["subject"], alert["severity"], alert["state"]) == (
        change.alert_id, "volume_full", "data1", "warning", "active")
    assert alert["recommended_action"] == "Free space on data1 or add a disk."
    assert alert["values"] == {"volume": "data1", "percent": 97}
    assert alert["raised_at"] == "2030-03-17T17:46:40+00:00"


def test_a_webhook_without_a_secret_is_not_signed(app, deliverer, clock, receiver, ca_file):
    webhook(app, receiver, ca_file)
    found(app, clock)
    deliverer.tick()
    [(_path, headers, _body)] = receiver.received
    assert "X-Edge-Signature" not in headers


def test_a_failing_receiver_gets_the_retries_then_the_delivery_fails(app, deliverer, clock,
                                                                    receiver, ca_file):
    receiver.status = 500
    webhook(app, receiver, ca_file)
    found(app, clock)

    deliverer.tick()
    [row] = deliveries(app)
    assert (row["state"], row["attempts"]) == ("pending", 1)
    assert "HTTP 500" in row["reason"]
    assert deliverer.tick() == 0  # not before its backoff
    for backoff in delivery.BACKOFF:
        clock.advance(backoff)
        assert deliverer.tick() == 1

    [row] = deliveries(app)
    assert len(receiver.received) == delivery.ATTEMPTS == 5
    assert (row["state"], row["attempts"]) == ("failed", 5)
    assert "answered HTTP 500" in row["reason"]
    clock.advance(86400)
    assert deliverer.tick() == 0


def test_a_receiver_that_recovers_gets_it_on_the_retry(app, deliverer, clock, receiver,
                                                       ca_file):
    receiver.status = 503
    webhook(app, receiver, ca_file)
    found(app, clock)
    deliverer.tick()
    receiver.status = 200
    clock.advance(delivery.BACKOFF[0])
    deliverer.tick()
    [row] = deliveries(app)
    assert (row["state"], row["attempts"], row["reason"]) == ("sent", 2, None)


def test_a_certificate_not_from_the_channels_ca_fails_with_the_reason(app, deliverer, clock,
                                                                      receiver, tmp_path):
    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    webhook(app, receiver, str(other))
    found(app, clock)
    deliverer.tick()
    [row] = deliveries(app)
    assert receiver.received == []
    assert "TLS" in row["reason"] and "certificate" in row["reason"]


@pytest.mark.parametrize(("severity", "pri"), [
    ("critical", 16 * 8 + 2), ("warning", 16 * 8 + 4), ("informational", 16 * 8 + 6)])
def test_syslog_gets_an_rfc5424_line_with_the_severity(app, deliverer, clock, listener,
                                                       severity, pri):
    syslog(app, listener)
    found(app, clock, severity=severity)
    deliverer.tick()
    line = listener.recv(65535).decode()
    head, _bom, text = line.partition("\ufeff")
    version, stamp, host, app_name, _pid, msgid, structured = head.split(" ")[:7]
    assert version == f"<{pri}>1"
    assert stamp == "2030-03-17T17:46:40.000Z"
    assert (host, app_name, msgid, structured) == ("edge-test", "edge-webui", "raised", "-")
    assert "Data volume data1 is full on edge-test: The data volume data1 is 97% full." in text


def test_syslog_over_tcp_is_octet_counted(app, deliverer, clock):
    with socket.create_server(("127.0.0.1", 0)) as server:
        add_channel(app, "syslog", {"transport": "tcp", "host": "127.0.0.1",
                                    "port": server.getsockname()[1], "facility": "daemon"})
        found(app, clock)
        deliverer.tick()
        conn, _ = server.accept()
        with conn:
            framed = conn.recv(65535)
    length, _space, line = framed.partition(b" ")
    assert int(length) == len(line)
    assert line.startswith(b"<26>1 ")


def test_the_minimum_severity_and_disabled_channels_decide_who_hears(app, clock, listener):
    critical_only = syslog(app, listener, min_severity="critical", name="pager")
    syslog(app, listener, name="off", enabled=False)
    found(app, clock, severity="warning", volume="data1")
    found(app, clock, severity="critical", volume="data2")
    assert [(row["channel_id"], json.loads(row["payload"])["alert"]["subject"])
            for row in deliveries(app)] == [(critical_only.id, "data2")]


def test_an_acknowledged_alert_is_not_notified_again_until_it_clears(app, clock, listener):
    syslog(app, listener, name="ops")
    [change] = found(app, clock, severity="warning")
    with app.app_context():
        alerts.acknowledge(db.get_db(), change.alert_id, ADMIN, "on it")
    found(app, clock, severity="warning")
    clock.advance(60)
    found(app, clock, severity="warning")
    assert [row["event"] for row in deliveries(app)] == ["raised"]

    found(app, clock, severity="critical")  # worse: the admin hears of it again
    nothing_found(app, clock)
    found(app, clock, severity="warning")  # it came back: a new alert
    assert [row["event"] for row in deliveries(app)] == ["raised", "raised", "cleared", "raised"]
    cleared = json.loads(deliveries(app)[2]["payload"])
    assert cleared["alert"]["state"] == "cleared" and cleared["alert"]["cleared_at"]


def test_fully_disconnected_nothing_leaves_the_device(app, deliverer, clock, resolver, receiver,
                                                      ca_file, mail_server, listener):
    controller, mailbox = mail_server
    webhook(app, receiver, ca_file, secret=SECRET)
    syslog(app, listener)
    add_channel(app, "email", {"host": "127.0.0.1", "port": controller.port,
                               "security": "starttls", "username": None,
                               "sender": "edge@example.test", "recipients": ["o@example.test"],
                               "ca_file": ca_file})
    set_mode(app, "fully_disconnected")
    found(app, clock)

    deliverer.tick()

    assert receiver.received == [] and mailbox.messages == [] and nothing_waiting(listener)
    assert resolver.asked == []  # not even a name lookup
    rows = deliveries(app)
    assert {row["state"] for row in rows} == {"suppressed"}
    assert all("the device is fully disconnected" in row["reason"] for row in rows)


def test_the_local_journal_is_written_in_every_mode(app, deliverer, clock, tmp_path):
    journal = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    journal.bind(str(tmp_path / "log"))
    deliverer.local_journal = str(tmp_path / "log")
    add_channel(app, "syslog", {"transport": "local", "facility": "auth", "host": None,
                                "port": None})
    set_mode(app, "fully_disconnected")
    found(app, clock)
    deliverer.tick()
    assert journal.recv(65535).startswith(b"<34>1 ")
    journal.close()
    assert [row["state"] for row in deliveries(app)] == ["sent"]


def test_partially_disconnected_sends_only_to_local_networks(app, deliverer, clock, resolver,
                                                             receiver, ca_file):
    local = webhook(app, receiver, ca_file, name="local")
    public = webhook(app, receiver, ca_file, host=PUBLIC_NAME, name="public")
    set_mode(app, "partially_disconnected")
    found(app, clock)

    deliverer.tick()

    assert len(receiver.received) == 1
    states = {row["channel_id"]: (row["state"], row["reason"]) for row in deliveries(app)}
    assert states[local.id] == ("sent", None)
    assert states[public.id][0] == "suppressed"
    assert f"{PUBLIC_NAME} resolves to {PUBLIC_ADDRESS}" in states[public.id][1]
    assert "partially disconnected" in states[public.id][1]


def test_every_address_of_a_destination_must_be_local(app, deliverer, clock, resolver,
                                                      receiver, ca_file):
    resolver.names[LOCAL_NAME] = ["127.0.0.1", PUBLIC_ADDRESS]
    webhook(app, receiver, ca_file)
    set_mode(app, "partially_disconnected")
    found(app, clock)
    deliverer.tick()
    [row] = deliveries(app)
    assert receiver.received == []
    assert row["state"] == "suppressed" and PUBLIC_ADDRESS in row["reason"]


def test_back_to_fully_connected_each_channel_gets_one_digest(app, deliverer, clock,
                                                              receiver, ca_file):
    hook = webhook(app, receiver, ca_file, secret=SECRET)
    set_mode(app, "fully_disconnected")
    found(app, clock, volume="data1")
    found(app, clock, volume="data2")
    deliverer.tick()
    nothing_found(app, clock)
    deliverer.tick()
    assert receiver.received == []

    set_mode(app, "fully_connected")
    clock.advance(60)
    deliverer.tick()
    deliverer.tick()

    [(_path, headers, body)] = receiver.received
    digest = json.loads(body)
    assert headers["X-Edge-Event"] == "digest"
    assert digest["event"] == "digest" and digest["suppressed_total"] == 4
    assert [(entry["event"], entry["alert"]["subject"]) for entry in digest["suppressed"]] == [
        ("raised", "data1"), ("raised", "data2"), ("cleared", "data1"), ("cleared", "data2")]
    assert all("fully disconnected" in entry["reason"] for entry in digest["suppressed"])
    rows = deliveries(app)
    assert [row["event"] for row in rows if row["state"] == "sent"] == ["digest"]
    assert all(row["digested_at"] for row in rows if row["state"] == "suppressed")
    assert {row["channel_id"] for row in rows} == {hook.id}


def test_a_digest_held_back_again_lists_them_next_time(app, deliverer, clock, receiver,
                                                       ca_file):
    webhook(app, receiver, ca_file)
    set_mode(app, "fully_disconnected")
    found(app, clock)
    deliverer.tick()
    with app.app_context():
        assert delivery.queue_digests(db.get_db(), app.config, clock()) == 1
    deliverer.tick()  # still disconnected: the digest itself is held back
    assert receiver.received == []

    set_mode(app, "fully_connected")
    clock.advance(60)
    deliverer.tick()

    [(_path, _headers, body)] = receiver.received
    assert json.loads(body)["suppressed_total"] == 1


def test_a_digest_is_sent_when_the_mode_change_wakes_the_deliverer(app, deliverer):
    deliverer.wake.clear()
    with app.app_context():
        audit.record(db.get_db(), ADMIN, "connectivity_mode", "fully_connected")
    assert deliverer.wake.is_set()


def test_a_fault_in_a_sender_is_recorded_and_retried(app, deliverer, clock, listener,
                                                     monkeypatch):
    syslog(app, listener)

    def broken(*_args):
        raise KeyError("facility")

    monkeypatch.setitem(senders.SENDERS, "syslog", broken)
    found(app, clock)
    deliverer.tick()
    [row] = deliveries(app)
    assert (row["state"], row["attempts"]) == ("pending", 1)
    assert "Internal error (KeyError)" in row["reason"]


def test_an_unknown_host_is_retried_with_the_reason(app, deliverer, clock):
    add_channel(app, "syslog", {"transport": "udp", "host": "nowhere.example.test", "port": 514,
                                "facility": "daemon"})
    found(app, clock)
    deliverer.tick()
    [row] = deliveries(app)
    assert row["state"] == "pending"
    assert "nowhere.example.test cannot be resolved" in row["reason"]


def test_deleting_a_channel_removes_its_deliveries(app, deliverer, clock, listener):
    channel = syslog(app, listener)
    found(app, clock)
    with app.app_context():
        channels.delete(db.get_db(), ADMIN, channel)
    assert deliveries(app) == []
    assert deliverer.tick() == 0


def test_a_channel_disabled_after_queueing_sends_nothing(app, deliverer, clock, listener):
    channel = syslog(app, listener)
    found(app, clock)
    with app.app_context():
        channels.set_enabled(db.get_db(), ADMIN, channel, False)
    deliverer.tick()
    assert nothing_waiting(listener)
    [row] = deliveries(app)
    assert (row["state"], row["reason"]) == ("suppressed", delivery.DISABLED)


class _Stop(Exception):
    pass


def test_the_delivery_thread_survives_a_bad_pass(app, monkeypatch, caplog):
    found_deliverer = delivery.deliverer(app)
    passes, waits = [], []

    def tick():
        passes.append(len(passes))
        if len(passes) == 1:
            raise OSError(28, "No space left on device")

    def wait(seconds):
        waits.append(seconds)
        if len(waits) == 2:
            raise _Stop

    monkeypatch.setattr(found_deliverer, "tick", tick)
    found_deliverer.wait = wait
    with pytest.raises(_Stop):
        found_deliverer._loop()
    assert passes == [0, 1] and waits == [delivery.CHECK_EVERY] * 2
    assert "delivery pass failed" in caplog.text



# Through the web proxy


@pytest.fixture
def proxy(receiver):
    peer = ConnectProxy(routes={f"{PUBLIC_NAME}:{receiver.port}": ("127.0.0.1", receiver.port)},
                        credentials=("edge", PROXY_PASSWORD))
    yield peer
    peer.stop()


def use_proxy(app, proxy, password=None, no_proxy=()):
    app.config.update(PROXY_URL=proxy.url, PROXY_USER="edge",
                      PROXY_PASSWORD=PROXY_PASSWORD if password is None else password,
                      NO_PROXY=list(no_proxy))


def test_a_webhook_goes_through_the_web_proxy_which_resolves_the_host(
        app, deliverer, clock, receiver, ca_file, proxy, resolver):
    use_proxy(app, proxy)
    webhook(app, receiver, ca_file, host=PUBLIC_NAME)
    found(app, clock)
    deliverer.tick()
    [(path, _headers, body)] = receiver.received
    assert path == "/edge?site=1" and json.loads(body)["event"] == "raised"
    assert proxy.targets == [f"{PUBLIC_NAME}:{receiver.port}"]
    assert PUBLIC_NAME not in resolver.asked  # the device needed no DNS of its own
    assert deliveries(app)[0]["state"] == "sent"


def test_the_no_proxy_list_sends_a_webhook_directly(app, deliverer, clock, receiver, ca_file,
                                                    proxy):
    use_proxy(app, proxy, no_proxy=[".test"])
    webhook(app, receiver, ca_file)  # LOCAL_NAME ends in .test
    found(app, clock)
    deliverer.tick()
    assert len(receiver.received) == 1
    assert proxy.tunnels == []


def test_partially_disconnected_webhooks_never_use_the_proxy(app, deliverer, clock, receiver,
                                                             ca_file, proxy):
    use_proxy(app, proxy)
    set_mode(app, "partially_disconnected")
    local = webhook(app, receiver, ca_file, name="local")
    found(app, clock)
    deliverer.tick()
    assert [row["state"] for row in deliveries(app) if row["channel_id"] == local.id] == ["sent"]
    assert proxy.tunnels == []


def test_a_proxy_refusing_the_credentials_is_a_failed_attempt_naming_it(
        app, deliverer, clock, receiver, ca_file, proxy):
    use_proxy(app, proxy, password="wrong")
    webhook(app, receiver, ca_file, host=PUBLIC_NAME)
    found(app, clock)
    deliverer.tick()
    [row] = deliveries(app)
    assert row["state"] == "pending" and row["attempts"] == 1
    assert f"through the web proxy 127.0.0.1:{proxy.url.rsplit(':', 1)[1]}" in row["reason"]
    assert "407" in row["reason"]
    assert receiver.received == []
