"""The web UI certificate: the reader, the upload rules, installing with a fall-back, the
Certificates page and the ``edge-webui cert`` console commands."""

from __future__ import annotations

import datetime as dt
import io
import ipaddress
import json
import stat
from pathlib import Path

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from diagnostics import tls
from webui import cli, db, instance
from webui.certificates import service

NOW = dt.datetime.now(dt.UTC)
DAY = dt.timedelta(days=1)


def make_pair(names=("edge-test",), key=None, not_before=None, not_after=None,
              addresses=()) -> tuple[bytes, bytes]:
    """A self-signed certificate (PEM) and its key (PEM), made here with ``cryptography``."""
    key = key or ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0] if names else "x")])
    san = [x509.DNSName(n) for n in names] + [x509.IPAddress(ipaddress.ip_address(a))
                                              for a in addresses]
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(not_before or NOW - DAY)
               .not_valid_after(not_after or NOW + 90 * DAY))
    if san:
        builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
    cert = builder.sign(key, hashes.SHA256())
    return cert.public_bytes(serialization.Encoding.PEM), key_pem(key)


def key_pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def ca_chain(name="edge-test", with_root=False):
    """A certificate issued by an intermediate CA: (leaf PEM, intermediate PEM, key PEM), and
    the root CA's PEM last when asked."""
    root = trustme.CA()
    intermediate = root.create_child_ca()
    leaf = intermediate.issue_cert(name)
    leaf_pem, intermediate_pem = (p.bytes() for p in leaf.cert_chain_pems)
    made = leaf_pem, intermediate_pem, leaf.private_key_pem.bytes()
    return (*made, root.cert_pem.bytes()) if with_root else made


def config(tmp_path, device="edge-test", bind=("127.0.0.1", 8443)):
    return {"TLS_CERT": str(tmp_path / "tls" / "cert.pem"),
            "TLS_KEY": str(tmp_path / "tls" / "key.pem"), "DEVICE_NAME": device, "BIND": bind}


# -- the reader -------------------------------------------------------------------------------

def test_reader_describes_an_rsa_certificate_with_dns_and_ip_names():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem, _ = make_pair(("edge01.branch.example", "edge01"), key=key, addresses=("192.0.2.7",))
    cert = tls.read_pem(pem)[0]
    assert cert.dns_names == ("edge01.branch.example", "edge01")
    assert cert.ip_addresses == ("192.0.2.7",)
    assert cert.key == "RSA 2048 bits" and cert.self_signed
    assert cert.subject == cert.issuer == "CN=edge01.branch.example"
    expected = x509.load_pem_x509_certificate(pem).fingerprint(hashes.SHA256()).hex(":").upper()
    assert cert.sha256_fingerprint == expected
    assert cert.days_left() in (88, 89)


@pytest.mark.parametrize(("curve", "shown"), [(ec.SECP256R1(), "ECDSA P-256"),
                                              (ec.SECP384R1(), "ECDSA P-384")])
def test_reader_names_the_curve(curve, shown):
    pem, _ = make_pair(key=ec.generate_private_key(curve))
    assert tls.read_pem(pem)[0].key == shown


@pytest.mark.parametrize(("names", "addresses", "wanted", "covered"), [
    (["edge01.branch.example"], [], "edge01", True),
    (["*.branch.example"], [], "edge01.branch.example", True),
    (["*.example"], [], "edge01.branch.example", False),
    (["EDGE01.branch.example"], [], "edge01", True),
    (["other"], ["192.0.2.7"], "192.0.2.7", True),
    (["other"], ["192.0.2.7"], "192.0.2.8", False),
    (["other"], [], "edge01", False),
])
def test_covers_names_wildcards_and_addresses(names, addresses, wanted, covered):
    pem, _ = make_pair(tuple(names), addresses=tuple(addresses))
    assert tls.read_pem(pem)[0].covers(wanted) is covered


def test_reader_tells_who_signed_whom_in_a_chain():
    leaf_pem, intermediate_pem, _ = ca_chain()
    leaf, intermediate = tls.read_pem(leaf_pem + intermediate_pem)
    assert leaf.issued_by(intermediate) and not intermediate.issued_by(leaf)
    assert not leaf.self_signed


def test_reader_refuses_text_without_a_certificate():
    with pytest.raises(ValueError, match="no PEM certificate"):
        tls.read_pem(b"hello")


def test_instance_certificate_state_keeps_its_meaning(tmp_path):
    cert = tmp_path / "cert.pem"
    assert instance.certificate_state(cert) == ("missing", None)
    cert.write_bytes(b"garbage")
    assert instance.certificate_state(cert) == ("unreadable", None)
    instance.make_certificate(cert, tmp_path / "key.pem", "edge-test")
    assert instance.certificate_state(cert)[0] == "good"
    # Ours, but due: renewed by init; someone else's: never replaced.
    pem, _ = make_pair(not_after=NOW + 10 * DAY)
    cert.write_bytes(pem)
    assert instance.certificate_state(cert)[0] == "foreign"


def test_a_made_certificate_and_its_key_are_private(tmp_path):
    instance.make_certificate(tmp_path / "cert.pem", tmp_path / "key.pem", "edge-test")
    for name in ("cert.pem", "key.pem"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600


# -- the upload rules -------------------------------------------------------------------------

def refused(tmp_path, files, password=None, **kwargs) -> str:
    with pytest.raises(service.CertificateRefused) as exc:
        if password is None:
            chain, key = service.read_pem_upload(files)
        else:
            chain, key = service.read_pkcs12_upload(files[0], password)
        service.check(chain, key, "edge-test", ["127.0.0.1"], **kwargs)
    return str(exc.value)


def test_a_key_of_another_certificate_is_refused(tmp_path):
    cert, _ = make_pair()
    _, other_key = make_pair()
    assert "does not match" in refused(tmp_path, [cert, other_key])


def test_an_expired_certificate_is_refused(tmp_path):
    cert, key = make_pair(not_before=NOW - 30 * DAY, not_after=NOW - DAY)
    assert "expired on" in refused(tmp_path, [cert + key])


def test_a_certificate_not_yet_valid_is_refused(tmp_path):
    cert, key = make_pair(not_before=NOW + DAY, not_after=NOW + 30 * DAY)
    assert "not yet valid" in refused(tmp_path, [cert + key])


def test_a_chain_out_of_order_is_refused(tmp_path):
    leaf, intermediate, key, root = ca_chain(with_root=True)
    message = refused(tmp_path, [leaf + root + intermediate + key])
    assert "chain is out of order: certificate 1" in message and "signed by the next" in message
    chain, private = service.read_pem_upload([leaf + intermediate + root, key])
    assert service.check(chain, private, "edge-test", []).chain == chain


@pytest.mark.parametrize("key", [
    pytest.param(lambda: rsa.generate_private_key(public_exponent=65537, key_size=1024),  # noqa: S505
                 id="rsa-1024"),
    pytest.param(lambda: ec.generate_private_key(ec.SECP521R1()), id="ec-p521"),
    pytest.param(lambda: ec.generate_private_key(ec.SECP256K1()), id="ec-secp256k1"),
])
def test_a_weak_or_unusual_key_is_refused(tmp_path, key):
    cert, key_data = make_pair(key=key())
    assert "use RSA of at least 2048 bits or ECDSA P-256 or P-384" in refused(
        tmp_path, [cert, key_data])


def test_a_file_without_a_key_or_certificate_is_refused(tmp_path):
    cert, key = make_pair()
    assert "No private key" in refused(tmp_path, [cert])
    assert "No PEM certificate" in refused(tmp_path, [key])


def test_a_key_with_a_passphrase_is_refused_with_the_way_out(tmp_path):
    private = ec.generate_private_key(ec.SECP256R1())
    cert, _ = make_pair(key=private)
    locked = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                   serialization.BestAvailableEncryption(b"secret"))
    assert "passphrase" in refused(tmp_path, [cert, locked])


def pfx(cert_pem: bytes, key_data: bytes, password: bytes, extra: list[bytes] = ()) -> bytes:
    key = serialization.load_pem_private_key(key_data, None)
    cas = [x509.load_pem_x509_certificate(p) for p in extra] or None
    return pkcs12.serialize_key_and_certificates(
        b"edge", key, x509.load_pem_x509_certificate(cert_pem), cas,
        serialization.BestAvailableEncryption(password))


def test_a_pkcs12_with_a_wrong_password_is_refused(tmp_path):
    cert, key = make_pair()
    assert "check the password" in refused(tmp_path, [pfx(cert, key, b"right")], "wrong")


def test_a_name_that_fits_neither_device_nor_address_is_installed_with_a_warning(tmp_path):
    cert, key = make_pair(("elsewhere.example",))
    chain, private = service.read_pem_upload([cert, key])
    candidate = service.check(chain, private, "edge-test", ["127.0.0.1"])
    assert "covers neither the device name edge-test nor an address" in candidate.warnings[0]
    cert, key = make_pair(("elsewhere.example",), addresses=("127.0.0.1",))
    assert service.check(*service.read_pem_upload([cert, key]), "edge-test",
                         ["127.0.0.1"]).warnings == []


def test_listening_on_a_wildcard_counts_every_address_of_the_host():
    assert "127.0.0.1" in service.listening_addresses("0.0.0.0")  # noqa: S104
    assert service.listening_addresses("192.0.2.1") == ["192.0.2.1"]


# -- installing -------------------------------------------------------------------------------

def test_install_writes_a_private_pair_and_keeps_the_previous_one(tmp_path):
    cert_path, key_path = tmp_path / "tls" / "cert.pem", tmp_path / "tls" / "key.pem"
    instance.make_certificate(cert_path, key_path, "edge-test")
    old_cert = cert_path.read_bytes()
    new_cert, new_key = make_pair()
    service.install(cert_path, key_path, new_cert, new_key)
    assert cert_path.read_bytes() == new_cert and key_path.read_bytes() == new_key
    assert (tmp_path / "tls" / "cert.pem.previous").read_bytes() == old_cert
    for path in (cert_path, key_path, tmp_path / "tls" / "key.pem.previous"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_pair_the_tls_server_cannot_load_is_rolled_back(tmp_path):
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    instance.make_certificate(cert_path, key_path, "edge-test")
    before = cert_path.read_bytes(), key_path.read_bytes()
    cert, _ = make_pair()
    _, other_key = make_pair()
    with pytest.raises(service.InstallFailed, match="previous one is back in service"):
        service.install(cert_path, key_path, cert, other_key)
    assert (cert_path.read_bytes(), key_path.read_bytes()) == before


# -- the page ---------------------------------------------------------------------------------

@pytest.fixture
def served(app):
    """The app's certificate files, made as ``init`` makes them."""
    cert = Path(app.config["TLS_CERT"])
    instance.make_certificate(cert, Path(app.config["TLS_KEY"]), "edge-test")
    return cert


def audit_rows(app, action):
    with app.app_context():
        return [dict(r) for r in db.get_db().execute(
            "SELECT * FROM audit WHERE action = ? ORDER BY id", (action,))]


def test_viewer_reads_the_page_and_downloads_but_cannot_change_it(app, client, auth, served):
    before = served.read_bytes()
    auth.sign_in_viewer()
    page = client.get("/certificates/")
    html = page.get_data(as_text=True)
    fingerprint = tls.read_pem(served.read_bytes())[0].sha256_fingerprint
    assert page.status_code == 200 and fingerprint in html and "Valid" in html
    assert "ECDSA P-256" in html and "Upload a certificate" not in html
    assert client.get("/certificates/generate/confirm").status_code == 403
    assert auth.post("/certificates/generate").status_code == 403
    assert auth.post("/certificates/upload").status_code == 403
    assert served.read_bytes() == before


def test_downloads_carry_the_certificate_as_pem_and_der(client, auth, served):
    auth.sign_in_viewer()
    pem = client.get("/certificates/certificate.pem")
    der = client.get("/certificates/certificate.der")
    assert pem.mimetype == "application/x-pem-file" and pem.data == served.read_bytes()
    assert der.mimetype == "application/pkix-cert"
    assert der.data == x509.load_pem_x509_certificate(served.read_bytes()).public_bytes(
        serialization.Encoding.DER)
    assert 'filename="edge-test.crt"' in pem.headers["Content-Disposition"]


def test_a_missing_certificate_is_said_not_a_500(client, auth):
    auth.sign_in()
    page = client.get("/certificates/")
    assert page.status_code == 200 and "no certificate file yet" in page.get_data(as_text=True)
    assert client.get("/certificates/certificate.der").status_code == 404


def test_a_certificate_without_the_device_name_is_flagged(app, client, auth):
    cert, key = make_pair(("other-name",))
    Path(app.config["TLS_CERT"]).parent.mkdir(parents=True)
    Path(app.config["TLS_CERT"]).write_bytes(cert)
    auth.sign_in()
    html = client.get("/certificates/").get_data(as_text=True)
    assert "Does not cover the device name" in html and "not for the device name" in html


def test_admin_generates_after_confirming(app, client, auth, served):
    before = tls.read_pem(served.read_bytes())[0].sha256_fingerprint
    auth.sign_in()
    confirm = client.get("/certificates/generate/confirm")
    assert confirm.status_code == 200 and "Generate certificate" in confirm.get_data(as_text=True)
    done = auth.post("/certificates/generate", follow_redirects=True)
    after = tls.read_pem(served.read_bytes())[0]
    assert after.sha256_fingerprint != before and after.covers("edge-test")
    assert after.sha256_fingerprint in done.get_data(as_text=True)
    (row,) = audit_rows(app, "certificate_generate")
    assert row["actor"] == "admin" and after.sha256_fingerprint in row["detail"]
    assert "PRIVATE KEY" not in row["detail"]


def test_actions_need_the_csrf_token(client, auth, served):
    before = served.read_bytes()
    auth.sign_in()
    assert client.post("/certificates/generate").status_code == 400
    assert client.post("/certificates/upload", data={"format": "pem"}).status_code == 400
    assert served.read_bytes() == before


def upload(auth, certificate: bytes, key: bytes | None = None, **fields):
    data = {"format": "pem", "certificate": (io.BytesIO(certificate), "cert.pem"), **fields}
    if key is not None:
        data["key"] = (io.BytesIO(key), "key.pem")
    return auth.post("/certificates/upload", data, content_type="multipart/form-data",
                     follow_redirects=True)


def test_admin_uploads_a_pem_chain_and_key_in_two_files(app, client, auth, served):
    leaf, intermediate, key = ca_chain()
    auth.sign_in()
    answer = upload(auth, leaf + intermediate, key)
    assert answer.status_code == 200
    assert served.read_bytes() == leaf + intermediate
    assert service.load_problem(served, Path(app.config["TLS_KEY"])) is None
    (row,) = audit_rows(app, "certificate_upload")
    assert row["outcome"] == "success" and "PRIVATE KEY" not in row["detail"]


def test_admin_uploads_one_pem_file_and_is_warned_about_the_names(app, client, auth, served):
    cert, key = make_pair(("elsewhere.example",))
    auth.sign_in()
    html = upload(auth, cert + key).get_data(as_text=True)
    assert "Installed, but" in html and "covers neither the device name" in html
    assert served.read_bytes() == cert


def test_admin_uploads_pkcs12_with_its_password(app, client, auth, served):
    leaf, intermediate, key = ca_chain()
    data = {"format": "pkcs12", "password": "pfx-password-1",
            "certificate": (io.BytesIO(pfx(leaf, key, b"pfx-password-1", [intermediate])),
                            "edge.pfx")}
    auth.sign_in()
    answer = auth.post("/certificates/upload", data, content_type="multipart/form-data")
    assert answer.status_code == 303
    assert tls.read_pem(served.read_bytes())[0].sha256_fingerprint == \
        tls.read_pem(leaf)[0].sha256_fingerprint
    assert [c.subject for c in tls.read_pem(served.read_bytes())][1:] == \
        [tls.read_pem(intermediate)[0].subject]
    (row,) = audit_rows(app, "certificate_upload")
    assert "pfx-password-1" not in json.dumps(row)


def test_a_refused_upload_names_the_rule_changes_nothing_and_is_audited(app, client, auth,
                                                                         served):
    before = served.read_bytes()
    cert, key = make_pair(not_before=NOW - 30 * DAY, not_after=NOW - DAY)
    auth.sign_in()
    answer = upload(auth, cert, key)
    assert answer.status_code == 422
    assert "Not installed: The certificate expired on" in answer.get_data(as_text=True)
    assert served.read_bytes() == before
    (row,) = audit_rows(app, "certificate_upload")
    assert row["outcome"] == "refused" and "expired" in row["detail"]


def test_an_upload_too_large_or_missing_is_a_form_error(client, auth, served):
    auth.sign_in()
    too_big = upload(auth, b"x" * (service.MAX_FILE_BYTES + 1))
    assert too_big.status_code == 422 and "at most 64 KiB" in too_big.get_data(as_text=True)
    missing = auth.post("/certificates/upload", {"format": "pem"},
                        content_type="multipart/form-data")
    assert missing.status_code == 422
    assert "Choose the certificate file" in missing.get_data(as_text=True)


def test_the_page_is_in_the_security_navigation(client, auth):
    auth.sign_in_viewer()
    html = client.get("/").get_data(as_text=True)
    assert 'href="/certificates/"' in html


# -- the console ------------------------------------------------------------------------------

@pytest.fixture
def console(tmp_path, monkeypatch):
    monkeypatch.setenv("WEBUI_INSTANCE", str(tmp_path / "instance"))
    monkeypatch.setenv("WEBUI_DEVICE_NAME", "edge-cli")
    return tmp_path / "instance"


def test_cert_generate_and_show(console, capsys):
    assert cli.main(["cert", "generate"]) == 0
    cert = tls.read_pem((console / "tls" / "cert.pem").read_bytes())[0]
    assert cert.sha256_fingerprint in capsys.readouterr().out
    assert cli.main(["cert", "show"]) == 0
    shown = capsys.readouterr().out
    assert cert.sha256_fingerprint in shown and "edge-cli" in shown and "ECDSA P-256" in shown


def test_cert_import_pem_with_key(console, tmp_path, capsys):
    cert, key = make_pair(("edge-cli",))
    (tmp_path / "c.pem").write_bytes(cert)
    (tmp_path / "k.pem").write_bytes(key)
    assert cli.main(["cert", "import", str(tmp_path / "c.pem"), "--key",
                     str(tmp_path / "k.pem")]) == 0
    assert (console / "tls" / "cert.pem").read_bytes() == cert


def test_cert_import_pkcs12_reads_the_password_from_stdin(console, tmp_path, monkeypatch):
    cert, key = make_pair(("edge-cli",))
    (tmp_path / "edge.pfx").write_bytes(pfx(cert, key, b"from-stdin"))
    monkeypatch.setattr("sys.stdin", io.StringIO("from-stdin\n"))
    assert cli.main(["cert", "import", str(tmp_path / "edge.pfx"), "--password-stdin"]) == 0
    assert (console / "tls" / "cert.pem").read_bytes() == cert


def test_cert_import_refused_says_the_rule(console, tmp_path, capsys):
    cert, _ = make_pair(("edge-cli",))
    _, other = make_pair()
    (tmp_path / "c.pem").write_bytes(cert + other)
    assert cli.main(["cert", "import", str(tmp_path / "c.pem")]) == 1
    assert "does not match" in capsys.readouterr().err
    assert not (console / "tls" / "cert.pem").exists()


def test_init_prints_the_fingerprint(console, capsys):
    assert cli.main(["init"]) == 0
    cert = tls.read_pem((console / "tls" / "cert.pem").read_bytes())[0]
    assert f"SHA-256 fingerprint: {cert.sha256_fingerprint}" in capsys.readouterr().out
