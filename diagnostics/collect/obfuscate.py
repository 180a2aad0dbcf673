"""Consistent obfuscation of addresses and names, with a map that stays on the device.

The same IPv4/IPv6 address, MAC address, host name or user name becomes the same token
(``ip4-0001``, ``ip6-0001``, ``mac-0001``, ``host-0001``, ``user-0001``) in every item of every
package made with the same map file, so support can follow one machine through many files
without learning its real addresses. The map is a JSON file written only at the path the caller
gives, with mode 0600; it never enters a package.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import threading
from collections.abc import Iterable
from pathlib import Path

_ADDRESS = re.compile(
    rb"(?<![\w:.])(?:"
    rb"(?P<mac>[0-9a-f]{2}(?::[0-9a-f]{2}){5})"
    rb"|(?P<ip4>(?:\d{1,3}\.){3}\d{1,3})"
    rb"|(?P<ip6>[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}(?:(?<=:)(?:\d{1,3}\.){3}\d{1,3})?)"
    rb")(?![\w:]|\.\d)",
    re.I,
)
_KINDS = ("ip4", "ip6", "mac", "host", "user")
_KEEP_MAC = {"00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff"}


class ObfuscationMap:
    """Value → token map for one device, loaded from and saved to ``path`` (mode 0600)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.tokens: dict[str, dict[str, str]] = {kind: {} for kind in _KINDS}
        self._names_re: re.Pattern[bytes] | None = None
        self._names: dict[bytes, tuple[str, str]] = {}
        self._lock = threading.Lock()
        if self.path.exists():
            saved = json.loads(self.path.read_text() or "{}")
            for kind in _KINDS:
                self.tokens[kind].update(saved.get(kind, {}))

    def token(self, kind: str, value: str) -> str:
        """The token of ``value``, made on first sight."""
        table = self.tokens[kind]
        if value not in table:
            with self._lock:  # items are redacted on worker threads
                table.setdefault(value, f"{kind}-{len(table) + 1:04d}")
        return table[value]

    def add_names(self, host_names: Iterable[str], user_names: Iterable[str]) -> None:
        """Host and user names to replace as whole words, ignoring case."""
        for kind, names in (("host", host_names), ("user", user_names)):
            for name in names:
                if name and len(name) >= 2:
                    self._names[name.lower().encode()] = (kind, name.lower())
        if self._names:
            longest_first = sorted(self._names, key=len, reverse=True)
            alternatives = b"|".join(re.escape(n) for n in longest_first)
            self._names_re = re.compile(rb"(?<![\w.-])(?:" + alternatives + rb")(?![\w-])", re.I)

    def apply(self, data: bytes) -> bytes:
        """``data`` with every address and known name replaced by its token."""
        data = _ADDRESS.sub(self._address, data)
        if self._names_re is not None:
            data = self._names_re.sub(self._name, data)
        return data

    def save(self) -> None:
        """Write the map atomically; the file is created with mode 0600 and never wider."""
        tmp = self.path.with_name(self.path.name + ".tmp")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            os.fchmod(f.fileno(), 0o600)
            json.dump(self.tokens, f, indent=1, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)

    def _address(self, match: re.Match[bytes]) -> bytes:
        text = match.group().decode("ascii")
        if match.lastgroup == "mac":
            value = text.lower()
            return text.encode() if value in _KEEP_MAC else self.token("mac", value).encode()
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            return match.group()
        if _is_structural(address):
            return match.group()
        kind = "ip4" if address.version == 4 else "ip6"
        return self.token(kind, str(address)).encode()

    def _name(self, match: re.Match[bytes]) -> bytes:
        kind, key = self._names[match.group().lower()]
        return self.token(kind, key).encode()


def _is_structural(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Loopback, unspecified and netmask-like values say nothing about the site: keep them."""
    if address.is_loopback or address.is_unspecified:
        return True
    if address.version == 4:
        bits = int(address)
        inverted = ~bits & 0xFFFFFFFF
        return (inverted & (inverted + 1)) == 0  # a contiguous netmask such as 255.255.255.0
    return False
