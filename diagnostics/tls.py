"""TLS certificates as an admin reads them: names, issuer, validity, key and fingerprint.

The one reader of certificates: the ``certificates`` test, the web UI's Certificates page and
the console all describe a certificate through :class:`Certificate`.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

# cryptography (10 MiB) is loaded when the first certificate is read, not with the service.
if TYPE_CHECKING:
    from cryptography import x509

# Curves by the names TLS and admins use for them.
CURVES = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}
PEM_CERTIFICATE = b"-----BEGIN CERTIFICATE-----"


@dataclass(frozen=True)
class Certificate:
    """One X.509 certificate, described."""

    subject: str
    issuer: str
    dns_names: tuple[str, ...]
    ip_addresses: tuple[str, ...]
    common_names: tuple[str, ...]
    organizations: tuple[str, ...]
    not_before: dt.datetime
    not_after: dt.datetime
    key_type: str  # "RSA", "ECDSA" or the key's class name
    key_size: int
    curve: str | None
    sha256_fingerprint: str
    self_signed: bool
    x509: x509.Certificate = field(repr=False, compare=False)

    @property
    def names(self) -> list[str]:
        """The names it is for: its SAN entries, or its common name when it has no SAN."""
        return [*self.dns_names, *self.ip_addresses] or list(self.common_names)

    @property
    def key(self) -> str:
        """``RSA 2048 bits`` or ``ECDSA P-256``."""
        if self.key_type == "RSA":
            return f"RSA {self.key_size} bits"
        return f"{self.key_type} {self.curve}" if self.curve else self.key_type

    def days_left(self, now: dt.datetime | None = None) -> int:
        return int((self.not_after - (now or dt.datetime.now(dt.UTC))).total_seconds() // 86400)

    def valid_at(self, now: dt.datetime | None = None) -> bool:
        now = now or dt.datetime.now(dt.UTC)
        return self.not_before <= now <= self.not_after

    def covers(self, name: str) -> bool:
        return names_cover(self.names, name)

    def issued_by(self, issuer: Certificate) -> bool:
        """True when ``issuer`` names and signed this certificate."""
        from cryptography.exceptions import InvalidSignature

        try:
            self.x509.verify_directly_issued_by(issuer.x509)
        except (ValueError, TypeError, InvalidSignature):
            return False
        return True

    def pem(self) -> bytes:
        from cryptography.hazmat.primitives import serialization

        return self.x509.public_bytes(serialization.Encoding.PEM)

    def der(self) -> bytes:
        from cryptography.hazmat.primitives import serialization

        return self.x509.public_bytes(serialization.Encoding.DER)


def names_cover(names: list[str], wanted: str) -> bool:
    """True when a DNS name (``*.`` wildcards, short host names) or address fits ``wanted``."""
    wanted = wanted.lower().rstrip(".")
    address = _address(wanted)
    if address is not None:
        return any(_address(n) == address for n in names)
    return bool(wanted) and any(_fits(n.lower().rstrip("."), wanted) for n in names)


def _address(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        return None


def _fits(name: str, wanted: str) -> bool:
    if name == wanted or name.split(".")[0] == wanted or wanted.split(".")[0] == name:
        return True
    return name.startswith("*.") and "." in wanted and wanted.split(".", 1)[1] == name[2:]


def describe(cert: x509.Certificate) -> Certificate:
    """The description of a certificate already parsed (from PKCS#12, for one)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import ExtensionOID, NameOID

    try:
        san = cert.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value
        dns = tuple(san.get_values_for_type(x509.DNSName))
        ips = tuple(str(a) for a in san.get_values_for_type(x509.IPAddress))
    except x509.ExtensionNotFound:
        dns, ips = (), ()
    key_type, key_size, curve = _key(cert.public_key())
    return Certificate(
        subject=cert.subject.rfc4514_string(), issuer=cert.issuer.rfc4514_string(),
        dns_names=dns, ip_addresses=ips,
        common_names=_attributes(cert.subject, NameOID.COMMON_NAME),
        organizations=_attributes(cert.subject, NameOID.ORGANIZATION_NAME),
        not_before=cert.not_valid_before_utc, not_after=cert.not_valid_after_utc,
        key_type=key_type, key_size=key_size, curve=curve,
        sha256_fingerprint=cert.fingerprint(hashes.SHA256()).hex(":").upper(),
        self_signed=_self_signed(cert), x509=cert)


def read_pem(data: bytes) -> list[Certificate]:
    """Every certificate of a PEM text, in its order; ValueError when it holds none."""
    if PEM_CERTIFICATE not in data:
        raise ValueError("no PEM certificate found")
    from cryptography import x509

    return [describe(c) for c in x509.load_pem_x509_certificates(data)]


def read_der(data: bytes) -> Certificate:
    from cryptography import x509

    return describe(x509.load_der_x509_certificate(data))


def _attributes(name: x509.Name, oid) -> tuple[str, ...]:
    return tuple(str(a.value) for a in name.get_attributes_for_oid(oid))


def _key(public_key) -> tuple[str, int, str | None]:
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    if isinstance(public_key, rsa.RSAPublicKey):
        return "RSA", public_key.key_size, None
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return "ECDSA", public_key.key_size, CURVES.get(public_key.curve.name,
                                                         public_key.curve.name)
    return type(public_key).__name__.removeprefix("_"), getattr(public_key, "key_size", 0), None


def _self_signed(cert: x509.Certificate) -> bool:
    if cert.issuer != cert.subject:
        return False
    from cryptography.exceptions import InvalidSignature

    try:
        cert.verify_directly_issued_by(cert)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True
