"""Download names: any host file name gives a header that is safe and says the real name."""

from __future__ import annotations

import os
from urllib.parse import unquote

import pytest

from webui.downloads import content_disposition, display_name, safe_name

HOSTILE = [b"bad\xff\xfe.log", "cr\r\nlf.log", 'quote".log', "semi;colon.log",
           "rtl\u202egol.exe", os.fsdecode(b"latin\xe9.xml"), "\u00e9" * 3000 + ".log",
           "a/b\\c", "tab\there"]


@pytest.mark.parametrize("name", HOSTILE)
def test_header_holds_no_control_character_and_parses(name):
    header = content_disposition(name)
    assert all(0x20 <= ord(c) < 0x7F for c in header)
    kind, fallback, extended = header.split("; ")
    assert kind == "attachment"
    assert fallback.startswith('filename="') and fallback.count('"') == 2
    assert extended.startswith("filename*=UTF-8''")
    real = unquote(extended.removeprefix("filename*=UTF-8''"))
    assert real == safe_name(name)
    assert len(real.encode()) <= 200 and "/" not in real and "\\" not in real


def test_names_are_shown_with_replacement_characters():
    assert display_name(b"bad\xff.log") == "bad\ufffd.log"
    assert display_name(os.fsdecode(b"bad\xff.log")) == "bad\ufffd.log"
    assert display_name("cr\r\nlf") == "cr\ufffd\ufffdlf"
    assert display_name("rtl\u202egol") == "rtl\ufffdgol"
    assert display_name("plain ünicode.log") == "plain ünicode.log"


def test_a_long_name_keeps_its_extension():
    name = safe_name("x" * 5000 + ".log")
    assert name.endswith(".log") and len(name.encode()) == 200
