"""The web UI's TLS certificate: the one in use, a new self-signed one, or an upload checked
before it is installed. Plain Python: the page and the console both go through here.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
import socket
import sqlite3
import ssl
from dataclasses import dataclass, field
from pathlib import Path

from diagnostics import tls
from webui import audit, instance

# cryptography is imported by the functions that need it, so an idle service does not hold it.

# A certificate with its chain and key is a few KiB; anything much bigger is not one.
MAX_FILE_BYTES = 64 * 1024
RSA_MIN_BITS = 2048
EC_CURVES = ("P-256", "P-384")
BACKUP_SUFFIX = ".previous"
KEY_BLOCK = re.compile(rb"-----BEGIN ([A-Z ]*PRIVATE KEY)-----.+?-----END \1-----", re.S)


class CertificateRefused(ValueError):
    """An upload that breaks a rule; the message names the rule."""


class InstallFailed(RuntimeError):
    """The new pair could not be loaded; the previous one is back in service."""


@dataclass(frozen=True)
class InUse:
    """The certificate the web UI serves, as its page shows it."""

    path: str
    certificate: tls.Certificate | None
    chain: list[tls.Certificate] = field(default_factory=list)
    problem: str | None = None
    device_name: str = ""

    @property
    def valid(self) -> bool:
        return self.certificate is not None and self.certificate.valid_at()

    @property
    def covers_device(self) -> bool:
        return self.certificate is not None and self.certificate.covers(self.device_name)


@dataclass(frozen=True)
class Candidate:
    """An uploaded certificate, its chain (leaf first) and key, checked and ready to install."""

    chain: list[tls.Certificate]
    key_pem: bytes
    warnings: list[str]

    @property
    def certificate(self) -> tls.Certificate:
        return self.chain[0]

    def cert_pem(self) -> bytes:
        return b"".join(c.pem() for c in self.chain)


def in_use(config) -> InUse:
    path = config["TLS_CERT"]
    try:
        chain = tls.read_pem(read_capped(Path(path)))
    except FileNotFoundError:
        return InUse(path, None, problem="There is no certificate file yet: "
                                         "generate one below.", device_name=config["DEVICE_NAME"])
    except (OSError, ValueError) as exc:
        return InUse(path, None, problem=f"The certificate file cannot be read ({exc}).",
                     device_name=config["DEVICE_NAME"])
    return InUse(path, chain[0], chain, device_name=config["DEVICE_NAME"])


def fingerprint_line(cert_path: str) -> str | None:
    """What the console says so an admin can compare it with the browser's warning."""
    try:
        cert = tls.read_pem(read_capped(Path(cert_path)))[0]
    except (OSError, ValueError):
        return None
    return f"TLS certificate SHA-256 fingerprint: {cert.sha256_fingerprint}"


# -- reading an upload ------------------------------------------------------------------------

def read_pem_upload(files: list[bytes]) -> tuple[list[tls.Certificate], object]:
    """The chain and key from one or two PEM files (certificate + chain + key, any split)."""
    data = b"\n".join(files)
    try:
        chain = tls.read_pem(data)
    except ValueError:
        raise CertificateRefused("No PEM certificate found: upload the certificate "
                                 "(-----BEGIN CERTIFICATE-----) with its chain and key.") from None
    block = KEY_BLOCK.search(data)
    if block is None:
        raise CertificateRefused("No private key found: upload the key with the certificate "
                                 "(in the same file or as the key file).")
    from cryptography.hazmat.primitives import serialization

    try:
        key = serialization.load_pem_private_key(block.group(0), password=None)
    except (ValueError, TypeError):
        raise CertificateRefused("The private key cannot be read: it must be PEM and not "
                                 "protected by a passphrase (or upload PKCS#12).") from None
    return chain, key


def read_pkcs12_upload(data: bytes, password: str) -> tuple[list[tls.Certificate], object]:
    """The chain and key of a PKCS#12 (.pfx/.p12) file."""
    from cryptography.hazmat.primitives.serialization import pkcs12

    try:
        key, cert, extra = pkcs12.load_key_and_certificates(data, password.encode() or None)
    except ValueError:
        raise CertificateRefused("The PKCS#12 file cannot be opened: check the password "
                                 "and that the file is PKCS#12 (.pfx or .p12).") from None
    if cert is None or key is None:
        raise CertificateRefused("The PKCS#12 file must hold the certificate and its key.")
    return [tls.describe(c) for c in (cert, *extra)], key


# -- the rules --------------------------------------------------------------------------------

def check(chain: list[tls.Certificate], key, device_name: str, addresses: list[str],
          now: dt.datetime | None = None) -> Candidate:
    """Refuse a pair that breaks a rule; warn when the names fit neither device nor address."""
    now = now or dt.datetime.now(dt.UTC)
    leaf = chain[0]
    if not _matches(leaf, key):
        raise CertificateRefused("The private key does not match the certificate.")
    if now > leaf.not_after:
        raise CertificateRefused(f"The certificate expired on {leaf.not_after:%Y-%m-%d}.")
    if now < leaf.not_before:
        raise CertificateRefused(f"The certificate is not yet valid: it starts on "
                                 f"{leaf.not_before:%Y-%m-%d %H:%M} UTC.")
    for position, (cert, issuer) in enumerate(zip(chain, chain[1:], strict=False), start=1):
        if not cert.issued_by(issuer):
            raise CertificateRefused(
                f"The chain is out of order: certificate {position} ({cert.subject}) is not "
                f"signed by the next one ({issuer.subject}); put the certificate first, then "
                "each issuer after the one it signed.")
    _check_key_type(leaf)
    warnings = []
    if not any(leaf.covers(name) for name in [device_name, *addresses]):
        warnings.append(f"The certificate is for {', '.join(leaf.names) or 'no name'}: it covers "
                        f"neither the device name {device_name} nor an address the web UI "
                        f"listens on ({', '.join(addresses) or 'none'}). Browsers will warn.")
    return Candidate(chain, _key_pem(key), warnings)


def _matches(cert: tls.Certificate, key) -> bool:
    from cryptography.hazmat.primitives import serialization

    public = cert.x509.public_key()
    raw = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    try:
        return key.public_key().public_bytes(*raw) == public.public_bytes(*raw)
    except (AttributeError, ValueError):
        return False


def _check_key_type(cert: tls.Certificate) -> None:
    if cert.key_type == "RSA" and cert.key_size >= RSA_MIN_BITS:
        return
    if cert.key_type == "ECDSA" and cert.curve in EC_CURVES:
        return
    raise CertificateRefused(f"The key is {cert.key}: use RSA of at least {RSA_MIN_BITS} bits "
                             f"or ECDSA {' or '.join(EC_CURVES)}.")


def _key_pem(key) -> bytes:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise CertificateRefused(f"The key is {type(key).__name__.removeprefix('_')}: use RSA "
                                 f"of at least {RSA_MIN_BITS} bits or ECDSA "
                                 f"{' or '.join(EC_CURVES)}.")
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def listening_addresses(bind_host: str) -> list[str]:
    """The addresses the web UI answers on: the bound one, or every address of the host."""
    import psutil

    # "::" answers IPv4 too on a dual-stack host; "0.0.0.0" only IPv4.
    wildcards = {"0.0.0.0": {socket.AF_INET},  # noqa: S104
                 "::": {socket.AF_INET, socket.AF_INET6}}
    families = wildcards.get(bind_host)
    if families is None:
        return [bind_host]
    found = [a.address.split("%")[0] for addrs in psutil.net_if_addrs().values()
             for a in addrs if a.family in families]
    return sorted({str(ipaddress.ip_address(a)) for a in found})


# -- installing -------------------------------------------------------------------------------

def install(cert_path: Path, key_path: Path, cert_pem: bytes, key_pem: bytes) -> None:
    """Put a pair in service, keeping the previous one as a backup; if the new pair cannot be
    loaded, the previous one is put back and InstallFailed says why."""
    backups = [(p, p.with_name(p.name + BACKUP_SUFFIX)) for p in (cert_path, key_path)]
    for path, backup in backups:
        if path.exists():
            instance.write_private(backup, path.read_bytes())
    instance.ensure_dir(cert_path.parent)
    instance.ensure_dir(key_path.parent)
    instance.write_private(key_path, key_pem)
    instance.write_private(cert_path, cert_pem)
    problem = load_problem(cert_path, key_path)
    if problem is None:
        return
    for path, backup in backups:
        if backup.exists():
            instance.write_private(path, backup.read_bytes())
    raise InstallFailed(f"The new certificate could not be loaded ({problem}); the previous "
                        "one is back in service.")


def load_problem(cert_path: Path, key_path: Path) -> str | None:
    """Why the TLS server could not load this pair, or None when it can."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(str(cert_path), str(key_path))
    except (OSError, ssl.SSLError) as exc:
        return getattr(exc, "reason", None) or str(exc)
    return None


# -- what admins do, audited ------------------------------------------------------------------

def _paths(config) -> tuple[Path, Path]:
    return Path(config["TLS_CERT"]), Path(config["TLS_KEY"])


def _facts(cert: tls.Certificate) -> dict:
    return {"subject": cert.subject, "sha256_fingerprint": cert.sha256_fingerprint,
            "not_after": cert.not_after.isoformat(), "names": cert.names}


def generate(conn: sqlite3.Connection, actor: audit.Actor, config) -> tls.Certificate:
    """Install a new self-signed certificate for the device name."""
    cert_pem, key_pem = instance.self_signed_certificate(config["DEVICE_NAME"])
    new = tls.read_pem(cert_pem)[0]
    _install_audited(conn, actor, config, "certificate_generate", new, cert_pem, key_pem)
    return new


def upload(conn: sqlite3.Connection, actor: audit.Actor, config, files: list[bytes],
           password: str | None = None) -> Candidate:
    """Check an upload (PEM files, or one PKCS#12 file with ``password``) and install it."""
    try:
        if password is not None:
            chain, key = read_pkcs12_upload(files[0], password)
        else:
            chain, key = read_pem_upload(files)
        candidate = check(chain, key, config["DEVICE_NAME"],
                          listening_addresses(config["BIND"][0]))
    except CertificateRefused as exc:
        audit.record(conn, actor, "certificate_upload", config["TLS_CERT"], "refused", str(exc))
        raise
    _install_audited(conn, actor, config, "certificate_upload", candidate.certificate,
                     candidate.cert_pem(), candidate.key_pem)
    return candidate


def _install_audited(conn, actor, config, action: str, new: tls.Certificate, cert_pem: bytes,
                     key_pem: bytes) -> None:
    try:
        install(*_paths(config), cert_pem, key_pem)
    except InstallFailed as exc:
        audit.record(conn, actor, action, config["TLS_CERT"], "failed",
                     {**_facts(new), "reason": str(exc)})
        raise
    audit.record(conn, actor, action, config["TLS_CERT"], detail=_facts(new))


def read_capped(path: Path) -> bytes:
    """A certificate or key file, refused when it is too large to be one."""
    with open(path, "rb") as f:
        data = f.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise CertificateRefused(f"{path.name} is larger than {MAX_FILE_BYTES // 1024} KiB: "
                                 "it is not a certificate file.")
    return data
