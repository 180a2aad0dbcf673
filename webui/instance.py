"""The instance directory: secret key, TLS certificate, database and the first account."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import secrets
from pathlib import Path

# Browsers refuse server certificates valid for longer than 398 days.
CERTIFICATE_DAYS = 397
RENEW_WITHIN_DAYS = 30
CERTIFICATE_ORG = "edge-webui"

# File names in the instance directory, not secrets themselves.
INITIAL_PASSWORD = "initial-password"  # noqa: S105
SECRET_KEY = "secret-key"  # noqa: S105


def write_private(path: Path, data: bytes) -> None:
    """Write a file only its owner can read, replacing any previous one atomically."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def ensure_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def check_writable(path: Path) -> None:
    """Make the instance directory, or stop with one line saying why it cannot be written."""
    from webui.config import ConfigError

    try:
        ensure_dir(path)
        probe = path / f".write-check-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(f"WEBUI_INSTANCE: {path} cannot be written "
                          f"({exc.strerror or exc}); the web UI keeps its data there") from None


def secret_key(instance: Path) -> bytes:
    """The app's signing key, made on first use and kept in the instance (0600)."""
    path = instance / SECRET_KEY
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        key = secrets.token_hex(32).encode()
        ensure_dir(instance)
        write_private(path, key)
        return key


def make_certificate(cert_path: Path, key_path: Path, device_name: str) -> None:
    """Write a new self-signed certificate for the device name and its key (both 0600)."""
    cert_pem, key_pem = self_signed_certificate(device_name)
    ensure_dir(cert_path.parent)
    ensure_dir(key_path.parent)
    write_private(key_path, key_pem)
    write_private(cert_path, cert_pem)


def self_signed_certificate(device_name: str) -> tuple[bytes, bytes]:
    """A self-signed certificate for the device name, localhost and loopback (397 days), and
    its key, both PEM."""
    # Imported here: the running service never needs them, and they cost memory.
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, device_name),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, CERTIFICATE_ORG)])
    # Backdated a little for clocks that lag; the lifetime counts from that start.
    start = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    names = {device_name, "localhost"}
    san = x509.SubjectAlternativeName(
        [x509.DNSName(n) for n in sorted(names)]
        + [x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
           x509.IPAddress(ipaddress.ip_address("::1"))])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + dt.timedelta(days=CERTIFICATE_DAYS))
            .add_extension(san, critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_signature_only(), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()),
                           critical=False)
            .sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()))


def _signature_only():
    from cryptography import x509

    # An ECDSA key only signs the TLS handshake: no encipherment, no certificate signing.
    return x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                         crl_sign=False, encipher_only=False, decipher_only=False)


def certificate_state(cert_path: Path) -> tuple[str, dt.datetime | None]:
    """Whether ``edge-webui init`` should make the certificate anew, and when it expires.

    Answers ``missing``, ``unreadable``, ``good``, ``expiring`` (ours, within 30 days of
    expiry or past it) or ``foreign`` (expiring, but not made here: an admin's own certificate
    is never replaced).
    """
    from diagnostics import tls

    try:
        cert = tls.read_pem(cert_path.read_bytes())[0]
    except FileNotFoundError:
        return "missing", None
    except (OSError, ValueError):
        return "unreadable", None
    expires = cert.not_after
    if expires - dt.datetime.now(dt.UTC) > dt.timedelta(days=RENEW_WITHIN_DAYS):
        return "good", expires
    ours = cert.self_signed and cert.organizations == (CERTIFICATE_ORG,)
    return ("expiring" if ours else "foreign"), expires


def setup_password() -> str:
    """A one-time password that passes the policy: four groups of random letters and digits."""
    alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(5)) for _ in range(4))
