"""The ``edge-webui`` console command, run as a real process with WEBUI_* settings."""

import datetime as dt
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509

EDGE_WEBUI = str(Path(sys.executable).with_name("edge-webui"))


def run(instance, *args, input=None, extra_env=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEBUI_")}
    env.update({"WEBUI_INSTANCE": str(instance), "WEBUI_DEVICE_NAME": "edge-cli",
                **(extra_env or {})})
    return subprocess.run([EDGE_WEBUI, *args], env=env, input=input, capture_output=True,
                          text=True, timeout=120)


@pytest.fixture(scope="module")
def instance(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "instance"
    result = run(path, "init")
    assert result.returncode == 0, result.stderr
    return path


def test_init_creates_instance_certificate_and_setup_password(instance):
    password_file = instance / "initial-password"
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
    assert stat.S_IMODE((instance / "secret-key").stat().st_mode) == 0o600
    assert stat.S_IMODE((instance / "tls" / "key.pem").stat().st_mode) == 0o600
    cert = x509.load_pem_x509_certificate((instance / "tls" / "cert.pem").read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {"edge-cli", "localhost"} <= set(san.get_values_for_type(x509.DNSName))
    assert "127.0.0.1" in {str(ip) for ip in san.get_values_for_type(x509.IPAddress)}
    # Running init again keeps the same one-time password and says it again.
    password = password_file.read_text().strip()
    again = run(instance, "init")
    assert password in again.stdout


def test_set_password_from_stdin_and_policy(instance):
    weak = run(instance, "set-password", "--user", "admin", input="password123\n")
    assert weak.returncode == 1 and "not accepted" in weak.stderr
    done = run(instance, "set-password", "--user", "admin",
               input="sturdy pelican orchard 55 drum\n")
    assert done.returncode == 0, done.stderr
    assert not (instance / "initial-password").exists()
    unknown = run(instance, "set-password", "--user", "nobody", input="whatever\n")
    assert unknown.returncode == 1 and "no user named nobody" in unknown.stderr


def test_token_create_prints_the_token_once(instance):
    result = run(instance, "token", "create", "--name", "prometheus", "--role", "viewer")
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    assert token.startswith("ewu_") and len(token) > 30
    db_bytes = (instance / "webui.db").read_bytes()
    assert token.encode() not in db_bytes


def test_a_token_made_at_the_console_is_made_and_audited_by_the_console(instance):
    assert run(instance, "token", "create", "--name", "backup").returncode == 0
    with sqlite3.connect(instance / "webui.db") as conn:
        made_by = conn.execute("SELECT created_by FROM api_tokens WHERE name = 'backup'"
                               ).fetchone()
        entry = conn.execute("SELECT actor, action, target, detail FROM audit "
                             "ORDER BY id DESC LIMIT 1").fetchone()
    conn.close()
    assert made_by == ("console",)
    assert entry[:3] == ("console", "token_create", "backup")
    assert '"role": "viewer"' in entry[3]


@pytest.mark.parametrize("command", [["init"], ["serve"], ["set-password"],
                                     ["token", "create"], ["diagnose"], ["support-package"]])
def test_every_command_has_help(tmp_path, command):
    result = run(tmp_path / "x", *command, "--help")
    assert result.returncode == 0 and "usage:" in result.stdout


@pytest.mark.parametrize(("variable", "value", "named"), [
    ("WEBUI_BIND", "not-an-address", "WEBUI_BIND"),
    ("WEBUI_BIND", "127.0.0.1:99999", "WEBUI_BIND"),
    ("WEBUI_POWER_BACKEND", "reboot-now", "WEBUI_POWER_BACKEND"),
    ("WEBUI_SESSION_IDLE_MINUTES", "0", "WEBUI_SESSION_IDLE_MINUTES"),
    ("WEBUI_NO_SUCH_THING", "1", "WEBUI_NO_SUCH_THING"),
])
def test_invalid_setting_stops_with_one_line(tmp_path, variable, value, named):
    result = run(tmp_path / "x", "init", extra_env={variable: value})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and named in lines[0]


def test_config_file_is_read_and_validated(tmp_path):
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "config.toml").write_text('session_idle_minutes = "abc"\n')
    result = run(instance, "init")
    assert result.returncode == 2 and "SESSION_IDLE_MINUTES" in result.stderr
    (instance / "config.toml").write_text('unknown_key = 1\n')
    result = run(instance, "init")
    assert result.returncode == 2 and "unknown_key" in result.stderr


def test_serve_without_certificate_says_what_to_do(tmp_path):
    result = run(tmp_path / "empty", "serve")
    assert result.returncode == 2 and "edge-webui init" in result.stderr


def test_diagnose_json_and_exit_code(instance):
    import json

    result = run(instance, "diagnose", "--json", "--test", "cpus", "memory",
                 extra_env={"WEBUI_TLS": "false"})
    body = json.loads(result.stdout)
    assert [r["id"] for r in body["results"]] == ["cpus", "memory"]
    worst = max({"healthy": 0, "not_applicable": 0, "warning": 1, "unhealthy": 2,
                 "could_not_run": 2}[r["status"]] for r in body["results"])
    assert result.returncode == worst


def test_support_package_from_the_console(instance, tmp_path):
    import zipfile

    result = run(instance, "support-package", "--out", str(tmp_path), "--collector", "system")
    assert result.returncode == 0, result.stderr
    package = Path(result.stdout.strip().splitlines()[-1])
    assert package.name.startswith("supportpackage-edge-cli-") and package.suffix == ".zip"
    with zipfile.ZipFile(package) as archive:
        assert "manifest.json" in archive.namelist()


def test_database_is_private(instance):
    assert stat.S_IMODE((instance / "webui.db").stat().st_mode) == 0o600


def certificate(instance) -> x509.Certificate:
    return x509.load_pem_x509_certificate((instance / "tls" / "cert.pem").read_bytes())


def write_certificate(instance, days_left: float, organization: str = "edge-webui") -> None:
    """Replace the instance's certificate by a self-signed one that expires in ``days_left``."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "edge-cli"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization)])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=400))
            .not_valid_after(now + dt.timedelta(days=days_left)).sign(key, hashes.SHA256()))
    (instance / "tls" / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (instance / "tls" / "key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))


def test_certificate_is_what_browsers_accept(instance):
    cert = certificate(instance)
    assert cert.not_valid_after_utc - cert.not_valid_before_utc <= dt.timedelta(days=397)
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature
    assert not (usage.value.key_cert_sign or usage.value.crl_sign or usage.value.key_encipherment)
    extended = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(extended) == [x509.ExtendedKeyUsageOID.SERVER_AUTH]
    subject_key = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert subject_key == x509.SubjectKeyIdentifier.from_public_key(cert.public_key())
    authority_key = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    assert authority_key.key_identifier == subject_key.digest


@pytest.mark.parametrize("days_left", [29, -3])
def test_init_renews_a_certificate_that_expires_soon_or_has_expired(tmp_path, days_left):
    instance = tmp_path / "instance"
    assert run(instance, "init").returncode == 0
    write_certificate(instance, days_left)
    result = run(instance, "init")
    assert result.returncode == 0, result.stderr
    assert "Renewed the self-signed TLS certificate" in result.stdout
    left = certificate(instance).not_valid_after_utc - dt.datetime.now(dt.UTC)
    assert left > dt.timedelta(days=390)


def test_init_leaves_a_good_certificate_alone(tmp_path):
    instance = tmp_path / "instance"
    assert run(instance, "init").returncode == 0
    write_certificate(instance, 31)
    before = (instance / "tls" / "cert.pem").read_bytes()
    result = run(instance, "init")
    assert result.returncode == 0 and "self-signed TLS certificate" not in result.stdout
    assert (instance / "tls" / "cert.pem").read_bytes() == before


def test_init_never_replaces_an_admins_own_certificate(tmp_path):
    instance = tmp_path / "instance"
    assert run(instance, "init").returncode == 0
    write_certificate(instance, 10, organization="Branch Office IT")
    before = (instance / "tls" / "cert.pem").read_bytes()
    result = run(instance, "init")
    assert result.returncode == 0
    assert "not made by edge-webui" in result.stderr
    assert (instance / "tls" / "cert.pem").read_bytes() == before


def test_set_password_lets_the_locked_out_laptop_sign_in_again(instance):
    from webui import db
    from webui.auth import lockout

    conn = db.connect(instance / "webui.db")
    try:
        for key in lockout.keys("admin", "10.0.0.8"):
            conn.execute("INSERT INTO sign_in_failures VALUES (?, 6, ?, ?)",
                         (key, db.now(), db.now() + 900))
        assert lockout.locked_until(conn, lockout.keys("admin", "10.0.0.8"))
        done = run(instance, "set-password", "--user", "admin",
                   input="sturdy pelican orchard 55 drum\n")
        assert done.returncode == 0, done.stderr
        # Neither the account nor the address the admin's laptop tried from is held back now.
        assert not lockout.locked_until(conn, lockout.keys("admin", "10.0.0.8"))
    finally:
        conn.close()
