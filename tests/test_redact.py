"""Redaction and obfuscation of support-package content."""

import os
import stat

import pytest

from diagnostics.collect.obfuscate import ObfuscationMap
from diagnostics.collect.redact import MAX_LINE, Redactor, redact_line


def redact(text: str, literals=(), chunk: int | None = None) -> str:
    data = text.encode()
    size = chunk or len(data) or 1
    chunks = [data[i:i + size] for i in range(0, len(data), size)]
    return b"".join(Redactor(literals).redact(chunks)).decode()


@pytest.mark.parametrize(("line", "kept"), [
    ("password=hunter2-secret", "password="),
    ("DB_PASSWORD='hunter2-secret'", "DB_PASSWORD="),
    ("passwd = hunter2 secret words", "passwd = "),
    ('{"password": "hunter2-secret", "user": "bob"}', '"user": "bob"'),
    ('{"api_key": "hunter2-secret"}', '"api_key": '),
    ('"client_secret" : "hunter2-secret",', '"client_secret" : '),
    ("  private_key: hunter2-secret", "  private_key: "),
    ("credentials: 'hunter2-secret'", "credentials: "),
    ("token: hunter2-secret", "token: "),
    ("Authorization: Bearer hunter2-secret", "Authorization: "),
    ("curl -H 'x: y' bearer hunter2-secret", "bearer "),
    ("Cookie: sid=hunter2-secret; lang=en", "Cookie: "),
    ("Set-Cookie: session=hunter2-secret; HttpOnly", "Set-Cookie: "),
    ("GET /login?session=hunter2-secret&next=/ 302", "&next=/ 302"),
    ("postgres://app:hunter2-secret@db:5432/x", "postgres://app:"),
    ("daemon --password hunter2-secret --verbose", "daemon --password "),
    ("    wpa-psk hunter2-secret", "    wpa-psk "),
])
def test_secret_shapes_are_redacted(line, kept):
    out = redact(line + "\n")
    assert "hunter2" not in out
    assert kept in out
    assert "[redacted]" in out


@pytest.mark.parametrize("line", [
    "Nov 26 sshd[1]: Accepted publickey for root from 192.0.2.1 port 22",
    "monkey keyboard keys are fine",
    "GET https://example.org/a?b=c 200",
    '{"ifname": "eth0", "mtu": 1500}',
])
def test_ordinary_lines_are_left_alone(line):
    assert redact_line(line.encode()) == line.encode()


def test_pem_private_key_block_is_removed_even_across_chunks():
    text = ("before\n-----BEGIN CERTIFICATE-----\ncertbody\n-----END CERTIFICATE-----\n"
            "-----BEGIN RSA PRIVATE KEY-----\nkeyline1\nkeyline2\n-----END RSA PRIVATE KEY-----\n"
            "after\n")
    for chunk in (1, 7, 4096):
        out = redact(text, chunk=chunk)
        assert "keyline" not in out
        assert "certbody" in out
        assert out.startswith("before\n") and out.endswith("after\n")
        assert "-----END RSA PRIVATE KEY-----" in out


def test_pem_private_key_on_one_line_is_removed():
    out = redact('{"key": "-----BEGIN PRIVATE KEY-----\\nMIIsecret\\n-----END PRIVATE KEY-----"}\n')
    assert "MIIsecret" not in out


def test_literal_secrets_are_removed_anywhere_even_split_across_chunks():
    out = redact("loaded app key s3cr3t-app-key-value and again:s3cr3t-app-key-value\n",
                 literals=["s3cr3t-app-key-value", "ab"], chunk=5)
    assert "s3cr3t" not in out
    assert out.count("[redacted]") == 2
    assert "loaded app" in out  # a two-character literal would wipe ordinary text: ignored


def test_a_line_without_newline_longer_than_the_limit_is_processed_in_bounded_pieces():
    redactor = Redactor()
    out = redactor.feed(b"x" * (MAX_LINE + 10))
    assert len(out) == MAX_LINE + 10
    assert redactor.flush() == b""


def test_output_without_trailing_newline_is_kept():
    assert redact("token=abc") == "token=[redacted]"
    assert redact("plain text") == "plain text"


def test_obfuscation_is_consistent_and_keeps_structural_values(tmp_path):
    mapping = ObfuscationMap(tmp_path / "map.json")
    mapping.add_names(["edgebox-7"], ["operator1"])
    out = mapping.apply(
        b"10.1.2.3 talks to 10.1.2.4 via 10.1.2.3; mask 255.255.255.0 lo 127.0.0.1\n"
        b"mac 52:54:00:AA:bb:cc and 52:54:00:aa:BB:CC, v6 fe80::1 and 2001:db8::2 ::1\n"
        b"EDGEBOX-7.local edgebox-7 operator1 logged in; version 1.2.3.4.5 time 12:30:45\n"
    ).decode()
    assert "10.1.2" not in out and "52:54" not in out and "fe80" not in out
    assert out.count("ip4-0001") == 2 and "ip4-0002" in out
    assert out.count("mac-0001") == 2
    assert "ip6-0001" in out and "ip6-0002" in out and " ::1" in out
    assert "255.255.255.0" in out and "127.0.0.1" in out
    assert "host-0001.local host-0001 user-0001 logged in" in out
    assert "1.2.3.4.5" in out and "12:30:45" in out


def test_obfuscation_map_persists_with_mode_0600(tmp_path):
    path = tmp_path / "private" / "obfuscation.json"
    first = ObfuscationMap(path)
    first.apply(b"10.9.8.7 10.9.8.6")
    first.save()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    second = ObfuscationMap(path)
    assert second.apply(b"10.9.8.6 10.5.5.5") == b"ip4-0002 ip4-0003"
